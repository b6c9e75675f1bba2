"""Multi-label examples: an image and an int32 multi-hot vector of n_class
(1 for each of its labels), for sigmoid outputs and binary cross-entropy.

The images still go through ImageDataset (presets, cache, broken-image
replacement, worker processes): it is given each image's position in the
list as its label, and MultiLabelDataset turns the position it returns
(that of the replacement, when an image was unreadable) into that image's
vector.
"""
import chainer
import numpy


def multi_hot(pairs, n_class):
    """int32 (len(pairs), n_class): row k has a 1 at each label of pair k."""
    targets = numpy.zeros((len(pairs), n_class), dtype=numpy.int32)
    for k, (_, labels) in enumerate(pairs):
        targets[k, list(labels)] = 1
    return targets


def by_position(pairs, n_class):
    """((path, position) pairs for ImageDataset, the multi-hot targets)."""
    return ([(path, k) for k, (path, _) in enumerate(pairs)],
            multi_hot(pairs, n_class))


class MultiLabelDataset(chainer.dataset.DatasetMixin):
    """(image, int32 multi-hot vector) examples from `images`, an
    ImageDataset made from by_position()'s pairs, and its `targets`.
    Everything else (converter, broken_count, ...) is the ImageDataset's."""

    def __init__(self, images, targets):
        if len(images) != len(targets):
            raise ValueError('{} images but {} label vectors'.format(
                len(images), len(targets)))
        self.images = images
        self.targets = numpy.asarray(targets, dtype=numpy.int32)

    def __len__(self):
        return len(self.images)

    def get_example(self, i):
        image, position = self.images.get_example(i)
        return image, self.targets[int(position)]

    @property
    def n_class(self):
        return self.targets.shape[1]

    @property
    def example_nbytes(self):
        """Bytes of one example's image and vector (the iterator's shared
        memory is sized from it)."""
        return self.images.example_nbytes + \
            self.targets.itemsize * self.targets.shape[1]

    def __getattr__(self, name):
        # Only reached for attributes not found above; 'images' itself is
        # missing while an unpickled copy is being rebuilt.
        if name == 'images':
            raise AttributeError(name)
        return getattr(self.images, name)
