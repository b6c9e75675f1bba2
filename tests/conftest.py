import chainer_compat  # noqa: F401  (before any test module imports chainer)


import pytest  # noqa: E402

import kernels  # noqa: E402
import tiny_runs  # noqa: E402


@pytest.fixture(autouse=True)
def _kernels_as_they_were():
    """Tests that build a trainer switch kernels/ on (its default); the
    next test starts from the state before."""
    was_installed = kernels.installed()
    yield
    kernels.use(was_installed)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Tiny generated images and their lists (tests/tiny_runs.py); a test
    module may define its own."""
    return tiny_runs.data_dir(tmp_path_factory)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """The shared 2-epoch run: tiny DenseNet, 3 classes."""
    return tiny_runs.two_epoch_run(tmp_path_factory)
