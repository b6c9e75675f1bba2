"""Input sizes: what a model's layers make of an image of a given size.

A layer whose width depends on the input size (AlexNet's fc6, GoogLeNet's
auxiliary fc layers) is sized from a forward pass of the layers before it
on one zero image of that size, the same pass the shape tool (``python -m
shapes``) traces. A size the network cannot take raises InputSizeError, one
line naming the nearest sizes that work.
"""
import chainer
import numpy as np
from chainer.utils import type_check

CHANNELS = 3  # images are fed as RGB
SEARCH = 64  # how far from a rejected size to look for accepted ones


class InputSizeError(ValueError):
    """An input size a network cannot take; str() is one line."""


def _zero_forward(forward, size):
    # The dtype the model's parameters were made with (config.dtype).
    x = np.zeros((1, CHANNELS, size, size), chainer.get_dtype())
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        return forward(x)


def accepts(forward, size):
    """Whether ``forward`` runs on a ``size`` x ``size`` image."""
    try:
        _zero_forward(forward, size)
    except (AssertionError, ValueError, type_check.InvalidType):
        return False
    return True


def nearest_sizes(forward, size, reach=SEARCH):
    """The accepted sizes closest to ``size`` below and above it."""
    below = next((n for n in range(size - 1, max(0, size - reach), -1)
                  if accepts(forward, n)), None)
    above = next((n for n in range(size + 1, size + reach + 1)
                  if accepts(forward, n)), None)
    return [n for n in (below, above) if n is not None]


def probe(forward, size):
    """What ``forward`` (a model's bound method) makes of one zero ``size``
    x ``size`` image; InputSizeError if the layers reject it."""
    if size < 1:
        raise InputSizeError('input size must be positive, got {}'.format(
            size))
    try:
        return _zero_forward(forward, size)
    except (AssertionError, ValueError, type_check.InvalidType):
        pass
    near = nearest_sizes(forward, size)
    raise InputSizeError(
        '{} cannot take {}x{} images; nearest sizes it takes: {} (the '
        'shape tool, python -m shapes, shows why)'.format(
            type(forward.__self__).__name__, size, size,
            ', '.join(map(str, near)) or 'none within {}'.format(SEARCH)))


def flat_size(shape):
    """Values per image of a (batch, ...) shape: a Linear layer's width."""
    return int(np.prod(shape[1:]))
