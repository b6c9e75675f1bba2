"""Published Fashion-MNIST test accuracies of each blog network's family,
for comparison with ours: the benchmark list in the README of
zalandoresearch/fashion-mnist (user-submitted, full 60,000 / 10,000
split, their own training recipes)."""

SOURCE = ('https://github.com/zalandoresearch/fashion-mnist#benchmark '
          '(user-submitted results)')

# arch: (what was published, its test accuracy), or None where the list
# has no member of the family.
PUBLISHED = {
    'alex': ('AlexNet with triplet loss', 0.899),
    'nin': None,
    'googlenet': ('GoogLeNet with cross-entropy loss', 0.937),
    'densenet': ('DenseNet-BC, 768K parameters, with augmentation', 0.954),
}
