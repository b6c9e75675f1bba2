"""The decoded-image cache: every image resized once, as uint8, in one file.

Decoding and resizing is most of the feeder's cost, so compute_mean.py
--cache DIR keeps, in the same pass that computes the mean, each loaded
image at its preset's stored size (see presets.Preset.stored_size). The
feeder then only crops, flips and normalises. Layout of DIR:

- images.u8   all images back to back, each uint8 (3, H, W), C order
- index.npy   int64 (N, 3): byte offset, H, W of each image
- list.txt    the cached images in the list format (path label)
- cache.json  preset, insize, count; written last, so a cache whose
              writing was interrupted is refused
"""
import json
import os

import numpy

from imagedata import listfile


class CacheError(ValueError):
    """A cache directory that cannot be used; str() names it."""


FORMAT_VERSION = 1
META = 'cache.json'
IMAGES = 'images.u8'
INDEX = 'index.npy'
LIST = 'list.txt'


class CacheWriter(object):
    """Appends stored-size uint8 images; close() makes the cache usable."""

    def __init__(self, directory, preset, insize):
        self.directory = directory
        self.preset = preset
        self.insize = int(insize)
        os.makedirs(directory, exist_ok=True)
        meta = os.path.join(directory, META)
        if os.path.exists(meta):
            os.remove(meta)  # the cache is invalid until closed again
        self._file = open(os.path.join(directory, IMAGES), 'wb')
        self._index = []
        self._pairs = []
        self._offset = 0

    def add(self, path, label, chw):
        if chw.dtype != numpy.uint8 or chw.ndim != 3 or chw.shape[0] != 3:
            raise ValueError('cache images are uint8 (3, H, W), got {} {}'
                             .format(chw.dtype, chw.shape))
        self._file.write(numpy.ascontiguousarray(chw).tobytes())
        self._index.append((self._offset, chw.shape[1], chw.shape[2]))
        self._pairs.append((path, label))
        self._offset += chw.nbytes

    def close(self):
        self._file.close()
        index = numpy.asarray(self._index, dtype=numpy.int64).reshape(-1, 3)
        numpy.save(os.path.join(self.directory, INDEX), index)
        listfile.write_list(os.path.join(self.directory, LIST), self._pairs)
        meta = {'format': FORMAT_VERSION, 'preset': self.preset,
                'insize': self.insize, 'count': len(self._pairs),
                'bytes': self._offset}
        with open(os.path.join(self.directory, META), 'w') as f:
            json.dump(meta, f, indent=1)
            f.write('\n')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self._file.close()


class ImageCache(object):
    """Read side. Picklable: worker processes reopen the memory map."""

    def __init__(self, directory):
        self.directory = directory
        meta_path = os.path.join(directory, META)
        if not os.path.isfile(meta_path):
            raise CacheError(
                '{}: not a finished image cache (no {}); build it with '
                'compute_mean.py --cache'.format(directory, META))
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get('format') != FORMAT_VERSION:
            raise CacheError('{}: cache format {} is not {}; rebuild it'
                             .format(directory, meta.get('format'),
                                     FORMAT_VERSION))
        self.preset = meta['preset']
        self.insize = meta['insize']
        self.index = numpy.load(os.path.join(directory, INDEX))
        pairs = listfile.read_list(os.path.join(directory, LIST)) \
            if meta['count'] else []
        if len(pairs) != len(self.index) or len(pairs) != meta['count']:
            raise CacheError('{}: index and list disagree; rebuild it'
                             .format(directory))
        self.paths = [path for path, _ in pairs]
        self._position = {path: k for k, path in enumerate(self.paths)}
        size = os.path.getsize(os.path.join(directory, IMAGES))
        if size != meta['bytes']:
            raise CacheError('{}: {} is {} bytes, expected {}; rebuild it'
                             .format(directory, IMAGES, size, meta['bytes']))
        self._data = None

    def __len__(self):
        return len(self.paths)

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_data'] = None  # a memmap would be pickled as a full copy
        return state

    def check(self, preset, insize):
        if (self.preset, self.insize) != (preset, insize):
            raise CacheError(
                '{}: cache holds preset {!r} at insize {}, the dataset wants '
                'preset {!r} at insize {}; rebuild it with compute_mean.py '
                '--preset {} --insize {} --cache'.format(
                    self.directory, self.preset, self.insize, preset, insize,
                    preset, insize))

    def position(self, path):
        """Where `path` (as written in the list) is in the cache, or None."""
        return self._position.get(path)

    def image(self, k):
        """The stored uint8 (3, H, W) image k, a view of the memory map."""
        if self._data is None:
            path = os.path.join(self.directory, IMAGES)
            if os.path.getsize(path) == 0:
                raise CacheError('{}: the cache is empty'.format(path))
            self._data = numpy.memmap(path, dtype=numpy.uint8, mode='r')
        offset, height, width = (int(v) for v in self.index[k])
        flat = self._data[offset:offset + 3 * height * width]
        return flat.reshape(3, height, width)
