"""Export Fashion-MNIST's IDX files as a class-per-folder PNG tree.

    python -m labeling.fashion_mnist OUT_DIR [--source DIR] [--split S]
        [--limit-per-class N]

Reads the IDX files of the Debian package dataset-fashion-mnist (or of
--source DIR; gzipped or not) and writes OUT_DIR/train/<class>/ and
OUT_DIR/test/<class>/ (with --split train or test, OUT_DIR/<class>/), so the
test split stays the official one. Next to the tree go labels.txt and one
list per split (train.txt, test.txt; paths relative to OUT_DIR), with the
labels `python -m labeling` would give the tree (class names sorted).
File names keep the official index: train-00042.png is image 42 of the
training file. --limit-per-class N keeps the first N of each class (the
repository's sample is --split train --limit-per-class 100).
"""
import argparse
import gzip
import os
import struct
import sys

import numpy
from PIL import Image

from imagedata import listfile
from imagedata.progress import Progress

DEFAULT_SOURCE = '/usr/share/datasets/fashion-mnist'
# Official label order; '/' is not allowed in a folder name.
CLASS_NAMES = ('T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot')
SPLITS = {'train': 'train', 'test': 't10k'}
_IDX_TYPES = {0x08: numpy.uint8}
NOTICE = 'LICENSE'
NOTICE_TEXT = """\
The images in this folder are a part of Fashion-MNIST
(https://github.com/zalandoresearch/fashion-mnist), exported as PNG by
`python -m labeling.fashion_mnist` from the official IDX files.

Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.

The MIT License (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to
deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""


class IdxError(ValueError):
    """An IDX file that is missing or malformed; str() names it."""


def idx_path(source, split, kind):
    """The IDX file of a split ('train'/'test') and kind ('images'/
    'labels') in `source`, gzipped or not."""
    base = os.path.join(source, '{}-{}-idx{}-ubyte'.format(
        SPLITS[split], kind, 3 if kind == 'images' else 1))
    for candidate in (base + '.gz', base):
        if os.path.isfile(candidate):
            return candidate
    raise IdxError('{}(.gz): not found; install the Debian package '
                   'dataset-fashion-mnist or pass --source DIR'.format(base))


def _open(path):
    return gzip.open(path, 'rb') if path.endswith('.gz') else \
        open(path, 'rb')


def _header(f, path):
    magic = f.read(4)
    if len(magic) != 4 or magic[:2] != b'\0\0' or \
            magic[2] not in _IDX_TYPES:
        raise IdxError('{}: not an unsigned-byte IDX file'.format(path))
    ndim = magic[3]
    raw = f.read(4 * ndim)
    if len(raw) != 4 * ndim:
        raise IdxError('{}: truncated header'.format(path))
    return struct.unpack('>{}I'.format(ndim), raw)


def read_idx(path):
    """The whole IDX file as a uint8 array of its declared shape."""
    with _open(path) as f:
        dims = _header(f, path)
        data = f.read()
    expected = int(numpy.prod(dims))
    if len(data) != expected:
        raise IdxError('{}: {} bytes of data, the header declares {}'
                       .format(path, len(data), expected))
    return numpy.frombuffer(data, dtype=numpy.uint8).reshape(dims)


def select(labels, limit_per_class):
    """Indices to export: all, or the first N of each class."""
    if limit_per_class is None:
        return numpy.arange(len(labels))
    keep = []
    for label in range(len(CLASS_NAMES)):
        keep.extend(numpy.flatnonzero(labels == label)[:limit_per_class])
    return numpy.sort(numpy.asarray(keep, dtype=numpy.int64))


def export_split(source, split, out_dir, prefix, limit_per_class=None):
    """Write one split's PNGs under out_dir/prefix; returns the pairs
    (path relative to out_dir, official label)."""
    images = read_idx(idx_path(source, split, 'images'))
    labels = read_idx(idx_path(source, split, 'labels'))
    if len(images) != len(labels):
        raise IdxError('{}: {} images but {} labels'.format(
            source, len(images), len(labels)))
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise IdxError('{}: label {} outside the {} classes'.format(
            source, labels.max(), len(CLASS_NAMES)))
    for name in CLASS_NAMES:
        os.makedirs(os.path.join(out_dir, prefix, name), exist_ok=True)
    indices = select(labels, limit_per_class)
    pairs = []
    with Progress(len(indices), 'export ' + split) as progress:
        for i in indices:
            label = int(labels[i])
            relative = os.path.join(prefix, CLASS_NAMES[label],
                                    '{}-{:05d}.png'.format(split, i))
            Image.fromarray(images[i], 'L').save(
                os.path.join(out_dir, relative), optimize=True)
            pairs.append((relative, label))
            progress.update()
    return pairs


def export(source, out_dir, splits=('train', 'test'), limit_per_class=None):
    """Export the splits; returns {split: number of images written}."""
    os.makedirs(out_dir, exist_ok=True)
    # Labels as `python -m labeling` numbers the folders: sorted names.
    sorted_names = sorted(CLASS_NAMES)
    relabel = {CLASS_NAMES.index(name): k
               for k, name in enumerate(sorted_names)}
    counts = {}
    for split in splits:
        prefix = split if len(splits) > 1 else ''
        pairs = export_split(source, split, out_dir, prefix, limit_per_class)
        listfile.write_list(os.path.join(out_dir, split + '.txt'),
                            [(path, relabel[label]) for path, label in pairs])
        counts[split] = len(pairs)
    listfile.write_labels(os.path.join(out_dir, 'labels.txt'), sorted_names)
    with open(os.path.join(out_dir, NOTICE), 'w', encoding='utf-8') as f:
        f.write(NOTICE_TEXT)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m labeling.fashion_mnist',
        description='Export Fashion-MNIST (IDX files) as a class-per-folder '
                    'PNG tree with labels.txt and per-split lists.')
    parser.add_argument('out_dir', help='where to write the tree')
    parser.add_argument('--source', default=DEFAULT_SOURCE,
                        help='folder with the IDX files (default: the '
                             'Debian package, %(default)s)')
    parser.add_argument('--split', choices=('train', 'test', 'both'),
                        default='both',
                        help='which official split to export (default '
                             'both, in OUT_DIR/train and OUT_DIR/test)')
    parser.add_argument('--limit-per-class', type=int, default=None,
                        metavar='N', help='export only the first N images '
                                          'of each class')
    args = parser.parse_args(argv)
    if args.limit_per_class is not None and args.limit_per_class < 1:
        parser.error('--limit-per-class must be at least 1')
    splits = ('train', 'test') if args.split == 'both' else (args.split,)
    try:
        counts = export(args.source, args.out_dir, splits,
                        args.limit_per_class)
    except (IdxError, OSError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    for split in splits:
        print('{}: {} images'.format(split, counts[split]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
