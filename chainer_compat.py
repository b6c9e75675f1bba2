"""Make Chainer 7.8.1 import and run unchanged on today's Python and NumPy.

Every entry point imports this module before ``chainer``. Each patch is
applied only when the running stack lacks what Chainer expects, so on the
classic stack (Python <= 3.11, NumPy 1.26, setuptools < 70) it does nothing.

- ``numpy.sctypes``: removed in NumPy 2.0; ``chainer.functions.array.
  as_strided`` reads ``sctypes['int']`` and ``sctypes['float']`` at import.
- ``numpy.distutils.system_info``: ``numpy.distutils`` is gone in NumPy 2.0
  and on Python >= 3.12; ``chainer._environment_check`` imports it only to
  look for macOS Accelerate, so an empty ``get_info`` answers "not found".
- ``pkg_resources``: dropped from recent setuptools; the same environment
  check uses it to compare the installed CuPy with the version Chainer 7 was
  released against. A stand-in built on ``importlib.metadata`` answers it.
- ``CHAINER_WARN_VERSION_MISMATCH=0`` (unless already set): that check
  expects CuPy 7; this package deliberately pairs Chainer with CuPy 13/14,
  so its multi-line warning on every start would be noise.
- CUDA libraries from NVIDIA's wheels (the ``gpu`` extra: cuBLAS, NVRTC,
  cuRAND, cuDNN 8): CuPy 13 looks for them on the library path only, where
  the wheels' folders are not; loading them first (RTLD_GLOBAL) lets
  CuPy's own lookup find them already in the process, with no CUDA toolkit
  and no LD_LIBRARY_PATH. Only the wheels installed, only with CuPy.
- Chainer's "cuDNN is not enabled. Please reinstall CuPy" warning, on the
  first GPU use of every run, only with CuPy >= 14: it has no cuDNN by
  design (trainer.device.cudnn_status says so once, in a line of its
  own). On CuPy 13 a missing cuDNN is an install mistake: kept.
"""
import ctypes
import importlib.util
import os
import re
import sys
import types
import warnings

import numpy

PATCHED = []


def _patch_sctypes():
    if 'sctypes' in numpy.__dict__:
        return
    numpy.sctypes = {
        'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
        'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
        'float': [numpy.float16, numpy.float32, numpy.float64,
                  numpy.longdouble],
        'complex': [numpy.complex64, numpy.complex128, numpy.clongdouble],
        'others': [bool, object, bytes, str, numpy.void],
    }
    PATCHED.append('numpy.sctypes')


def _imports(name):
    """Whether module `name` imports; its deprecation warning ("numpy.
    distutils is deprecated", "pkg_resources is deprecated") unshown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def _patch_numpy_distutils():
    if _imports('numpy.distutils.system_info'):
        return
    distutils = types.ModuleType('numpy.distutils')
    system_info = types.ModuleType('numpy.distutils.system_info')
    system_info.get_info = lambda name, notfound_action=0: {}
    distutils.system_info = system_info
    sys.modules['numpy.distutils'] = distutils
    sys.modules['numpy.distutils.system_info'] = system_info
    PATCHED.append('numpy.distutils.system_info')


def _patch_pkg_resources():
    if _imports('pkg_resources'):
        return
    from importlib import metadata

    class DistributionNotFound(Exception):
        pass

    class VersionConflict(Exception):
        pass

    def get_distribution(name):
        try:
            return types.SimpleNamespace(version=metadata.version(name))
        except metadata.PackageNotFoundError:
            raise DistributionNotFound(name)

    def require(requirement):
        # Only presence is checked: the version check is silenced above.
        name = requirement
        for sep in '<>=!~;[ ':
            name = name.split(sep)[0]
        get_distribution(name)

    module = types.ModuleType('pkg_resources')
    module.DistributionNotFound = DistributionNotFound
    module.VersionConflict = VersionConflict
    module.get_distribution = get_distribution
    module.require = require
    sys.modules['pkg_resources'] = module
    PATCHED.append('pkg_resources')


# libcudnn.so.8 loads these by name at run time; each needs the ones before.
CUDNN8_LIBRARIES = ('libcudnn_ops_infer.so.8', 'libcudnn_ops_train.so.8',
                    'libcudnn_cnn_infer.so.8', 'libcudnn_cnn_train.so.8',
                    'libcudnn_adv_infer.so.8', 'libcudnn_adv_train.so.8',
                    'libcudnn.so.8')
# The CUDA 12 libraries CuPy 13 opens by name (folder under nvidia/, files
# in load order): cuBLAS at import, NVRTC for every elementwise kernel,
# cuRAND for cupy.random (the trainer seeds it), cuDNN for Chainer's
# convolutions. CuPy 14 finds the wheels itself; loading them first is
# harmless there.
CUDA_WHEEL_LIBRARIES = (
    ('cublas', ('libcublasLt.so.12', 'libcublas.so.12')),
    ('cuda_nvrtc', ('libnvrtc.so.12',)),
    ('curand', ('libcurand.so.10',)),
    ('cudnn', CUDNN8_LIBRARIES),
)


def _nvidia_folders():
    try:
        spec = importlib.util.find_spec('nvidia')
    except ImportError:
        return []
    return list(spec.submodule_search_locations or []) if spec else []


def cuda_wheel_libraries():
    """{wheel folder name: [library paths]} of the CUDA wheels installed
    (nvidia-cublas-cu12, nvidia-cudnn-cu12 8.x, ...), in load order."""
    roots = _nvidia_folders()
    found = {}
    for folder, names in CUDA_WHEEL_LIBRARIES:
        for root in roots:
            paths = [os.path.join(root, folder, 'lib', name) for name in names]
            if os.path.isfile(paths[-1]):
                found[folder] = [p for p in paths if os.path.isfile(p)]
                break
    return found


def _preload_cuda_wheels():
    if not sys.platform.startswith('linux') or \
            importlib.util.find_spec('cupy') is None:
        return
    loaded = []
    for folder, paths in cuda_wheel_libraries().items():
        try:
            for path in paths:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:  # a broken install: CuPy reports it itself
            warnings.warn('CUDA wheel {} not loaded: {}'.format(folder, e))
            continue
        loaded.append(folder)
    if loaded:
        PATCHED.append('CUDA wheels: ' + ', '.join(loaded))


# The names CuPy's wheels are published under, newest first.
CUPY_DISTRIBUTIONS = ('cupy-cuda13x', 'cupy-cuda12x', 'cupy')


def cupy_major():
    """The installed CuPy's major version, read without importing it (the
    CUDA wheels must load first); None without CuPy."""
    try:
        spec = importlib.util.find_spec('cupy')
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        with open(os.path.join(os.path.dirname(spec.origin), '_version.py'),
                  encoding='utf-8') as f:
            match = re.search(r"__version__\s*=\s*['\"](\d+)\.", f.read())
        if match:
            return int(match.group(1))
    except OSError:
        pass
    from importlib import metadata
    for name in CUPY_DISTRIBUTIONS:
        try:
            return int(metadata.version(name).split('.')[0])
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return None


def _quiet_cudnn_notice():
    if (cupy_major() or 0) < 14:
        return
    warnings.filterwarnings('ignore', message=r'cuDNN is not enabled\.',
                            category=UserWarning,
                            module=r'chainer\.backends\.cuda')
    PATCHED.append('cuDNN notice (CuPy >= 14 has none by design)')


os.environ.setdefault('CHAINER_WARN_VERSION_MISMATCH', '0')
_patch_sctypes()
_patch_numpy_distutils()
_patch_pkg_resources()
_preload_cuda_wheels()
_quiet_cudnn_notice()
