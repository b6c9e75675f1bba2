import chainer_compat  # noqa: F401  (before any test module imports chainer)


import pytest  # noqa: E402

import kernels  # noqa: E402


@pytest.fixture(autouse=True)
def _kernels_as_they_were():
    """Tests that build a trainer switch kernels/ on (its default); the
    next test starts from the state before."""
    was_installed = kernels.installed()
    yield
    kernels.use(was_installed)
