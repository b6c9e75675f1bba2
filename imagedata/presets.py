"""The two ways of turning a decoded image into a training example.

- ``blog``: the blog's protocol. Squash the image to the model's insize,
  no crop, no mean, scale to [0, 1].
- ``example``: Chainer's ImageNet example on images of any size. Resize so
  the short side is 256 (for other input sizes, the same 256:224 ratio),
  then a random insize crop plus a random horizontal flip for training or
  the centre crop for evaluation, subtract the mean, scale by 1/255.

A preset is geometry (which part of the image becomes the example) plus
normalisation (uint8 to float32). The geometry works on the "stored" image,
the image resized once (what the decoded-image cache keeps); the crop is
cut from it at a random or central place.
"""
import math

import numpy
from PIL import Image

from imagedata.reader import MAX_PIXELS, load_rgb, to_chw

PRESETS = ('blog', 'example')
SCALE = 1.0 / 255.0
# Shrinking averages the covered area (Pillow's BOX, like OpenCV's
# INTER_AREA): as good as bilinear for downscaling at about 2/3 of its
# cost, and resizing is half of the feeder's time. Enlarging is bilinear.
SHRINK = Image.BOX
ENLARGE = Image.BILINEAR
EXAMPLE_SHORT_SIDE = 256
EXAMPLE_CROP = 224  # Chainer's example crops 224 or 227 from 256


def example_short_side(insize):
    """Short side before cropping: 256 for the example's own 224-256
    inputs, the same 256:224 ratio for other input sizes."""
    if EXAMPLE_CROP <= insize <= EXAMPLE_SHORT_SIDE:
        return EXAMPLE_SHORT_SIDE
    return int(math.ceil(insize * EXAMPLE_SHORT_SIDE / EXAMPLE_CROP))


class Preset(object):
    """Geometry and normalisation of one preset at one input size; files
    of more than max_pixels pixels are refused as unreadable."""

    def __init__(self, name, insize, max_pixels=MAX_PIXELS):
        if name not in PRESETS:
            raise ValueError('unknown preset {!r}: choose one of {}'
                             .format(name, ', '.join(PRESETS)))
        insize = int(insize)
        if insize < 1:
            raise ValueError('insize must be positive, got {}'.format(insize))
        self.name = name
        self.insize = insize
        self.max_pixels = max_pixels
        self.uses_mean = name == 'example'
        self.short_side = (example_short_side(insize) if name == 'example'
                           else None)

    def __repr__(self):
        return 'Preset({!r}, {})'.format(self.name, self.insize)

    def stored_size(self, width, height):
        """(width, height) an image of this size is resized to."""
        if self.name == 'blog':
            return (self.insize, self.insize)
        side = self.short_side
        if width <= height:
            return (side, max(side, int(round(height * side / width))))
        return (max(side, int(round(width * side / height))), side)

    def window(self, height, width, train, rng):
        """(top, left, flip) of the insize crop in a stored image."""
        if self.name == 'blog':
            return 0, 0, False
        if train:
            top = int(rng.integers(0, height - self.insize + 1))
            left = int(rng.integers(0, width - self.insize + 1))
            return top, left, bool(rng.integers(0, 2))
        return (height - self.insize) // 2, (width - self.insize) // 2, False

    def crop_image(self, img, train, rng):
        """A decoded 'RGB' Pillow image to the uint8 (3, insize, insize)
        crop, resizing only the cropped region (same pixels as resizing the
        whole image to stored_size and cutting the crop out of it, at a
        fraction of the cost)."""
        width, height = img.size
        stored_w, stored_h = self.stored_size(width, height)
        top, left, flip = self.window(stored_h, stored_w, train, rng)
        size = self.insize
        if (stored_w, stored_h) == (width, height):
            part = img.crop((left, top, left + size, top + size))
        else:
            sx = width / stored_w
            sy = height / stored_h
            box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
            part = img.resize((size, size), resample_for(sx, sy), box=box)
        if flip:
            part = part.transpose(Image.FLIP_LEFT_RIGHT)
        return to_chw(part)

    def decode(self, path):
        """Decode an image file to an 'RGB' Pillow image, big JPEGs drafted
        down to no less than the stored size."""
        return load_rgb(path, draft_for=self.stored_size,
                        max_pixels=self.max_pixels)

    def crop_file(self, path, train, rng):
        """Decode an image file and crop it as crop_image does."""
        return self.crop_image(self.decode(path), train, rng)

    def read_stored(self, path):
        """Decode an image file at its stored size: uint8 (3, H, W), what
        the cache keeps and the mean is taken over."""
        return to_chw(self.resize_stored(self.decode(path)))

    def crop_stored(self, chw, train, rng):
        """The same crop from a stored uint8 (3, H, W) array (the cache)."""
        _, height, width = chw.shape
        top, left, flip = self.window(height, width, train, rng)
        part = chw[:, top:top + self.insize, left:left + self.insize]
        if flip:
            part = part[:, :, ::-1]
        return numpy.ascontiguousarray(part)

    def resize_stored(self, img):
        """A decoded 'RGB' Pillow image to its stored size (cache, mean)."""
        size = self.stored_size(*img.size)
        if size == img.size:
            return img
        return img.resize(size, resample_for(img.size[0] / size[0],
                                             img.size[1] / size[1]))

    def check_mean(self, mean):
        """The mean as float32 (3, insize, insize), or None; a clear error
        for a mean the preset does not use or one of another size."""
        if mean is None:
            return None
        if not self.uses_mean:
            raise ValueError(
                'the blog preset subtracts no mean: pass no mean, or use '
                "preset='example'")
        mean = numpy.asarray(mean, dtype=numpy.float32)
        expected = (3, self.insize, self.insize)
        if mean.shape != expected:
            raise ValueError(
                'the mean image is {} but the model input is {}: run '
                'compute_mean.py --insize {} for this model'.format(
                    'x'.join(map(str, mean.shape)),
                    'x'.join(map(str, expected)), self.insize))
        return mean


def resample_for(x_factor, y_factor):
    """Pillow filter for source/target size factors (> 1: shrinking)."""
    return SHRINK if x_factor >= 1 and y_factor >= 1 else ENLARGE


def normalise(images, mean=None, out=None):
    """uint8 image(s) to float32 (x - mean) / 255, on numpy or CuPy arrays.

    Works on one (3, H, W) image or a (N, 3, H, W) batch; `mean` is
    (3, H, W) or None.
    """
    xp = _array_module(images)
    if out is None:
        out = xp.empty(images.shape, dtype=numpy.float32)
    if mean is None:
        # dtype: NumPy 1.x would otherwise pick a float16 loop for uint8.
        xp.multiply(images, numpy.float32(SCALE), out=out,
                    dtype=numpy.float32)
    else:
        xp.subtract(images, mean, out=out, dtype=numpy.float32)
        out *= numpy.float32(SCALE)
    return out


def _array_module(array):
    if isinstance(array, numpy.ndarray):
        return numpy
    import chainer.backend
    return chainer.backend.get_array_module(array)
