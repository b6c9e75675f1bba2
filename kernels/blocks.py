"""What the CPU kernels share: cache-sized chunks of work, the test of
whether a call is theirs to compute, and the frame of the two poolings."""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer import function_node
from chainer.backends import intel64
from chainer.utils import conv_nd

# Bytes of data per chunk: each kernel measured fastest around 1 MiB (its
# scratch arrays stay in cache between passes, and there are few enough
# numpy calls per pass).
CHUNK_BYTES = 1 << 20


def images_per_chunk(images, per_image, target):
    """Enough images to reach `target` (columns, tiles) in one product,
    at least one and at most all of them."""
    return max(1, min(images, -(-target // per_image)))


def view(array, shape):
    """`array` reshaped without a copy (a copy would lose writes)."""
    reshaped = array.reshape(shape)
    if not numpy.may_share_memory(reshaped, array):
        raise AssertionError('reshaping to {} copies'.format(shape))
    return reshaped


def chunks(total, size):
    """Slices of range(total), `size` at a time (the last may be short)."""
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def as_planes(a):
    """(N, C, H, W) as contiguous (N * C, H, W) planes."""
    return numpy.ascontiguousarray(a).reshape((-1,) + a.shape[2:])


def _plain_numpy(value):
    """Whether `value` (array, Variable or None) is None or holds a NumPy
    array in the standard layout."""
    if value is None:
        return True
    # A Variable with a memory layout refuses to hand out .array: ask first.
    if getattr(value, 'layout', None) is not None:
        return False
    return isinstance(getattr(value, 'array', value), numpy.ndarray)


def numpy_inputs(*values):
    """Whether every value (array, Variable or None) holds a NumPy array
    in the standard layout and iDeep is off: the kernels' case. CuPy,
    ChainerX, iDeep and other layouts go to Chainer's own functions."""
    return (all(_plain_numpy(value) for value in values)
            and not intel64.should_use_ideep('>=auto'))


class Pooling2D(function_node.FunctionNode):
    """A 2-D pooling of (N, C, H, W) arrays computed on their N * C planes:
    subclasses give pool(planes) and gradient() (their Pooling2DGrad)."""

    def __init__(self, ksize, stride=None, pad=0):
        self.ksize = conv_nd.as_tuple(ksize, 2)
        self.stride = conv_nd.as_tuple(ksize if stride is None else stride, 2)
        self.pad = conv_nd.as_tuple(pad, 2)

    def forward_cpu(self, inputs):
        x, = inputs
        self.in_shape, self.in_dtype = x.shape, x.dtype
        y = self.pool(as_planes(x))
        return y.reshape(x.shape[:2] + y.shape[1:]),

    def backward(self, indexes, grad_outputs):
        return self.gradient().apply(grad_outputs)


class Pooling2DGrad(function_node.FunctionNode):
    """The gradient of a Pooling2D: subclasses give unpool(gy planes), the
    input's gradient as planes."""

    def __init__(self, pooling):
        self.pooling = pooling

    def forward_cpu(self, inputs):
        gy, = inputs
        return self.unpool(as_planes(gy)).reshape(self.pooling.in_shape),
