"""Batch normalization with fixed statistics (a BatchNormalization link at
test time) for inference: y = x * scale + shift per channel, one pass over
the data where Chainer's makes several full-size temporaries.

Only when no gradient can be asked for (chainer.no_backprop_mode, as
prediction and evaluation run): a graph that may be differentiated, and
anything but float32/float64 NCHW NumPy input on the default axes, goes to
Chainer's own function, so its gradients stay Chainer's.
"""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

import chainer
from chainer import function_node
from chainer.functions.normalization.batch_normalization import (
    fixed_batch_normalization as reference_fixed_batch_normalization)

from kernels import blocks


class FixedBatchNormalization(function_node.FunctionNode):
    """(x, gamma, beta, mean, var) -> gamma * (x - mean) / sqrt(var + eps)
    + beta, forward only (see applies())."""

    def __init__(self, eps):
        self.eps = eps

    def forward_cpu(self, inputs):
        x, gamma, beta, mean, var = inputs
        # The per-channel factors in float64, as Chainer's; one product
        # and one in-place sum over x, plane by plane through broadcasting.
        scale = gamma / numpy.sqrt(var.astype(numpy.float64) + self.eps)
        shift = beta - mean * scale
        channel = (1, -1, 1, 1)
        y = numpy.multiply(x, scale.astype(x.dtype).reshape(channel))
        y += shift.astype(x.dtype).reshape(channel)
        return y,


def applies(x, gamma, beta, mean, var, axis=None):
    values = (x, gamma, beta, mean, var)
    return (not chainer.config.enable_backprop
            and blocks.numpy_inputs(*values)
            and axis is None and x.ndim == 4
            and x.dtype in (numpy.float32, numpy.float64)
            and all(v.ndim == 1 and v.dtype == x.dtype and
                    v.shape[0] == x.shape[1] for v in values[1:]))


def fixed_batch_normalization(x, gamma, beta, mean, var, eps=2e-5,
                              axis=None):
    """Drop-in for ``chainer.functions.fixed_batch_normalization``."""
    if not applies(x, gamma, beta, mean, var, axis):
        return reference_fixed_batch_normalization(x, gamma, beta, mean, var,
                                                   eps=eps, axis=axis)
    return FixedBatchNormalization(eps).apply((x, gamma, beta, mean, var))[0]
