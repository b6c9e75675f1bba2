"""Small test images in every colour mode a crawl brings, plus broken files.

Every good image is 24x16 (width x height) unless said otherwise; its RGB
content after reading is given by EXPECTED_CORNER (top-left pixel).
"""
import os

import numpy
from PIL import Image

WIDTH, HEIGHT = 24, 16
RED = (200, 30, 40)


def _rgb():
    return Image.new('RGB', (WIDTH, HEIGHT), RED)


def _write_l(path):
    Image.new('L', (WIDTH, HEIGHT), 77).save(path)


def _write_la(path):
    # Fully transparent: composited onto white.
    Image.new('LA', (WIDTH, HEIGHT), (10, 0)).save(path)


def _write_p_transparent(path):
    img = Image.new('P', (WIDTH, HEIGHT), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((WIDTH - 1, HEIGHT - 1), 0)  # one opaque black pixel
    img.save(path, transparency=1)


def _write_p(path):
    img = Image.new('P', (WIDTH, HEIGHT), 2)
    img.putpalette([0, 0, 0, 0, 0, 0, 12, 34, 56] + [0] * 759)
    img.save(path)


def _write_rgba(path):
    # Half-transparent red over white.
    Image.new('RGBA', (WIDTH, HEIGHT), (255, 0, 0, 128)).save(path)


def _write_cmyk(path):
    red_ink = (0, 255, 255, 0)  # no cyan, full magenta and yellow
    Image.new('CMYK', (WIDTH, HEIGHT), red_ink).save(path, quality=100)


def _write_i16(path):
    # 100 * 257 is 100 in 8 bits.
    Image.fromarray(numpy.full((HEIGHT, WIDTH), 100 * 257,
                               numpy.uint16)).save(path)


def _write_bilevel(path):
    Image.new('1', (WIDTH, HEIGHT), 1).save(path)


def _write_rgb_jpeg(path):
    _rgb().save(path, quality=100)


def _write_gif(path):
    _rgb().convert('P').save(path)


# name -> (writer, expected top-left RGB after reading, Pillow mode on disk)
MODES = {
    'L.png': (_write_l, (77, 77, 77), 'L'),
    'LA.png': (_write_la, (255, 255, 255), 'LA'),
    'P-transparent.png': (_write_p_transparent, (255, 255, 255), 'P'),
    'P.png': (_write_p, (12, 34, 56), 'P'),
    'RGBA.png': (_write_rgba, (255, 127, 127), 'RGBA'),
    'CMYK.jpg': (_write_cmyk, (255, 0, 0), 'CMYK'),
    'I16.png': (_write_i16, (100, 100, 100), 'I;16'),
    '1.png': (_write_bilevel, (255, 255, 255), '1'),
    'RGB.jpg': (_write_rgb_jpeg, RED, 'RGB'),
    'RGB.gif': (_write_gif, None, 'P'),
}


def write_mode(directory, name):
    path = os.path.join(str(directory), name)
    MODES[name][0](path)
    return path


def write_all_modes(directory):
    return [write_mode(directory, name) for name in sorted(MODES)]


def write_rotated_jpeg(path):
    """Stored 24x16 (wide); EXIF orientation 6 displays it 16x24 (tall).
    The stored left half is black, the right half white; after rotating
    90 degrees clockwise the top is black."""
    array = numpy.zeros((HEIGHT, WIDTH, 3), numpy.uint8)
    array[:, WIDTH // 2:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(array).save(path, quality=100, exif=exif)
    return path


def write_photo(path, width, height, seed=0, fmt=None):
    """A noisy RGB image of the given size (photo-like JPEG cost)."""
    rng = numpy.random.default_rng(seed)
    array = rng.integers(0, 256, (height, width, 3), dtype=numpy.uint8)
    Image.fromarray(array).save(path, format=fmt)
    return path


def write_truncated(path):
    write_photo(path, 64, 48, fmt='JPEG')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    return path


def write_empty(path):
    open(path, 'wb').close()
    return path


def write_not_an_image(path):
    with open(path, 'w') as f:
        f.write('<html>404 not found</html>\n')
    return path


BROKEN = {
    'truncated.jpg': write_truncated,
    'empty.png': write_empty,
    'page.jpg': write_not_an_image,
}


def write_broken(directory):
    return [BROKEN[name](os.path.join(str(directory), name))
            for name in sorted(BROKEN)]
