#!/usr/bin/env python
"""Mean image of a list, at the size the feeder uses, in one streaming pass.

    python compute_mean.py train.txt --root IMAGES --insize 227 \
        [--preset blog|example] [--output mean.npy] [--clean-list FILE] \
        [--cache DIR] [--loaderjob J]

Writes mean.npy (float32 3xNxN), mean.png (a picture of it) and a cleaned
list of the images that loaded (reporting those skipped), so that training
never meets an unreadable file; the list's labels.txt goes with the clean
list when that lies in another folder, so its classes keep their names.
The mean is taken over what the preset feeds the model at evaluation: the
image squashed to NxN ('blog') or the centre NxN crop after resizing the
short side ('example'). Memory does not grow with the number of images;
sums are float64, per fixed-size chunk, added in list order, so any
--loaderjob gives the same mean. --cache DIR
also keeps every loaded image, resized once, as uint8 for the feeder.
"""
import chainer_compat  # noqa: F401

import argparse
import functools
import os
import shutil
import sys

import numpy
from PIL import Image

from imagedata import listfile, presets, reader
from imagedata.cache import CacheWriter
from imagedata.parallel import map_chunks
from imagedata.reader import ImageReadError
from trainer.errors import UsageError, WrittenInOrder, storage_failures


def sum_chunk(root, preset_name, insize, keep_images, max_pixels, chunk):
    """float64 sum of one chunk's evaluation crops, plus what loaded, what
    failed (path, reason) and (with keep_images) the stored images."""
    preset = presets.Preset(preset_name, insize, max_pixels)
    total = numpy.zeros((3, insize, insize), dtype=numpy.float64)
    loaded, failed, images = [], [], []
    for path, label in chunk:
        try:
            stored = preset.read_stored(os.path.join(root, path))
        except ImageReadError as e:
            failed.append((path, e.reason))
            continue
        total += preset.crop_stored(stored, False, None)
        loaded.append((path, label))
        if keep_images:
            images.append(stored)
    return total, loaded, failed, images


def compute_mean(pairs, root, insize, preset='blog', jobs=1, cache=None,
                 max_pixels=reader.MAX_PIXELS):
    """(mean float32 (3, insize, insize) or None, loaded pairs, failed
    (path, reason) pairs); with cache=DIR also writes the image cache."""
    function = functools.partial(sum_chunk, root, preset, insize,
                                 cache is not None, max_pixels)
    total = numpy.zeros((3, insize, insize), dtype=numpy.float64)
    loaded, failed = [], []
    writer = CacheWriter(cache, preset, insize) if cache else None
    try:
        for part, ok, bad, images in map_chunks(function, pairs, jobs,
                                                'mean'):
            total += part
            loaded.extend(ok)
            failed.extend(bad)
            if writer is not None:
                for (path, label), image in zip(ok, images):
                    writer.add(path, label, image)
    except BaseException:
        if writer is not None:
            writer.__exit__(*sys.exc_info())
        raise
    if writer is not None:
        writer.close()
    if not loaded:
        return None, loaded, failed
    return (total / len(loaded)).astype(numpy.float32), loaded, failed


def mean_picture(mean):
    """The mean as an RGB Pillow image, to look at beside mean.npy."""
    hwc = numpy.clip(numpy.rint(mean.transpose(1, 2, 0)), 0, 255)
    return Image.fromarray(hwc.astype(numpy.uint8), 'RGB')


def default_clean_list(list_path, output):
    stem, ext = os.path.splitext(os.path.basename(list_path))
    return os.path.join(os.path.dirname(os.path.abspath(output)),
                        '{}_clean{}'.format(stem, ext or '.txt'))


def labels_to_copy(list_path, clean):
    """(labels.txt beside the list, where the clean list wants it) when the
    clean list lies in another folder and the list has one, else None. A
    different labels.txt already there is a UsageError: training on the
    clean list would take its names."""
    source = listfile.labels_path_for(list_path)
    target = listfile.labels_path_for(clean)
    if not os.path.isfile(source) or \
            os.path.realpath(source) == os.path.realpath(target):
        return None
    if os.path.isfile(target):
        if listfile.read_labels(target) != listfile.read_labels(source):
            raise UsageError(
                '--clean-list {}: {} holds other class names than {} beside '
                'the list; write the clean list to another folder'.format(
                    clean, target, source))
        return None
    listfile.read_labels(source)  # undecodable text: refused before
    return source, target


