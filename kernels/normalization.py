"""Local response normalization (AlexNet's LRN) on the CPU.

Same formulas as Chainer's LocalResponseNormalization::

    u = k + alpha * sum of x**2 over the n channels around each channel
    y = x * u**-beta
    gx = gy * u**-beta - 2 * alpha * beta * x * (window sum of y * gy / u)

but Chainer evaluates ``u ** -beta`` with ``numpy.power`` (about 20 times
slower than a square root) and makes several full-size temporaries. Here,
for beta = 0.75, u**-0.75 = sqrt(1/u) * sqrt(sqrt(1/u)); other betas fall
back to numpy.power. The work goes an image or a few at a time through
scratch buffers that stay in cache, and only y and 1/u are full-size (each
new full-size array costs page faults on top of its memory traffic).

Unlike Chainer's, the gradient has a gradient of its own (the same
formulas with Chainer's differentiable functions), so second-order
gradients go through this function too.
"""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer import function_node
from chainer import functions
from chainer.functions.normalization.local_response_normalization import (
    local_response_normalization as reference_local_response_normalization)
from chainer.utils import type_check

from kernels import blocks


class _ChannelWindow(object):
    """Sums over the channels c - n // 2 .. c + n // 2, a chunk at a time.

    That is 2 * (n // 2) + 1 channels, as in Chainer (n is rounded up to
    odd). The values go into the middle of a buffer with n // 2 zero
    channels on either side, so each term of the sum is one shifted slice.
    """

    def __init__(self, x3, n):
        self.half_n = n // 2
        self.channels = x3.shape[1]
        self.per_chunk = max(
            1, min(len(x3), blocks.CHUNK_BYTES // max(1, x3[0].nbytes)))
        self.bordered = numpy.zeros(
            (self.per_chunk, self.channels + 2 * self.half_n) + x3.shape[2:],
            dtype=x3.dtype)

    def chunks(self, n_images):
        return blocks.chunks(n_images, self.per_chunk)

    def scratch(self):
        """An uninitialized chunk-sized array."""
        return numpy.empty_like(self.terms(self.per_chunk))

    def terms(self, m):
        """Where to write the chunk's m images of the values to be summed."""
        return self.bordered[:m, self.half_n:self.half_n + self.channels]

    def sum(self, m, out):
        """out = window sums of what was written to terms(m)."""
        bordered, channels = self.bordered[:m], self.channels
        if self.half_n == 0:
            out[...] = bordered
            return out
        numpy.add(bordered[:, :channels], bordered[:, 1:channels + 1],
                  out=out)
        for j in range(2, 2 * self.half_n + 1):
            out += bordered[:, j:j + channels]
        return out


def _power(base, beta, out, scratch):
    """out = base ** beta, by square roots when beta is 0.75."""
    if beta == 0.75:
        numpy.sqrt(base, out=out)
        numpy.sqrt(out, out=scratch)
        out *= scratch
    else:
        numpy.power(base, beta, out=out)


def _as_3d(a):
    """(N, C, ...) as (N, C, rest): the channel window only sees axis 1."""
    return numpy.ascontiguousarray(a).reshape(a.shape[:2] + (-1,))


class LocalResponseNormalization(function_node.FunctionNode):
    """Cross-channel normalization of numpy arrays, as in AlexNet."""

    def __init__(self, n=5, k=2, alpha=1e-4, beta=.75):
        self.n, self.k, self.alpha, self.beta = n, k, alpha, beta

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 1)
        x_type, = in_types
        type_check.expect(x_type.dtype.kind == 'f', x_type.ndim >= 2)

    def forward_cpu(self, inputs):
        x, = inputs
        self.retain_inputs((0,))
        self.retain_outputs((0,))
        x3 = _as_3d(x)
        window = _ChannelWindow(x3, self.n)
        scale_buf, scratch = window.scratch(), window.scratch()
        y = numpy.empty_like(x3)
        # Only 1/u is kept for backward, which recomputes u**-beta from it:
        # cheaper than writing, and later reading, one more full array.
        self.inv_unit_scale = numpy.empty_like(x3)
        for part in window.chunks(len(x3)):
            m = part.stop - part.start
            scale, inv_u = scale_buf[:m], self.inv_unit_scale[part]
            numpy.square(x3[part], out=window.terms(m))
            window.sum(m, out=inv_u)
            inv_u *= self.alpha
            inv_u += self.k
            numpy.divide(1, inv_u, out=inv_u)
            _power(inv_u, self.beta, scale, scratch[:m])
            numpy.multiply(x3[part], scale, out=y[part])
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        x, = self.get_retained_inputs()
        y, = self.get_retained_outputs()
        gy, = grad_outputs
        grad = LocalResponseNormalizationGrad(
            self.n, self.k, self.alpha, self.beta, self.inv_unit_scale)
        return grad.apply((x, y, gy))


class LocalResponseNormalizationGrad(function_node.FunctionNode):
    """(x, y, gy) -> gx of LocalResponseNormalization."""

    def __init__(self, n, k, alpha, beta, inv_unit_scale):
        self.n = n
        self.k = k
        self.alpha = alpha
        self.beta = beta
        self.inv_unit_scale = inv_unit_scale

    def forward_cpu(self, inputs):
        self.retain_inputs((0, 1, 2))
        x, y, gy = (_as_3d(a) for a in inputs)
        window = _ChannelWindow(x, self.n)
        sums_buf, scale_buf, scratch = (
            window.scratch(), window.scratch(), window.scratch())
        gx = numpy.empty_like(x)
        coefficient = 2 * self.alpha * self.beta
        for part in window.chunks(len(x)):
            m = part.stop - part.start
            summand, sums, scale = window.terms(m), sums_buf[:m], scale_buf[:m]
            inv_u = self.inv_unit_scale[part]
            numpy.multiply(y[part], gy[part], out=summand)
            summand *= inv_u
            window.sum(m, out=sums)
            sums *= x[part]
            sums *= coefficient
            _power(inv_u, self.beta, scale, scratch[:m])
            numpy.multiply(gy[part], scale, out=gx[part])
            gx[part] -= sums
        return gx.reshape(inputs[0].shape),

    def backward(self, indexes, grad_outputs):
        """With v = 1/u, s = v**beta, S = window(y * gy * v) and the
        forward's gx = gy * s - 2 * alpha * beta * x * S, differentiated
        with respect to x (directly and through u), y and gy; u is
        recomputed from x so that the result is differentiable again."""
        x, y, gy = self.get_retained_inputs()
        ggx, = grad_outputs
        if ggx is None:
            return None, None, None
        half = self.n // 2
        coefficient = 2 * self.alpha * self.beta
        v = 1 / (self.k + self.alpha * _window_sum(x * x, half))
        s = v ** self.beta
        x_ggx = _window_sum(x * ggx, half)
        g_gy = ggx * s - coefficient * x_ggx * y * v
        g_y = -coefficient * x_ggx * gy * v
        g_u = (coefficient * x_ggx * y * v - self.beta * ggx * s) * gy * v
        g_x = (2 * self.alpha * x * _window_sum(g_u, half)
               - coefficient * ggx * _window_sum(y * gy * v, half))
        return g_x, g_y, g_gy


def _window_sum(a, half):
    """Sum over channels c - half .. c + half (zero past the ends), with
    Chainer's functions: differentiable."""
    channels = a.shape[1]
    widths = ((0, 0), (half, half)) + ((0, 0),) * (a.ndim - 2)
    padded = functions.pad(a, widths, 'constant')
    total = padded[:, :channels]
    for start in range(1, 2 * half + 1):
        total = total + padded[:, start:start + channels]
    return total


def local_response_normalization(x, n=5, k=2, alpha=1e-4, beta=.75):
    """Drop-in for ``chainer.functions.local_response_normalization``.

    numpy inputs use LocalResponseNormalization; anything else (GPU,
    ChainerX, iDeep) goes to Chainer's own function.
    """
    if not blocks.numpy_inputs(x):
        return reference_local_response_normalization(x, n, k, alpha, beta)
    return LocalResponseNormalization(n, k, alpha, beta).apply((x,))[0]
