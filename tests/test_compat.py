"""chainer_compat: Chainer 7.8.1 imports on this stack, patched or not."""
import subprocess
import sys

import numpy


def run_python(code):
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)


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
