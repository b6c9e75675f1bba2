"""Stacks of matrix products, a part of the stack on each core.

Winograd's layers make 16 or 36 products at a time, (K x C) times
(C x tiles) with C and K mostly 64-384: too small for OpenBLAS to share
one product between two threads well. Measured on 2 cores, a stack of 36
(96 x 64) x (64 x 1856) products ran at 70-98 GFLOP/s as numpy.matmul,
at 121-123 with each core taking half the stack and OpenBLAS on one
thread; larger ones (256 x 96, 224 x 224) 106-145 against 152-169. The
same holds for 1x1 layers' products, one an image (kernels/pointwise.py),
and for the chunks of kernels/patches.py and kernels/shifted.py,
whose copies NumPy runs on one core. So in_parts() tells OpenBLAS to use
one thread, gives a part of the work to each of as many worker threads as
OpenBLAS had, less one, and does the last part itself (NumPy lets go of
the GIL in its products and copies), then restores OpenBLAS's threads.
Where OpenBLAS's thread count cannot be set (no /proc/self/maps, another
BLAS) the caller does it all.
"""
import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import numpy

# Tests and benches switch it off to compare.
ENABLED = True

_state = None


def _openblas_threads():
    """(get, set) of the thread count of the OpenBLAS NumPy loaded, or
    None."""
    try:
        with open('/proc/self/maps') as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if 'openblas' in line.rsplit('/', 1)[-1]})
    except OSError:
        return None
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ('scipy_openblas', 'openblas'):
            for suffix in ('64_', ''):
                get = getattr(library, '{}_get_num_threads{}'.format(
                    prefix, suffix), None)
                set_ = getattr(library, '{}_set_num_threads{}'.format(
                    prefix, suffix), None)
                if get is not None and set_ is not None:
                    set_.argtypes = [ctypes.c_int]
                    return get, set_
    return None


def _ready():
    """(OpenBLAS's get and set, workers) once NumPy is loaded, or ()."""
    global _state
    if _state is None:
        control = _openblas_threads()
        _state = ((control, ThreadPoolExecutor(max(1, control[0]() - 1)))
                  if control else ())
    return _state


def _forget_workers():
    # A forked child (a data loader) has no worker threads: it makes its
    # own if it ever multiplies.
    global _state
    _state = None


os.register_at_fork(after_in_child=_forget_workers)


def parts(count):
    """How many parts in_parts() cuts `count` items into: one for each
    of OpenBLAS's threads, at most `count`, at least 1."""
    state = _ready() if ENABLED else ()
    return max(1, min(count, state[0][0]())) if state else 1


def balanced_chunk(items, chunk):
    """At most `chunk` items a chunk, in near-equal chunks whose number
    divides into parts(): each core's part of the chunks then holds as
    many items."""
    count = -(-items // chunk)
    share = parts(items)
    count = -(-count // share) * share
    return max(1, -(-items // count))


def in_parts(count, work):
    """work(index, part) for each of the parts() parts (slices) of
    range(count), at once on as many cores with OpenBLAS on one thread
    each; or work(0, slice(0, count)) alone where that cannot be done."""
    share = parts(count)
    if share < 2:
        work(0, slice(0, count))
        return
    (get_threads, set_threads), workers = _ready()
    threads = get_threads()
    bounds = [count * i // share for i in range(share + 1)]
    set_threads(1)
    try:
        others = [workers.submit(work, i, slice(bounds[i], bounds[i + 1]))
                  for i in range(share - 1)]
        try:
            work(share - 1, slice(bounds[-2], bounds[-1]))
        finally:
            for other in others:
                other.result()  # raises a worker's error, if any
    finally:
        set_threads(threads)


def matmul(a, b, out):
    """numpy.matmul(a, b, out=out) for stacks (E, m, k) and (E, k, n), a
    part of the stack on each core."""
    in_parts(len(out), lambda _, part: numpy.matmul(a[part], b[part],
                                                    out=out[part]))
    return out
