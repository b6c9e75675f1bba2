"""The blog's four architectures and the registry every script uses."""
import chainer_compat  # noqa: F401  (must precede chainer)

from models.alex import Alex
from models.common import N_CLASS
from models.densenet import DenseNet
from models.googlenetbn import GoogLeNetBN
from models.nin import NIN
from models.sizing import InputSizeError  # noqa: F401

# `googlenet` is the blog's table row; the model is the BN version.
ARCHS = {
    'alex': Alex,
    'nin': NIN,
    'googlenet': GoogLeNetBN,
    'googlenetbn': GoogLeNetBN,
    'densenet': DenseNet,
}
# The blog's table, in its order.
BLOG_ARCHS = ('alex', 'nin', 'googlenet', 'densenet')


def get_model(arch, n_class=N_CLASS, **kwargs):
    """Build the registered architecture ``arch`` with ``n_class`` outputs."""
    if arch not in ARCHS:
        raise ValueError('unknown architecture {!r}; valid: {}'.format(
            arch, ', '.join(sorted(ARCHS))))
    return ARCHS[arch](n_class=n_class, **kwargs)
