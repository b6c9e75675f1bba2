"""The feeder: a Chainer dataset of (float32 CHW image, int32 label) and
the iterator that loads it in worker processes.

Broken images met while training are reported once (stderr, by path) and
replaced by another sample; the flags live in shared memory, so the count
seen by the main process includes what the worker processes met.
"""
import multiprocessing
import os

import chainer
import numpy
from chainer.dataset import concat_examples

from imagedata import presets, reader
from imagedata.cache import ImageCache
from imagedata.reader import ImageReadError

# Bytes of shared memory per example beyond the image itself; Chainer's
# MultiprocessIterator falls back to pickling (slowly, with a warning) when
# an example does not fit.
SHARED_MEM_HEADROOM = 4096


class ImageDataset(chainer.dataset.DatasetMixin):
    """Images listed as (path, label) pairs under `root`, through a preset.

    pairs: the output of imagedata.listfile.read_list.
    preset: 'blog' or 'example' (see imagedata.presets).
    mean: float32 (3, insize, insize) or None (the 'example' preset only).
    train: random crop and flip ('example' preset) instead of the centre.
    cache: a directory written by compute_mean.py --cache (or an
        ImageCache); listed images missing from it are read from files.
    dtype: float32 gives the finished example. uint8 gives the crop before
        normalisation, a quarter of the bytes to hand from worker to main
        process; `converter` then finishes the batch (on the GPU if any).
    seed: seeds crops and flips (reproducible with n_processes=0).
    augment: None, or augment(uint8 crop, rng) -> uint8 crop, applied to
        training examples only (train=True) with the dataset's per-process
        generator, e.g. imagedata.erasing.RandomErasing.
    max_pixels: files of more pixels are refused (reported as broken).
    each_once: an unreadable image gives a black crop with its own label
        in its place (flagged in broken_mask()) instead of another image,
        so that an evaluation can leave it out and count every readable
        image once.
    """

    def __init__(self, pairs, root, insize, preset='blog', mean=None,
                 train=True, cache=None, dtype=numpy.float32, seed=None,
                 augment=None, max_pixels=reader.MAX_PIXELS,
                 each_once=False):
        self.pairs = [(str(path), int(label)) for path, label in pairs]
        self.root = root
        self.insize = int(insize)
        self.preset = presets.Preset(preset, self.insize, max_pixels)
        self.each_once = bool(each_once)
        self.mean = self.preset.check_mean(mean)
        self.train = bool(train)
        self.dtype = numpy.dtype(dtype)
        if self.dtype not in (numpy.float32, numpy.uint8):
            raise ValueError('dtype must be float32 or uint8, got {}'
                             .format(self.dtype))
        self.seed = seed
        self.augment = augment if self.train else None
        self._rng = None
        self._rng_pid = None
        # One flag per example, shared with forked/spawned workers.
        self._broken = multiprocessing.RawArray('b', max(1, len(self.pairs)))
        self.cache = None
        self._cache_position = None
        if cache is not None:
            self._attach_cache(cache)

    def _attach_cache(self, cache):
        if not isinstance(cache, ImageCache):
            cache = ImageCache(cache)
        cache.check(self.preset.name, self.insize)
        positions = [cache.position(path) for path, _ in self.pairs]
        self._cache_position = numpy.array(
            [-1 if k is None else k for k in positions], dtype=numpy.int64)
        self.cache = cache
        missing = int((self._cache_position < 0).sum())
        if missing:
            _warn('{} of {} listed images are not in the cache {}; they are '
                  'read from their files'.format(missing, len(self.pairs),
                                                 cache.directory))

    def __len__(self):
        return len(self.pairs)

    @property
    def example_nbytes(self):
        """Bytes of one example's image."""
        return 3 * self.insize * self.insize * self.dtype.itemsize

    @property
    def broken_count(self):
        """How many listed images failed to load so far (all processes)."""
        return int(numpy.count_nonzero(self._flags()))

    def _flags(self):
        flags = numpy.frombuffer(self._broken, dtype=numpy.int8)
        return flags[:len(self.pairs)]

    def broken_mask(self):
        """bool per listed image: it failed to load (so far)."""
        return self._flags() != 0

    def _random(self):
        # Forked workers inherit the parent's generator state: each
        # process makes its own, or every worker would crop alike.
        pid = os.getpid()
        if self._rng_pid != pid:
            if self.seed is None:
                self._rng = numpy.random.default_rng()
            else:
                worker = getattr(multiprocessing.current_process(),
                                 '_identity', ())
                self._rng = numpy.random.default_rng(
                    [self.seed] + list(worker))
            self._rng_pid = pid
        return self._rng

    def _crop(self, i, rng):
        if self._cache_position is not None:
            k = self._cache_position[i]
            if k >= 0:
                return self.preset.crop_stored(
                    self.cache.image(k), self.train, rng)
        path = os.path.join(self.root, self.pairs[i][0])
        return self.preset.crop_file(path, self.train, rng)

    def _report(self, i, error):
        if not self._broken[i]:
            self._broken[i] = 1
            _warn('{}; replaced by another sample'.format(error))

    def get_example(self, i):
        rng = self._random()
        n = len(self.pairs)
        if self.each_once:
            return self._example_or_placeholder(i, rng)
        for _ in range(n):
            if not self._broken[i]:
                try:
                    crop = self._crop(i, rng)
                    break
                except ImageReadError as e:
                    self._report(i, e)
            # Training draws a random replacement; evaluation the next one,
            # so that it stays deterministic.
            i = int(rng.integers(n)) if self.train else (i + 1) % n
        else:
            raise RuntimeError('none of the {} listed images under {} can be '
                               'read'.format(n, self.root))
        return self._finish(crop, i, rng)

    def _example_or_placeholder(self, i, rng):
        crop = None
        if not self._broken[i]:
            try:
                crop = self._crop(i, rng)
            except ImageReadError as e:
                self._broken[i] = 1
                _warn('{}; left out'.format(e))
        if crop is None:
            crop = numpy.zeros((3, self.insize, self.insize), numpy.uint8)
        return self._finish(crop, i, rng)

    def _finish(self, crop, i, rng):
        if self.augment is not None:
            crop = self.augment(crop, rng)
        label = numpy.int32(self.pairs[i][1])
        if self.dtype == numpy.uint8:
            return crop, label
        return presets.normalise(crop, self.mean), label

    @property
    def converter(self):
        """Converter for updaters/evaluators: concat_examples, then (for
        dtype uint8) float32 normalisation on the target device."""
        return BatchConverter(self.mean)


