"""The blog's result table (34 fashion categories, 63,348 images, 90/10
split), kept here once as data, and the blog's name of each architecture."""

# arch: (network as the blog names it, train acc, test acc, Layers, input)
BLOG_TABLE = {
    'alex': ('AlexNet', 0.9968, 0.7249, 8, '3x227x227'),
    'nin': ('Network In Network', 0.9909, 0.7570, 12, '3x227x227'),
    'googlenet': ('GoogLeNet', 0.9985, 0.8114, 22, '3x224x224'),
    'densenet': ('DenseNet', 0.8453, 0.7520, 120, '3x32x32'),
}

# Registry names that are the same network as a blog row.
ALIASES = {'googlenetbn': 'googlenet'}

BLOG_SETUP = ('the blog: 34 fashion categories, 63,348 images, 90% train / '
              '10% test, MomentumSGD lr 0.01 -> 0.001 at epoch 30, '
              '50 epochs')


def blog_row(arch):
    """The blog's row for a registry name, or None."""
    return BLOG_TABLE.get(ALIASES.get(arch, arch))


def network_name(arch):
    """The blog's name for an architecture (the registry name otherwise)."""
    row = blog_row(arch)
    return row[0] if row else arch