def write_outputs(args, mean, pairs, loaded, clean, labels):
    """mean.npy, mean.png, the clean list and its labels.txt; a full or
    read-only disk is one line naming the file and what was written."""
    write = WrittenInOrder()
    with storage_failures(args.output, 'nothing was written'):
        os.makedirs(os.path.dirname(os.path.abspath(args.output)),
                    exist_ok=True)
    write(args.output, lambda path: numpy.save(path, mean))
    picture = os.path.splitext(args.output)[0] + '.png'
    write(picture, lambda path: mean_picture(mean).save(path))
    if args.multi_label:
        write(clean, lambda path: listfile.write_multi_list(
            path, [pairs[k] for _, k in loaded]))
    else:
        write(clean, lambda path: listfile.write_list(path, loaded))
    if labels is not None:
        write(labels[1], lambda path: shutil.copyfile(labels[0], path))
    return picture


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Compute the mean image of a list at the model input '
                    'size; write a cleaned list of the images that load.')
    parser.add_argument('list', metavar='LIST',
                        help='list file of "path label" lines')
    parser.add_argument('--root', '-R', default='.',
                        help='folder the list paths are relative to')
    parser.add_argument('--insize', type=int, required=True,
                        help='model input side (e.g. 227, 224, 32)')
    parser.add_argument('--preset', choices=presets.PRESETS, default='blog',
                        help='the feeder preset whose geometry to use '
                             '(default %(default)s)')
    parser.add_argument('--output', '-o', default='mean.npy',
                        help='mean file (default %(default)s); the picture '
                             'goes beside it as .png')
    parser.add_argument('--clean-list', default=None, metavar='FILE',
                        help='list of the images that loaded (default: '
                             'LIST_clean.txt beside --output)')
    parser.add_argument('--cache', default=None, metavar='DIR',
                        help='also write the decoded-image cache here')
    parser.add_argument('--loaderjob', '-j', type=int,
                        default=os.cpu_count() or 1,
                        help='worker processes (default: all cores)')
    parser.add_argument('--multi-label', action='store_true',
                        help='LIST is a multi-label list ("path l1,l2,..."'
                             '); the clean list keeps its labels')
    reader.add_argument(parser)  # --max-pixels
    args = parser.parse_args(argv)
    if args.insize < 1:
        parser.error('--insize must be positive')
    reader.check_max_pixels(parser, args)
    try:
        return compute(args)
    except (listfile.ListError, UsageError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2


def compute(args):
    """main() after the options: the exit status, or ListError and
    UsageError (one line each)."""
    pairs = listfile.reader(args.multi_label)(args.list)
    clean = args.clean_list or default_clean_list(args.list, args.output)
    labels = labels_to_copy(args.list, clean)
    # The mean and the cache need the paths only: a multi-label list's
    # images go through as (path, line position), the cache's labels.
    work = [(path, k) for k, (path, _) in enumerate(pairs)] \
        if args.multi_label else pairs
    with storage_failures(args.cache or args.root, 'the cache is left '
                          'unfinished (the trainer refuses it); nothing else '
                          'was written'):
        mean, loaded, failed = compute_mean(work, args.root, args.insize,
                                            args.preset, args.loaderjob,
                                            args.cache, args.max_pixels)
    for path, reason in failed:
        print('skipped {}: {}'.format(path, reason), file=sys.stderr)
    if mean is None:
        print('error: none of the {} images in {} could be read (is --root '
              'right?)'.format(len(pairs), args.list), file=sys.stderr)
        return 1

    picture = write_outputs(args, mean, pairs, loaded, clean, labels)
    print('{} of {} images loaded, {} skipped'.format(
        len(loaded), len(pairs), len(failed)))
    print('wrote {} ({}), {} and {}{}'.format(
        args.output, 'x'.join(map(str, mean.shape)), picture, clean,
        ' (with {})'.format(labels[1]) if labels else ''))
    if args.cache:
        print('wrote the image cache {}'.format(args.cache))
    return 0


if __name__ == '__main__':
    sys.exit(main())
