"""ReLU and its gradient in compiled loops over both cores.

Chainer's CPU ReLU is numpy.maximum(x, 0), and its gradient gy * (y > 0)
makes a boolean array first and multiplies in a second pass: both on one
core. They run once per convolution in every network here (72 times a
GoogLeNet-BN step). These subclasses of Chainer's two nodes do each in
one parallel pass; kernels/__init__.py installs them as the names
chainer.functions.activation.relu looks up when it builds the nodes, so
every caller gets them, even L.MLPConvolution2D, which keeps its own
reference to F.relu. No fastmath: NaN goes through as in NumPy.
Small arrays, other dtypes and CuPy arrays take Chainer's own code.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import numpy

from chainer import function_node
from chainer.functions.activation import relu as chainer_relu

from kernels import blocks, compiled

reference_ReLU = chainer_relu.ReLU
reference_ReLUGrad2 = chainer_relu.ReLUGrad2

# Fewer values than this: NumPy's one pass beats starting the threads.
PARALLEL_FROM = 1 << 18


@compiled.jit(fastmath=False)
def _rectify(x, y):
    for i in compiled.prange(x.size):
        y[i] = x[i] if not x[i] <= 0 else 0  # NaN stays NaN


@compiled.jit(fastmath=False)
def _rectify_gradient(gy, y, gx):
    for i in compiled.prange(gy.size):
        gx[i] = gy[i] * (y[i] > 0)


@compiled.jit(fastmath=False)
def _rectify_gradient_planes(gy, y, gx):
    """The same on (N, C, H*W) arrays whose planes are contiguous but not
    the whole (a channel slice: the gradient of one branch of a
    concatenation, as in every Inception module)."""
    n, c, length = gy.shape
    for plane in compiled.prange(n * c):
        i, k = plane // c, plane % c
        for j in range(length):
            gx[i, k, j] = gy[i, k, j] * (y[i, k, j] > 0)


def _compiled_for(*arrays, planes=False):
    """Whether the compiled loops take these arrays: all contiguous, or
    with `planes` all 4-D with contiguous (H, W) planes."""
    first = arrays[0]
    return (compiled.enabled() and first.size >= PARALLEL_FROM
            and blocks.numpy_inputs(*arrays)
            and all(a.dtype == first.dtype and a.shape == first.shape
                    and (_contiguous_planes(a) if planes
                         else a.flags.c_contiguous) for a in arrays)
            and first.dtype in compiled.DTYPES)


def _contiguous_planes(a):
    return (a.ndim == 4 and a.strides[3] == a.itemsize
            and a.strides[2] == a.shape[3] * a.itemsize)


def _as_planes(a):
    return a.reshape(a.shape[:2] + (-1,))


class ReLU(reference_ReLU):
    """Chainer's ReLU, the forward pass compiled for large NumPy arrays."""

    def forward_cpu(self, inputs):
        x, = inputs
        if not _compiled_for(x):
            return super(ReLU, self).forward_cpu(inputs)
        y = numpy.empty_like(x)
        _rectify(x.reshape(-1), y.reshape(-1))
        self.retain_outputs((0,))
        return y,


class ReLUGrad2(reference_ReLUGrad2):
    """Chainer's ReLU gradient gy * (y > 0), compiled for large NumPy
    arrays. Its own gradient is again the module's ReLUGrad2."""

    def __init__(self, b):
        # Chainer's __init__ calls super() by the module's name, which is
        # this class once installed.
        function_node.FunctionNode.__init__(self)
        self.b = b

    def forward_cpu(self, inputs):
        gy, = inputs
        if _compiled_for(gy, self.b):
            gx = numpy.empty_like(gy)
            _rectify_gradient(gy.reshape(-1), self.b.reshape(-1),
                              gx.reshape(-1))
        elif _compiled_for(gy, self.b, planes=True):
            gx = numpy.empty(gy.shape, gy.dtype)
            _rectify_gradient_planes(_as_planes(gy), _as_planes(self.b),
                                     _as_planes(gx))
        else:
            return super(ReLUGrad2, self).forward_cpu(inputs)
        return gx,
