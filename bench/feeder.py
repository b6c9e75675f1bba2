#!/usr/bin/env python
"""Throughput of the feeder against Chainer's ImageNet-example pipeline.

    python bench/feeder.py [--images 3000] [--batchsize 32] [--loaderjob 2]

Builds (once, in --workdir) a photo-like crawl: Fashion-MNIST images
upscaled to random 300-800 px, tinted, with sensor-like noise, saved as
JPEG, with a few RGBA, palette and CMYK files among them; plus copies
pre-resized to 256x256 RGB JPEG for the baseline. Then, in the same run,
each pipeline in its own process (so its peak memory is its own), all with
the same batch size and worker count, consumed through the converter an
updater would use:

  (a) Chainer's example: LabeledImageDataset on the 256x256 copies, random
      crop, flip, mean, 1/255 (its PreprocessedDataset), MultiprocessIterator
  (b) ImageDataset, 'example' preset, on the original files
  (c) ImageDataset, 'example' preset, on the decoded-image cache
      (built by compute_mean.py --cache; its time is printed separately)

(b) and (c) hand uint8 crops from the workers and normalise in the
converter; the "float32" rows normalise in the workers instead. Every
pipeline runs --rounds times, alternating, and the best round counts (the
machine may be shared). The ratios against (a) come last.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

import chainer  # noqa: E402
import compute_mean  # noqa: E402
from imagedata import listfile  # noqa: E402
from imagedata.dataset import ImageDataset, make_iterator  # noqa: E402
from imagedata.reader import read_image  # noqa: E402
from labeling import fashion_mnist  # noqa: E402

SIZE_RANGE = (300, 800)
BASELINE_SIDE = 256
SPECIAL_EVERY = 100  # one RGBA, one palette, one CMYK file per hundred
SAMPLE_TREE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'sample', 'fashion-mnist')

CONFIGS = {
    'a': "(a) Chainer example, 256x256 copies",
    'b': "(b) feeder 'example', original files",
    'c': "(c) feeder 'example', cache",
    'b32': "    (b) with float32 hand-off",
    'c32': "    (c) with float32 hand-off",
}


# ------------------------------------------------------------ the data

def source_images(count):
    """(28x28 uint8 images, labels): Fashion-MNIST's training file, or the
    repository sample (repeated) when the Debian package is absent."""
    try:
        images = fashion_mnist.read_idx(fashion_mnist.idx_path(
            fashion_mnist.DEFAULT_SOURCE, 'train', 'images'))
        labels = fashion_mnist.read_idx(fashion_mnist.idx_path(
            fashion_mnist.DEFAULT_SOURCE, 'train', 'labels'))
        return images[:count], labels[:count]
    except fashion_mnist.IdxError:
        pairs = listfile.read_list(os.path.join(SAMPLE_TREE, 'train.txt'))
        names = listfile.read_labels(os.path.join(SAMPLE_TREE, 'labels.txt'))
        images, labels = [], []
        for k in range(count):
            path, label = pairs[k % len(pairs)]
            images.append(read_image(os.path.join(SAMPLE_TREE, path))[0])
            labels.append(fashion_mnist.CLASS_NAMES.index(names[label]))
        return numpy.asarray(images), numpy.asarray(labels)


def make_photo(gray28, index, rng, noise):
    width, height = (int(v) for v in rng.integers(SIZE_RANGE[0],
                                                  SIZE_RANGE[1] + 1, 2))
    # Products on a light background, upscaled, tinted, with grain.
    base = Image.fromarray(255 - gray28).resize((width, height),
                                                Image.BICUBIC)
    dark = tuple(int(v) for v in rng.integers(0, 160, 3))
    tinted = numpy.asarray(ImageOps.colorize(base, dark, (250, 250, 248)),
                           dtype=numpy.int16)
    top, left = (int(v) for v in rng.integers(0, SIZE_RANGE[1] - 300, 2))
    grain = noise[top:top + height, left:left + width]
    pad_h, pad_w = height - grain.shape[0], width - grain.shape[1]
    grain = numpy.pad(grain, ((0, pad_h), (0, pad_w), (0, 0)), 'wrap')
    photo = Image.fromarray(numpy.clip(tinted + grain, 0, 255)
                            .astype(numpy.uint8))
    kind = index % SPECIAL_EVERY
    if kind == 1:
        alpha = base.point(lambda v: 0 if v > 240 else 255)
        photo.putalpha(alpha)
        return photo, 'png'
    if kind == 2:
        return photo.convert('P', palette=Image.ADAPTIVE), 'png'
    if kind == 3:
        return photo.convert('CMYK'), 'jpg'
    return photo, 'jpg'


def _generate_chunk(args):
    workdir, start, images, labels = args
    rng = numpy.random.default_rng(start)
    noise = rng.integers(-10, 11, (SIZE_RANGE[1], SIZE_RANGE[1] + 300, 3),
                         dtype=numpy.int16)
    original, resized = [], []
    for k, (gray, label) in enumerate(zip(images, labels)):
        index = start + k
        photo, ext = make_photo(gray, index, rng, noise)
        name = '{}/{:06d}.{}'.format(fashion_mnist.CLASS_NAMES[label], index,
                                     ext)
        photo.save(os.path.join(workdir, 'original', name), quality=90)
        # The baseline's pre-cleaned copy, as Chainer's example expects.
        copy = Image.fromarray(read_image(os.path.join(
            workdir, 'original', name)).transpose(1, 2, 0))
        copy_name = os.path.splitext(name)[0] + '.jpg'
        copy.resize((BASELINE_SIDE, BASELINE_SIDE), Image.BILINEAR).save(
            os.path.join(workdir, 'resized', copy_name), quality=90)
        original.append((name, int(label)))
        resized.append((copy_name, int(label)))
    return original, resized


def generate(workdir, count, jobs):
    marker = os.path.join(workdir, 'done-{}.json'.format(count))
    if os.path.exists(marker):
        return
    images, labels = source_images(count)
    for top in ('original', 'resized'):
        for name in fashion_mnist.CLASS_NAMES:
            os.makedirs(os.path.join(workdir, top, name), exist_ok=True)
    step = 100
    tasks = [(workdir, s, images[s:s + step], labels[s:s + step])
             for s in range(0, count, step)]
    original, resized = [], []
    print('generating {} photo-like images in {} ...'.format(count, workdir),
          file=sys.stderr)
    with multiprocessing.Pool(jobs) as pool:
        for o, r in pool.imap(_generate_chunk, tasks):
            original.extend(o)
            resized.extend(r)
    listfile.write_list(os.path.join(workdir, 'original.txt'), original)
    listfile.write_list(os.path.join(workdir, 'resized.txt'), resized)
    with open(marker, 'w') as f:
        json.dump({'images': count}, f)


# ------------------------------------------------------------ (a)

class PreprocessedDataset(chainer.dataset.DatasetMixin):
    """Chainer 7's examples/imagenet/train_imagenet.py, unchanged."""

    def __init__(self, path, root, mean, crop_size, random=True):
        self.base = chainer.datasets.LabeledImageDataset(path, root)
        self.mean = mean.astype(chainer.get_dtype())
        self.crop_size = crop_size
        self.random = random

    def __len__(self):
        return len(self.base)

    def get_example(self, i):
        crop_size = self.crop_size
        image, label = self.base[i]
        _, h, w = image.shape
        if self.random:
            top = random.randint(0, h - crop_size - 1)
            left = random.randint(0, w - crop_size - 1)
            if random.randint(0, 1):
                image = image[:, :, ::-1]
        else:
            top = (h - crop_size) // 2
            left = (w - crop_size) // 2
        bottom = top + crop_size
        right = left + crop_size
        image = image[:, top:bottom, left:right]
        image -= self.mean[:, top:bottom, left:right]
        image *= (1.0 / 255.0)
        return image, label


