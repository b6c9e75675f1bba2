"""The one image reader: any Pillow-readable file to an RGB uint8 array.

Crawled images come in every mode. Grayscale is replicated to three
channels, palette and CMYK are converted, 16-bit and 32-bit images are
scaled to 8 bits, the EXIF orientation is applied, and transparency is
composited onto white (product photos have transparent backgrounds).
Anything that cannot be decoded raises ImageReadError naming the path, and
so does an image of more pixels than the limit (--max-pixels), refused from
its header before any pixel is decoded: a small file can declare a huge
image (a 46 KB 1-bit PNG of 13000 x 13000 takes 0.86 GB per decode).

Decoding only: resizing and cropping belong to imagedata.presets, which
imports this module (never the other way round).
"""
import io
import warnings

import numpy
from PIL import Image, ImageOps, UnidentifiedImageError

BACKGROUND = (255, 255, 255)
# Pillow's own default limit (Image.MAX_IMAGE_PIXELS; above it Pillow only
# warns, and only above twice it refuses).
MAX_PIXELS = 89478485

# Modes Pillow converts to RGB by itself without losing anything we keep.
_DIRECT_MODES = ('RGB', '1', 'L', 'P', 'CMYK', 'YCbCr', 'LAB', 'HSV')
_ALPHA_MODES = ('RGBA', 'RGBa', 'LA', 'La', 'PA')
_WIDE_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I', 'F')


class ImageReadError(ValueError):
    """A file that is not a decodable image; str() names the path."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = str(reason) or type(reason).__name__
        super(ImageReadError, self).__init__(
            '{}: cannot read image ({})'.format(self.path, self.reason))


def _scale_wide(img):
    """16/32-bit gray or float image to an 8-bit 'L' image."""
    array = numpy.asarray(img)
    if img.mode.startswith('I;16'):
        scaled = array.astype(numpy.float32) * (255.0 / 65535.0)
    elif img.mode == 'F':
        finite = numpy.nan_to_num(array.astype(numpy.float32))
        # Float images are either in [0, 1] or already in 8-bit units.
        top = 1.0 if finite.size and finite.max() <= 1.0 else 255.0
        scaled = finite * (255.0 / top)
    else:  # 'I': 32-bit ints, usually holding 8- or 16-bit data
        top = int(array.max()) if array.size else 0
        if top <= 255:
            scaled = array.astype(numpy.float32)
        elif top <= 65535:
            scaled = array.astype(numpy.float32) * (255.0 / 65535.0)
        else:
            scaled = array.astype(numpy.float32) * (255.0 / top)
    return Image.fromarray(
        numpy.clip(scaled + 0.5, 0, 255).astype(numpy.uint8), 'L')


def _on_white(img):
    """Composite an image with alpha onto the white background."""
    rgba = img.convert('RGBA')
    out = Image.new('RGB', rgba.size, BACKGROUND)
    out.paste(rgba, mask=rgba.getchannel('A'))
    return out


def to_rgb(img):
    """A loaded Pillow image in any mode to an 'RGB' image."""
    if img.mode == 'RGB' and 'transparency' not in img.info:
        return img
    if img.mode in _WIDE_MODES:
        return _scale_wide(img).convert('RGB')
    if img.mode in _ALPHA_MODES or 'transparency' in img.info:
        return _on_white(img)
    if img.mode in _DIRECT_MODES:
        return img.convert('RGB')
    raise ValueError('unsupported image mode {}'.format(img.mode))


def _upright(img):
    try:
        ImageOps.exif_transpose(img, in_place=True)  # no copy when upright
    except Exception:  # a damaged EXIF block must not lose a good image
        pass
    return img


def add_argument(parser):
    """--max-pixels, for the entry points that decode images."""
    parser.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                        metavar='N',
                        help='refuse images of more than N pixels (width x '
                             'height), read from the header before '
                             "decoding, as broken ones (default Pillow's "
                             '%(default)s)')


def check_max_pixels(parser, args):
    if args.max_pixels < 1:
        parser.error('--max-pixels must be at least 1')


def _check_size(img, max_pixels):
    width, height = img.size
    if width * height > max_pixels:
        raise ValueError('{}x{} = {} pixels, over the limit of {} '
                         '(--max-pixels)'.format(width, height,
                                                 width * height, max_pixels))


def load_rgb(path, draft_for=None, max_pixels=MAX_PIXELS):
    """Decode `path` into an upright 'RGB' Pillow image.

    draft_for(width, height) -> (w, h) may give, from the stored size, the
    smallest size the caller needs; big JPEGs are then decoded at 1/2, 1/4
    or 1/8 scale (Image.draft), never below that size. An image of more
    than max_pixels pixels is refused before decoding.
    """
    # Pillow's own check must not refuse what the caller's limit allows.
    if Image.MAX_IMAGE_PIXELS is not None and \
            Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Odd but readable files (bad EXIF, palette with transparency
            # bytes) warn: they are not errors here. Large pixel counts are
            # refused below, before they are decoded.
            warnings.simplefilter('ignore')
            # One read: Pillow parses JPEG markers a few bytes at a time,
            # cheaper from memory than through file reads.
            with open(path, 'rb') as f:
                data = io.BytesIO(f.read())
            with Image.open(data) as img:
                _check_size(img, max_pixels)
                if draft_for is not None and img.format == 'JPEG':
                    img.draft(None, draft_for(*img.size))
                img.load()
                return to_rgb(_upright(img))
    except ImageReadError:
        raise
    except FileNotFoundError as e:
        raise ImageReadError(path, 'no such file') from e
    except UnidentifiedImageError as e:
        raise ImageReadError(path, 'not an image format Pillow knows, or '
                                   'an empty file') from e
    except Exception as e:  # Pillow raises many types for broken files
        raise ImageReadError(path, e) from e


def to_chw(img):
    """An 'RGB' Pillow image to a contiguous uint8 (3, H, W) array."""
    # Band by band: half the time of transposing the (H, W, 3) array.
    out = numpy.empty((3, img.size[1], img.size[0]), dtype=numpy.uint8)
    for k, band in enumerate(img.split()):
        out[k] = numpy.asarray(band)
    return out


def read_image(path, max_pixels=MAX_PIXELS):
    """Read any image file as a uint8 (3, H, W) RGB array."""
    return to_chw(load_rgb(path, max_pixels=max_pixels))
