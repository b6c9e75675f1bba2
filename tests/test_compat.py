"""chainer_compat: Chainer 7.8.1 imports on this stack, patched or not."""
import subprocess
import sys

import numpy
import pytest


def run_python(code, env=None):
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, env=env)


def test_patches_only_what_the_stack_lacks():
    import chainer_compat
    major = int(numpy.__version__.split('.')[0])
    assert ('numpy.sctypes' in chainer_compat.PATCHED) == (major >= 2)
    assert 'float' in numpy.sctypes


def test_chainer_imports_and_runs_as_strided():
    # as_strided reads numpy.sctypes at import time.
    result = run_python(
        'import chainer_compat, chainer, numpy as np\n'
        'import chainer.functions as F\n'
        'y = F.as_strided(np.arange(6.0), (2, 2), (1, 1))\n'
        'print(chainer.__version__, y.array.tolist())')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(None, 1) == [
        '7.8.1', '[[0.0, 1.0], [1.0, 2.0]]\n']


def test_works_without_pkg_resources():
    result = run_python(
        'import sys; sys.modules["pkg_resources"] = None\n'
        'import chainer_compat, chainer\n'
        'import chainer._environment_check as check; check.check()\n'
        'print(chainer_compat.PATCHED)')
    assert result.returncode == 0, result.stderr
    assert 'pkg_resources' in result.stdout


def test_chainer_without_shim_fails_only_on_numpy2():
    result = run_python('import chainer')
    major = int(numpy.__version__.split('.')[0])
    assert (result.returncode == 0) == (major < 2), result.stderr[-300:]


def _fake_cudnn_wheel(tmp_path, with_cupy):
    """site/nvidia/cudnn/lib/libcudnn*.so.8 (copies of a harmless shared
    library) and, optionally, an empty `cupy` package beside it."""
    import _ctypes
    import importlib.util
    for real in ('cupy', 'nvidia'):
        if importlib.util.find_spec(real) is not None:
            pytest.skip('a real {} is installed here'.format(real))
    import shutil
    lib = tmp_path / 'site' / 'nvidia' / 'cudnn' / 'lib'
    lib.mkdir(parents=True)
    import chainer_compat
    for name in chainer_compat.CUDNN8_LIBRARIES:
        shutil.copy(_ctypes.__file__, str(lib / name))
    if with_cupy:
        (tmp_path / 'site' / 'cupy').mkdir()
        (tmp_path / 'site' / 'cupy' / '__init__.py').write_text('')
    return tmp_path / 'site', lib


PRINT_PRELOAD = (
    'import chainer_compat\n'
    'print(chainer_compat.PATCHED[-1:])\n'
    "print(sum('libcudnn' in line for line in open('/proc/self/maps')) > 0)")


def test_cudnn_wheel_is_preloaded_for_cupy(tmp_path):
    site, lib = _fake_cudnn_wheel(tmp_path, with_cupy=True)
    result = run_python(PRINT_PRELOAD, env=_with_path(site))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(['CUDA wheels: cudnn']), 'True']


def test_cudnn_wheel_is_left_alone_without_cupy(tmp_path):
    site, _ = _fake_cudnn_wheel(tmp_path, with_cupy=False)
    result = run_python(PRINT_PRELOAD, env=_with_path(site))
    assert result.returncode == 0, result.stderr
    assert 'cudnn' not in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[1] == 'False'


def _with_path(site):
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), root]))


@pytest.mark.parametrize('major, quiet', [(14, True), (15, True),
                                          (13, False), (None, False)])
def test_cudnn_notice_is_quiet_only_where_cupy_has_none_by_design(
        major, quiet, monkeypatch):
    import warnings
    import chainer_compat
    from chainer.backends import cuda
    monkeypatch.setattr(chainer_compat, 'cupy_major', lambda: major)
    monkeypatch.setattr(chainer_compat, 'PATCHED', [])
    # Chainer's own warning site, as on a CUDA machine without cuDNN.
    monkeypatch.setattr(cuda, 'available', True)
    monkeypatch.setattr(cuda, 'cudnn_enabled', False)
    monkeypatch.setattr(cuda, '_cudnn_disabled_by_user', False,
                        raising=False)
    monkeypatch.setattr(cuda.check_cuda_available, '_already_warned', False,
                        raising=False)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter('always')
        chainer_compat._quiet_cudnn_notice()
        cuda.check_cuda_available()
    assert [str(w.message).split('\n')[0] for w in shown] == (
        [] if quiet else ['cuDNN is not enabled.'])
    assert bool(chainer_compat.PATCHED) == quiet


@pytest.mark.parametrize('version', ['14.0.1', '13.6.0'])
def test_cupy_major_is_read_without_importing_cupy(version, tmp_path):
    cupy = tmp_path / 'site' / 'cupy'
    cupy.mkdir(parents=True)
    (cupy / '__init__.py').write_text('raise ImportError("imported")\n')
    (cupy / '_version.py').write_text(
        "__version__ = '{}'\n".format(version))
    result = run_python(
        'import sys, warnings, chainer_compat\n'
        'print(chainer_compat.cupy_major(), "cupy" in sys.modules)\n'
        'print(any(f[1] is not None and f[1].pattern.startswith("cuDNN is")'
        ' for f in warnings.filters))', env=_with_path(tmp_path / 'site'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{} False'.format(version.split('.')[0]),
        str(version.startswith('14'))]
