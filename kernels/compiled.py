"""Compiled loops (numba) for the passes NumPy runs on one core.

NumPy's copies and elementwise loops use one core; only its BLAS uses
both. Batch normalization's passes are such (the statistics and the
gradient's sums, then one multiply-add per value): a quarter of a DenseNet
step. With numba installed (the `numba` extra) they run here, in parallel
over channels, one pass each; without it, or with KERNELS_COMPILED=0 in
the environment, kernels/batch_normalization.py does the same work in
NumPy, and results agree up to summation order. kernels/winograd.py's
transforms are compiled with the same `jit` and switched by the same
flag (off, its layers go back to the patch matrix).

numba's OpenMP layer keeps its threads spinning after a loop, on the core
the next BLAS product needs; its own `workqueue` layer does not, and is
used unless NUMBA_THREADING_LAYER says otherwise. OpenBLAS's threads spin
too, unless kernels/openblas.py was imported before NumPy.
"""
import os

import numpy

try:
    import numba
except ImportError:  # the `numba` extra is not installed
    numba = None

# Whether callers use these loops; tests and benches also switch it off to
# run the NumPy path.
ENABLED = numba is not None and os.environ.get('KERNELS_COMPILED') != '0'


# The dtypes the compiled loops are written for (float16 has no arithmetic
# of its own here: its callers keep NumPy's or Chainer's code).
DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def enabled():
    return ENABLED


if numba is not None:
    if 'NUMBA_THREADING_LAYER' not in os.environ:
        numba.config.THREADING_LAYER = 'workqueue'
    prange = numba.prange

    def jit(function=None, fastmath=True, parallel=True):
        """Compiled, parallel over prange, cached beside the module.
        fastmath=False (as @jit(fastmath=False)) where infinities or NaN
        must behave as in NumPy; parallel=False for a loop called from
        inside another's prange or from kernels/stacked.py's threads
        (such a loop lets go of the GIL; numba's workqueue layer must not
        be entered by two threads at once)."""
        if function is None:
            return lambda f: jit(f, fastmath, parallel)
        return numba.njit(parallel=parallel, fastmath=fastmath,
                          nogil=not parallel, cache=True)(function)
else:
    prange = range

    def jit(function=None, fastmath=True, parallel=True):
        return function if function is not None else (lambda f: f)


@jit
def channel_moments(x):
    """Per-channel mean and biased variance of (N, C, L), in float64:
    the sum of squares is taken about the channel's mean (two passes)."""
    n, c, length = x.shape
    mean = numpy.zeros(c)
    var = numpy.zeros(c)
    count = n * length
    for k in prange(c):
        total = 0.0
        for i in range(n):
            for j in range(length):
                total += x[i, k, j]
        mean_k = total / count
        squares = 0.0
        for i in range(n):
            for j in range(length):
                d = x[i, k, j] - mean_k
                squares += d * d
        mean[k] = mean_k
        var[k] = squares / count
    return mean, var


@jit
def channel_sums(gy, x, mean):
    """Per channel of (N, C, L), in float64: sum(gy) and
    sum(gy * (x - mean))."""
    n, c, length = x.shape
    sums = numpy.zeros(c)
    dots = numpy.zeros(c)
    for k in prange(c):
        mean_k = mean[k]
        total = 0.0
        dot = 0.0
        for i in range(n):
            for j in range(length):
                g = gy[i, k, j]
                total += g
                dot += g * (x[i, k, j] - mean_k)
        sums[k] = total
        dots[k] = dot
    return sums, dots


@jit
def channel_affine(x, scale, shift, out):
    """out = x * scale + shift per channel of (N, C, L)."""
    n, c, length = x.shape
    for row in prange(n * c):
        i, k = row // c, row % c
        a, b = scale[k], shift[k]
        for j in range(length):
            out[i, k, j] = x[i, k, j] * a + b


@jit
def channel_weighted_sum(x, x_scale, y, y_scale, shift, out):
    """out = x * x_scale + y * y_scale + shift per channel of (N, C, L)."""
    n, c, length = x.shape
    for row in prange(n * c):
        i, k = row // c, row % c
        a, b, d = x_scale[k], y_scale[k], shift[k]
        for j in range(length):
            out[i, k, j] = x[i, k, j] * a + y[i, k, j] * b + d
