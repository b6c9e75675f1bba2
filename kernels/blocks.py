"""What the CPU kernels share: cache-sized chunks of work, and the test
of whether a call is theirs to compute."""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer.backends import intel64

# Bytes of data per chunk: each kernel measured fastest around 1 MiB (its
# scratch arrays stay in cache between passes, and there are few enough
# numpy calls per pass).
CHUNK_BYTES = 1 << 20


def chunks(total, size):
    """Slices of range(total), `size` at a time (the last may be short)."""
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def as_planes(a):
    """(N, C, H, W) as contiguous (N * C, H, W) planes."""
    return numpy.ascontiguousarray(a).reshape((-1,) + a.shape[2:])


def numpy_inputs(*values):
    """Whether every value (array, Variable or None) holds a NumPy array
    and iDeep is off: the kernels' case. CuPy, ChainerX and iDeep calls go
    to Chainer's own functions."""
    return (all(value is None or
                isinstance(getattr(value, 'array', value), numpy.ndarray)
                for value in values)
            and not intel64.should_use_ideep('>=auto'))
