"""The GPU install works without a GPU: with the `gpu` extra, CuPy loads
its CUDA libraries from NVIDIA's wheels (chainer_compat), Chainer sees CUDA
and cuDNN, NVRTC compiles a kernel, and every `cupy.*` name Chainer and
this project use exists in the installed CuPy.

Skipped where CuPy is not installed, unless REQUIRE_GPU_STACK=1 (`make
gpu-install-check`, run by CI), which turns the skip into a failure.
"""
import ast
import importlib
import importlib.util
import os

import pytest

import chainer_compat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if importlib.util.find_spec('cupy') is None:
    if os.environ.get('REQUIRE_GPU_STACK') == '1':
        raise RuntimeError('REQUIRE_GPU_STACK=1 but CuPy is not installed: '
                           'pip install -e ".[gpu]"')
    pytest.skip('CuPy is not installed (the gpu extra)',
                allow_module_level=True)

import chainer  # noqa: E402
from chainer.backends import cuda  # noqa: E402
import cupy  # noqa: E402

CUPY_MAJOR = int(cupy.__version__.split('.')[0])


def test_chainer_sees_cuda_and_cudnn():
    assert cuda.available, getattr(cuda, '_resolution_error', None)
    # CuPy 14 (the gpu-cuda13 extra) has no cuDNN by design.
    assert cuda.cudnn_enabled == (CUPY_MAJOR < 14)


def test_wheel_libraries_are_loaded_when_cupy_13_needs_them():
    if CUPY_MAJOR >= 14:
        pytest.skip('CuPy 14 finds its CUDA wheels itself')
    loaded = [entry for entry in chainer_compat.PATCHED
              if entry.startswith('CUDA wheels: ')]
    assert loaded, chainer_compat.PATCHED
    for folder in ('cublas', 'cuda_nvrtc', 'curand', 'cudnn'):
        assert folder in loaded[0]


def test_nvrtc_compiles_a_kernel_without_a_device():
    from cupy_backends.cuda.libs import nvrtc
    program = nvrtc.createProgram(
        'extern "C" __global__ void fill(float* x) { x[0] = 1.0f; }',
        'fill.cu', [], [])
    nvrtc.compileProgram(program, ['--gpu-architecture=compute_80'])
    ptx = nvrtc.getPTX(program)
    assert b'.entry fill' in ptx


def _cupy_names(path):
    """Dotted names used as cupy.X.Y in the code of ``path`` (attribute
    chains and `from cupy.X import Y`), leaving out what `except`
    branches do (Chainer's fallbacks for older CuPy names)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    fallback = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                for child in ast.walk(handler):
                    fallback.add(id(child))
    names = set()
    for node in ast.walk(tree):
        if id(node) in fallback:
            continue
        if isinstance(node, ast.Attribute):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == 'cupy':
                names.add('.'.join(reversed(parts)))
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split('.')[0] == 'cupy' and node.level == 0:
            module = node.module.split('.')[1:]
            for alias in node.names:
                names.add('.'.join(module + [alias.name]))
    return names


def _resolves(dotted):
    obj = cupy
    parts = dotted.split('.')
    for k, part in enumerate(parts):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module('cupy.' + '.'.join(parts[:k + 1]))
        except ImportError:
            return False
    return True


def _sources():
    chainer_root = os.path.dirname(chainer.__file__)
    for root in (chainer_root, ROOT):
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith('.')
                       and d not in ('testing', 'tests', 'build')]
            for name in files:
                if name.endswith('.py'):
                    yield os.path.join(folder, name)


def test_every_cupy_name_chainer_and_we_use_exists():
    used = {}
    for path in _sources():
        for name in _cupy_names(path):
            used.setdefault(name, path)
    assert len(used) > 30  # the scan found Chainer's uses
    # Chainer imports cupy.cudnn and cupy.cuda.cudnn in a try: CuPy 14 has
    # neither.
    allowed = {'cudnn', 'cuda.cudnn'} if CUPY_MAJOR >= 14 else set()
    missing = {name: path for name, path in used.items()
               if not _resolves(name) and name not in allowed}
    assert not missing


def test_run_summaries_name_cupy_cuda_and_cudnn():
    from results import summary
    found = summary.versions()
    assert found['cupy'] == cupy.__version__
    assert found['cuda'].split('.')[0] in ('12', '13')
    assert (found['cudnn'] is not None) == (CUPY_MAJOR < 14)


def _cupy_error(module, name, *args):
    """CuPy's exception `name` built as CuPy raises it; None where this
    CuPy has no binding of that library (cuDNN on 14, no cuSOLVER wheel)."""
    try:
        kind = getattr(importlib.import_module(module), name)
    except ImportError:
        return None
    try:
        return kind(*args)
    except RuntimeError:  # CUDADriverError names its status through libcuda
        error = kind.__new__(kind)
        RuntimeError.__init__(error, 'CUDA_ERROR_OUT_OF_MEMORY: out of memory')
        return error


def test_cupys_allocation_failures_get_the_out_of_memory_advice():
    from trainer import safety
    libs, api = 'cupy_backends.cuda.libs.', 'cupy_backends.cuda.api.'
    # Each library's allocation-failure status (CuPy puts its name in str).
    failures = [_cupy_error('cupy.cuda.memory', 'OutOfMemoryError',
                            1 << 30, 0, 0),
                _cupy_error(libs + 'cudnn', 'CuDNNError', 2),
                _cupy_error(libs + 'cublas', 'CUBLASError', 3),
                _cupy_error(libs + 'curand', 'CURANDError', 102),
                _cupy_error(libs + 'cusolver', 'CUSOLVERError', 2),
                _cupy_error(api + 'runtime', 'CUDARuntimeError', 2),
                _cupy_error(api + 'driver', 'CUDADriverError', 2)]
    failures = [error for error in failures if error is not None]
    assert len(failures) >= 4
    for error in failures:
        assert safety.is_out_of_memory(error), repr(str(error))
    others = [_cupy_error(libs + 'cublas', 'CUBLASError', 7),  # INVALID_VALUE
              _cupy_error(api + 'runtime', 'CUDARuntimeError', 700)]
    for error in others:
        assert not safety.is_out_of_memory(error), str(error)


def test_the_gpu_extras_load_nccl():
    from trainer import multinode
    assert multinode.nccl_problem() is None