# ------------------------------------------------------------ one run

def run_one(config, args):
    """Images/s and peak memory of one pipeline (called in a child)."""
    work = args.workdir
    if config == 'a':
        mean = numpy.load(os.path.join(work, 'mean256.npy'))
        dataset = PreprocessedDataset(os.path.join(work, 'resized.txt'),
                                      os.path.join(work, 'resized'), mean,
                                      args.insize)
        iterator = chainer.iterators.MultiprocessIterator(
            dataset, args.batchsize, n_processes=args.loaderjob)
        converter = chainer.dataset.concat_examples
    else:
        pairs = listfile.read_list(os.path.join(work, 'original.txt'))
        mean = numpy.load(os.path.join(work, 'mean.npy'))
        dtype = numpy.float32 if config.endswith('32') else numpy.uint8
        cache = os.path.join(work, 'cache') if config.startswith('c') \
            else None
        dataset = ImageDataset(pairs, os.path.join(work, 'original'),
                               args.insize, preset='example', mean=mean,
                               train=True, cache=cache, dtype=dtype)
        iterator = make_iterator(dataset, args.batchsize, args.loaderjob)
        converter = dataset.converter
    n_batches = max(1, args.epochs * len(dataset) // args.batchsize)
    try:
        for _ in range(args.warmup):
            converter(next(iterator), None)
        start = time.perf_counter()
        for _ in range(n_batches):
            x, t = converter(next(iterator), None)
        elapsed = time.perf_counter() - start
        assert x.shape == (args.batchsize, 3, args.insize, args.insize)
        assert x.dtype == numpy.float32
    finally:
        iterator.finalize()
    return {
        'rate': n_batches * args.batchsize / elapsed,
        'main_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'worker_mb': resource.getrusage(
            resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_in_child(config, args):
    command = [sys.executable, os.path.abspath(__file__), '--run', config,
               '--workdir', args.workdir, '--batchsize', str(args.batchsize),
               '--loaderjob', str(args.loaderjob), '--insize',
               str(args.insize), '--epochs', str(args.epochs), '--warmup',
               str(args.warmup)]
    done = subprocess.run(command, stdout=subprocess.PIPE, check=True,
                          universal_newlines=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ main

def prepare(args):
    generate(args.workdir, args.images, args.loaderjob)
    work = args.workdir
    mean256 = os.path.join(work, 'mean256.npy')
    if not os.path.exists(mean256):
        mean, _, _ = compute_mean.compute_mean(
            listfile.read_list(os.path.join(work, 'resized.txt')),
            os.path.join(work, 'resized'), BASELINE_SIDE, 'blog',
            args.loaderjob)
        numpy.save(mean256, mean)
    start = time.perf_counter()
    mean, loaded, failed = compute_mean.compute_mean(
        listfile.read_list(os.path.join(work, 'original.txt')),
        os.path.join(work, 'original'), args.insize, 'example',
        args.loaderjob, cache=os.path.join(work, 'cache'))
    build = time.perf_counter() - start
    numpy.save(os.path.join(work, 'mean.npy'), mean)
    return build, len(loaded), failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Feeder throughput against Chainer\'s example pipeline.')
    parser.add_argument('--images', type=int, default=3000)
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--loaderjob', '-j', type=int, default=2)
    parser.add_argument('--insize', type=int, default=227)
    parser.add_argument('--epochs', type=int, default=1,
                        help='epochs measured per round (default 1)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='batches before timing starts')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--configs', default='a,b,c,b32,c32',
                        help='which rows to run (default %(default)s)')
    parser.add_argument('--workdir', default=os.path.join(
        tempfile.gettempdir(), 'chainer-fashion-cnn-bench'))
    parser.add_argument('--run', choices=sorted(CONFIGS),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(run_one(args.run, args)))
        return 0

    configs = [c for c in args.configs.split(',') if c]
    build, n_loaded, failed = prepare(args)
    print('images: {} ({} loaded, {} skipped), batch {}, {} workers, '
          'insize {}, {} CPUs, Python {}, NumPy {}, Pillow {}'.format(
              args.images, n_loaded, len(failed), args.batchsize,
              args.loaderjob, args.insize, os.cpu_count(),
              sys.version.split()[0], numpy.__version__,
              Image.__version__))
    print('cache build (compute_mean.py --cache, one pass, mean included): '
          '{:.1f} s, {:.0f} images/s'.format(build, n_loaded / build))
    best = {}
    for _ in range(args.rounds):
        for config in configs:
            result = run_in_child(config, args)
            if config not in best or result['rate'] > best[config]['rate']:
                best[config] = result
    width = max(len(v) for v in CONFIGS.values())
    row = '{:<' + str(width) + '}  {:>9}  {:>13}  {:>15}'
    print()
    print(row.format('pipeline', 'images/s', 'main peak MB',
                     'worker peak MB'))
    for config in configs:
        r = best[config]
        print(row.format(CONFIGS[config], '{:.0f}'.format(r['rate']),
                         '{:.0f}'.format(r['main_mb']),
                         '{:.0f}'.format(r['worker_mb'])))
    if 'c' in best or 'c32' in best:
        print('(worker peak of (c) counts the memory-mapped cache pages it '
              'touched: shared page cache, not private memory)')
    if 'a' in best:
        print()
        for config in configs:
            if config != 'a':
                print('({})/(a) = {:.2f}'.format(
                    config, best[config]['rate'] / best['a']['rate']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