class BatchConverter(chainer.dataset.Converter):
    """concat_examples, then uint8 images become (x - mean) / 255."""

    def __init__(self, mean=None):
        self.mean = mean
        self._device_mean = {}

    def __call__(self, batch, device=None):
        x, t = concat_examples(batch, device)
        if x.dtype != numpy.uint8:
            return x, t
        mean = self.mean
        if mean is not None and not isinstance(x, numpy.ndarray):
            key = str(device)
            if key not in self._device_mean:
                self._device_mean[key] = chainer.backend.get_device_from_array(
                    x).send(mean)
            mean = self._device_mean[key]
        return presets.normalise(x, mean), t


def make_iterator(dataset, batchsize, n_processes, repeat=True, shuffle=True):
    """MultiprocessIterator over `dataset` with shared memory sized for its
    examples (so Chainer's "shared memory too small" fallback never
    triggers), or a SerialIterator when n_processes is 0."""
    if not n_processes:
        return chainer.iterators.SerialIterator(
            dataset, batchsize, repeat=repeat, shuffle=shuffle)
    nbytes = getattr(dataset, 'example_nbytes', None)
    shared_mem = nbytes + SHARED_MEM_HEADROOM if nbytes else None
    return chainer.iterators.MultiprocessIterator(
        dataset, batchsize, repeat=repeat, shuffle=shuffle,
        n_processes=n_processes, shared_mem=shared_mem)


def _warn(message):
    # os.write: a worker forked while another thread held sys.stderr's lock
    # would block forever on print().
    os.write(2, ('warning: ' + message + '\n').encode('utf-8', 'replace'))
