"""Random erasing (Zhong et al. 2017, "Random Erasing Data Augmentation"),
a training-only augmentation of the uint8 crops (``--random-erase P``).

With probability P a training crop gets one axis-aligned rectangle
replaced: its area is a fraction in [0.02, 0.4] of the crop and its aspect
ratio (height / width) in [0.3, 1 / 0.3], both drawn uniformly (the paper's
s_l, s_h, r_1). A rectangle that does not fit in the crop, or whose sides,
rounded to whole pixels, leave those ranges, is drawn again, up to 100
attempts (the paper's reference implementation); after 100 misses the crop
stays as it is. The rectangle is filled with

- ``noise``: uniform random values 0..255, per pixel and channel (the
  paper's Algorithm 1; crops travel as uint8, so 0..255 is the whole range);
- ``mean``: the mean image's pixels under the rectangle (rounded to uint8),
  which the converter's mean subtraction turns into zeros, as the reference
  implementation's ImageNet mean does; with no mean image (the blog's
  preprocessing), the crop's own per-channel mean, a flat patch of its
  average colour.

Every random number comes from the generator the dataset passes in (its
per-worker generator, seeded by --seed), after the crop's own draws, so
runs are reproducible, and P = 0 draws nothing: examples and the random
sequence are exactly those of a run without erasing.
"""
import argparse
import math

import numpy

FILLS = ('noise', 'mean')
AREA = (0.02, 0.4)       # s_l, s_h: erased fraction of the crop's area
ASPECT = (0.3, 1 / 0.3)  # r_1, 1 / r_1: height / width of the rectangle
ATTEMPTS = 100


def probability(text):
    """--random-erase P for argparse: a float in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            'expected a probability from 0 to 1, got {!r}'.format(text))
    return value


def add_arguments(parser):
    parser.add_argument(
        '--random-erase', type=probability, default=0.0, metavar='P',
        help='random erasing: with probability P, one rectangle of each '
             'training image (2-40%% of its area, aspect 0.3-3.3) is '
             'replaced (default 0: off, as the blog)')
    parser.add_argument(
        '--random-erase-fill', choices=FILLS, default='noise',
        help="what replaces it: 'noise' (uniform 0..255) or 'mean' (the "
             "--mean image there; without one, the image's own per-channel "
             'mean); default %(default)s')


def from_args(args, mean=None):
    """The augmentation for ImageDataset(augment=...), None when off."""
    if not args.random_erase:
        return None
    return RandomErasing(args.random_erase, args.random_erase_fill, mean)


def draw_box(height, width, rng):
    """(top, left, h, w) of a rectangle within the ranges that fits in a
    height x width image, or None after ATTEMPTS misses."""
    area = height * width
    for _ in range(ATTEMPTS):
        target = rng.uniform(*AREA) * area
        aspect = rng.uniform(*ASPECT)
        h = int(round(math.sqrt(target * aspect)))
        w = int(round(math.sqrt(target / aspect)))
        if not (0 < h <= height and 0 < w <= width):
            continue
        if not (AREA[0] <= h * w / area <= AREA[1]
                and ASPECT[0] <= h / w <= ASPECT[1]):
            continue  # rounding left the ranges (tiny images)
        top = int(rng.integers(0, height - h + 1))
        left = int(rng.integers(0, width - w + 1))
        return top, left, h, w
    return None


def erase(chw, rng, fill='noise', mean=None):
    """A copy of the uint8 (3, H, W) crop with one rectangle filled, and
    the rectangle (top, left, h, w); (chw itself, None) when none fits.
    `mean`: float (3, H, W) for fill='mean', or None for the crop's own
    per-channel mean."""
    if fill not in FILLS:
        raise ValueError('fill must be one of {}, got {!r}'.format(
            ', '.join(FILLS), fill))
    _, height, width = chw.shape
    box = draw_box(height, width, rng)
    if box is None:
        return chw, None
    top, left, h, w = box
    out = numpy.array(chw, dtype=numpy.uint8, copy=True)  # never the cache
    region = (slice(None), slice(top, top + h), slice(left, left + w))
    if fill == 'noise':
        out[region] = rng.integers(0, 256, (chw.shape[0], h, w),
                                   dtype=numpy.uint8)
    elif mean is not None:
        out[region] = numpy.clip(numpy.rint(mean[region]), 0, 255)
    else:
        channel_mean = chw.reshape(chw.shape[0], -1).mean(axis=1)
        out[region] = numpy.clip(numpy.rint(channel_mean), 0,
                                 255)[:, None, None]
    return out, box


class RandomErasing(object):
    """augment(chw, rng) for ImageDataset: erase with probability p."""

    def __init__(self, p, fill='noise', mean=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError('p must be from 0 to 1, got {}'.format(p))
        if fill not in FILLS:
            raise ValueError('fill must be one of {}, got {!r}'.format(
                ', '.join(FILLS), fill))
        self.p = float(p)
        self.fill = fill
        self.mean = None if mean is None else numpy.asarray(
            mean, dtype=numpy.float32)

    def __repr__(self):
        return 'RandomErasing({}, {!r})'.format(self.p, self.fill)

    def __call__(self, chw, rng):
        if not self.p or rng.uniform() >= self.p:
            return chw
        return erase(chw, rng, self.fill, self.mean)[0]
