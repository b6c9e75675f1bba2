"""Near-identical images in different classes, by average hash.

The average hash of an image is 64 bits: the image in gray at 8x8, one bit
per pixel set when it is brighter than the mean. Copies of one photo
(re-encoded, rescaled, lightly edited) differ in a few bits.
"""
import numpy
from PIL import Image

HASH_SIDE = 8
DEFAULT_DISTANCE = 2

_POPCOUNT = numpy.array([bin(v).count('1') for v in range(256)],
                        dtype=numpy.uint8)


def average_hash(img):
    """64-bit average hash (Python int) of a Pillow image."""
    gray = img.convert('L').resize((HASH_SIDE, HASH_SIDE), Image.BOX)
    pixels = numpy.asarray(gray, dtype=numpy.float64).ravel()
    bits = pixels > pixels.mean()
    return int(numpy.packbits(bits).view('>u8')[0])


def hamming(a, b):
    """Bit distance between a uint64 array `a` and a uint64 `b`."""
    x = numpy.bitwise_xor(numpy.asarray(a, dtype=numpy.uint64),
                          numpy.uint64(b))
    return _POPCOUNT[x.view(numpy.uint8).reshape(x.shape + (8,))].sum(-1)


def near_pairs(hashes, max_distance=DEFAULT_DISTANCE):
    """Index pairs (i, j, distance), i < j, of hashes within max_distance.

    Two 64-bit hashes that differ in at most d bits agree exactly on at
    least one of d + 1 bit blocks, so only hashes sharing a block value
    are compared (no all-pairs pass over a large crawl).
    """
    hashes = numpy.asarray(hashes, dtype=numpy.uint64)
    n_blocks = max_distance + 1
    edges = numpy.linspace(0, 64, n_blocks + 1).astype(int)
    found = {}
    for low, high in zip(edges[:-1], edges[1:]):
        mask = numpy.uint64((1 << (high - low)) - 1)
        keys = (hashes >> numpy.uint64(low)) & mask
        order = numpy.argsort(keys, kind='stable')
        sorted_keys = keys[order]
        starts = numpy.flatnonzero(numpy.r_[True, sorted_keys[1:] !=
                                            sorted_keys[:-1]])
        ends = numpy.r_[starts[1:], len(order)]
        for start, end in zip(starts, ends):
            if end - start < 2:
                continue
            members = numpy.sort(order[start:end])
            for k, i in enumerate(members[:-1]):
                others = members[k + 1:]
                distance = hamming(hashes[others], hashes[i])
                for j, d in zip(others[distance <= max_distance],
                                distance[distance <= max_distance]):
                    found[(int(i), int(j))] = int(d)
    return sorted((i, j, d) for (i, j), d in found.items())


def cross_class_duplicates(pairs, hashes, max_distance=DEFAULT_DISTANCE):
    """[(path_a, path_b, distance)] of near-identical images whose labels
    differ; `hashes[k]` belongs to `pairs[k]` (None: not hashed)."""
    kept = [k for k, h in enumerate(hashes) if h is not None]
    result = []
    for a, b, d in near_pairs([hashes[k] for k in kept], max_distance):
        i, j = kept[a], kept[b]
        if pairs[i][1] != pairs[j][1]:
            result.append((pairs[i][0], pairs[j][0], d))
    return result
