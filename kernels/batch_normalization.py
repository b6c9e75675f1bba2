"""Training-mode batch normalization on the CPU in a few passes over x.

Chainer's CPU batch normalization reduces an (N, C, H, W) array over axes
(0, 2, 3) with numpy's mean and var, which walk the array with a stride
and make several full-size temporaries (x - mean, its square, x_hat, the
scaled output and a final copy). Here x is viewed as N * C contiguous rows
of H * W values, one per (sample, channel), and worked through a cache-
sized block of rows at a time: row sums and row dot products are BLAS
matrix-vector products, each row's variance is taken about its own mean
(as precise as numpy's two-pass var), and the rows are combined per channel
in float64. The output is then one multiply-add per row, y = x * scale +
shift, and the gradient likewise gx = gy * a + x * b + c per channel.
With numba (kernels/compiled.py) each of those steps is instead one
compiled pass, parallel over channels: the statistics (two passes about
the channel's mean), the gradient's two sums, and each multiply-add.

Only float32/float64 NCHW input with gamma and beta of the same dtype and
the default axis takes this path; everything else (other axes or ranks,
mixed precision, iDeep, GPU, ChainerX, a batch of one value per channel)
goes to Chainer's own function. Running statistics are updated in place
with Chainer's formulas, the variance scaled by m / (m - 1). Second-order
gradients are Chainer's formulas written with its differentiable functions.
"""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer import function_node
from chainer import functions
from chainer.functions.normalization.batch_normalization import (
    batch_normalization as reference_batch_normalization)
from chainer.utils import argument
from chainer.utils import type_check

from kernels import blocks, compiled
# Below this row length one batched BLAS dot per row costs more than
# squaring the block in place and summing with a matrix-vector product.
_BATCHED_DOT_MIN = 128


class _Rows(object):
    """An (N, C, H, W) array as N * C rows of H * W, in blocks of rows."""

    def __init__(self, shape, dtype):
        self.n, self.c = shape[:2]
        self.count = self.n * self.c
        self.length = shape[2] * shape[3]
        self.dtype = numpy.dtype(dtype)
        row_bytes = self.length * self.dtype.itemsize
        self.chunk = max(1, blocks.CHUNK_BYTES // row_bytes)
        self.ones = numpy.ones(self.length, self.dtype)

    def scratch(self):
        return numpy.empty((min(self.chunk, self.count), self.length),
                           self.dtype)

    def view(self, a):
        return numpy.ascontiguousarray(a).reshape(self.count, self.length)

    def per_channel(self, rows):
        """The rows as (N, C, H * W), as kernels/compiled.py takes them."""
        return rows.reshape(self.n, self.c, self.length)

    def blocks(self):
        return blocks.chunks(self.count, self.chunk)

    def per_row(self, per_channel):
        """A per-channel vector repeated for each sample, as a column."""
        return numpy.tile(per_channel.astype(self.dtype), self.n)[:, None]

    def per_channel_sum(self, per_row):
        return per_row.reshape(self.n, self.c).sum(axis=0, dtype=numpy.float64)

    def sums(self, block, out):
        numpy.matmul(block, self.ones, out=out)

    def dots(self, a, b, out):
        """out[r] = a[r] . b[r]; b is scratch and may be overwritten."""
        if self.length >= _BATCHED_DOT_MIN:
            numpy.matmul(a[:, None, :], b[:, :, None],
                         out=out.reshape(-1, 1, 1))
        else:
            numpy.multiply(b, a, out=b)
            numpy.matmul(b, self.ones, out=out)


def _batch_mean_and_var(rows, x):
    """Per-channel mean and (biased) variance in float64.

    Each row's sum of squares is about the row's own mean, and the rows of
    a channel are combined with the between-row term
    length * sum((row_mean - mean) ** 2), so no large values cancel.
    """
    sums = numpy.empty(rows.count, rows.dtype)
    squares = numpy.empty(rows.count, rows.dtype)
    inv_length = 1.0 / rows.length
    scratch = rows.scratch()
    for part in rows.blocks():
        block = x[part]
        rows.sums(block, sums[part])
        centered = scratch[:len(block)]
        numpy.subtract(block, (sums[part] * inv_length)[:, None], out=centered)
        rows.dots(centered, centered, squares[part])
    row_means = (sums.astype(numpy.float64) * inv_length).reshape(rows.n, -1)
    mean = row_means.mean(axis=0)
    spread = ((row_means - mean) ** 2).sum(axis=0) * rows.length
    var = (rows.per_channel_sum(squares) + spread) / (rows.n * rows.length)
    return mean, var


def _multiply_add(rows, x, scale, shift, out):
    """out = x * scale + shift, per row, a block at a time."""
    scale, shift = rows.per_row(scale), rows.per_row(shift)
    for part in rows.blocks():
        numpy.multiply(x[part], scale[part], out=out[part])
        out[part] += shift[part]


def _gradient_sums(rows, x, gy, bn):
    """Per-channel sum(gy) and sum(gy * x_hat), float64."""
    mean_rows = rows.per_row(bn.mean)
    gy_sums = numpy.empty(rows.count, rows.dtype)
    gy_dots = numpy.empty(rows.count, rows.dtype)
    scratch = rows.scratch()
    for part in rows.blocks():
        centered = scratch[:part.stop - part.start]
        numpy.subtract(x[part], mean_rows[part], out=centered)
        rows.sums(gy[part], gy_sums[part])
        rows.dots(gy[part], centered, gy_dots[part])
    return (rows.per_channel_sum(gy_sums),
            rows.per_channel_sum(gy_dots) * bn.inv_std)


def _gradient_affine(rows, x, gy, x_scale, gy_scale, shift, out):
    """out = x * x_scale + gy * gy_scale + shift, per row."""
    gy_scale, x_scale = rows.per_row(gy_scale), rows.per_row(x_scale)
    shift = rows.per_row(shift)
    scratch = rows.scratch()
    for part in rows.blocks():
        scaled_x = scratch[:part.stop - part.start]
        numpy.multiply(x[part], x_scale[part], out=scaled_x)
        numpy.multiply(gy[part], gy_scale[part], out=out[part])
        out[part] += scaled_x
        out[part] += shift[part]


class BatchNormalization(function_node.FunctionNode):
    """Batch normalization of (N, C, H, W) numpy arrays over (0, 2, 3)."""

    def __init__(self, eps=2e-5, mean=None, var=None, decay=0.9):
        self.eps = eps
        self.running_mean = mean
        self.running_var = var
        self.decay = decay

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 3)
        x_type, gamma_type, beta_type = in_types
        type_check.expect(
            x_type.dtype.kind == 'f',
            x_type.ndim == 4,
            gamma_type.dtype == x_type.dtype,
            beta_type.dtype == x_type.dtype,
            gamma_type.ndim == 1,
            gamma_type.shape == beta_type.shape,
            gamma_type.shape[0] == x_type.shape[1],
        )

    def forward_cpu(self, inputs):
        # gamma is an input of the gradient node, whose own gradient
        # (second order) depends on it.
        self.retain_inputs((0, 1))
        x, gamma, beta = inputs
        self.rows = rows = _Rows(x.shape, x.dtype)
        x_rows = rows.view(x)
        fused = compiled.enabled()
        if fused:
            mean, var = compiled.channel_moments(rows.per_channel(x_rows))
        else:
            mean, var = _batch_mean_and_var(rows, x_rows)
        self.mean = mean
        self.inv_std = 1.0 / numpy.sqrt(var + self.eps)
        self.gamma = gamma.astype(numpy.float64)
        scale = self.gamma * self.inv_std
        shift = beta - mean * scale
        y = numpy.empty_like(x_rows)
        if fused:
            compiled.channel_affine(
                rows.per_channel(x_rows), scale.astype(x.dtype),
                shift.astype(x.dtype), rows.per_channel(y))
        else:
            _multiply_add(rows, x_rows, scale, shift, y)
        if self.running_mean is not None:
            self._update_running_statistics(mean, var, x.size // gamma.size)
        return y.reshape(x.shape),

    def _update_running_statistics(self, mean, var, m):
        # Chainer's own update, on statistics of x's dtype.
        adjust = m / max(m - 1., 1.)
        decay = self.decay
        mean = mean.astype(self.running_mean.dtype)
        var = var.astype(self.running_var.dtype)
        self.running_mean *= decay
        self.running_mean += (1 - decay) * mean
        self.running_var *= decay
        self.running_var += (1 - decay) * adjust * var

    def backward(self, indexes, grad_outputs):
        x, gamma = self.get_retained_inputs()
        return BatchNormalizationGrad(self).apply((x, gamma, grad_outputs[0]))


class BatchNormalizationGrad(function_node.FunctionNode):
    """(x, gamma, gy) -> gradients of BatchNormalization with respect to
    x, gamma and beta.

    With x_hat = (x - mean) * inv_std and m values per channel:
    gbeta = sum(gy), ggamma = sum(gy * x_hat) and
    gx = gamma * inv_std * (gy - (x_hat * ggamma + gbeta) / m).
    """

    def __init__(self, normalization):
        self.normalization = normalization

    def forward_cpu(self, inputs):
        self.retain_inputs((0, 1, 2))
        self.retain_outputs((1, 2))
        x, _, gy = inputs  # gamma: bn.gamma, already in float64
        bn = self.normalization
        rows = bn.rows
        x_rows, gy_rows = rows.view(x), rows.view(gy)
        fused = compiled.enabled()
        if fused:
            gbeta, gy_dots = compiled.channel_sums(
                rows.per_channel(gy_rows), rows.per_channel(x_rows), bn.mean)
            ggamma = gy_dots * bn.inv_std
        else:
            gbeta, ggamma = _gradient_sums(rows, x_rows, gy_rows, bn)

        m = rows.n * rows.length
        gy_scale = bn.gamma * bn.inv_std
        x_scale = -gy_scale * ggamma * bn.inv_std / m
        shift = -gy_scale * gbeta / m - x_scale * bn.mean
        gx = numpy.empty_like(x_rows)
        dtype = rows.dtype
        if fused:
            compiled.channel_weighted_sum(
                rows.per_channel(x_rows), x_scale.astype(dtype),
                rows.per_channel(gy_rows), gy_scale.astype(dtype),
                shift.astype(dtype), rows.per_channel(gx))
        else:
            _gradient_affine(rows, x_rows, gy_rows, x_scale, gy_scale, shift,
                             gx)
        return (gx.reshape(x.shape), ggamma.astype(dtype),
                gbeta.astype(dtype))

    def backward(self, indexes, grad_outputs):
        """Chainer's BatchNormalizationGrad.backward (the batch mean and
        inv_std enter as constants there too), except that the gradient
        for gamma is not gx's share divided by gamma; per-channel values
        are kept as (1, C, 1, 1) to broadcast."""
        x, gamma, gy = self.get_retained_inputs()
        ggamma, gbeta = self.get_retained_outputs()
        ggx, gggamma, ggbeta = grad_outputs
        bn, dtype = self.normalization, x.dtype
        channels = (1, -1, 1, 1)
        mean = bn.mean.astype(dtype).reshape(channels)
        inv_std = bn.inv_std.astype(dtype).reshape(channels)
        inv_m = 1.0 / (x.size // gamma.size)
        gamma, ggamma, gbeta = (
            v.reshape(channels) for v in (gamma, ggamma, gbeta))
        ggx = numpy.zeros(x.shape, dtype) if ggx is None else ggx
        gggamma, ggbeta = (
            numpy.zeros(gamma.shape, dtype) if g is None
            else g.reshape(channels) for g in (gggamma, ggbeta))

        def total(a):
            return functions.sum(a, axis=(0, 2, 3), keepdims=True)

        x_hat = (x - mean) * inv_std
        gy_scale = gamma * inv_std
        # gx divided by gamma: gamma may be zero.
        gx_per_gamma = inv_std * (gy - (x_hat * ggamma + gbeta) * inv_m)
        ggamma2 = total(ggx * gx_per_gamma)
        gggamma2 = gggamma - gy_scale * inv_m * total(x_hat * ggx)
        ggbeta2 = ggbeta - gy_scale * inv_m * total(ggx)
        ggy2 = gggamma2 * x_hat + ggbeta2 + gy_scale * ggx
        gx_hat2 = gggamma2 * gy - gy_scale * inv_m * ggamma * ggx
        ginv_std2 = -inv_std * (gamma * ggamma2 + total(x_hat * gx_hat2))
        gmean2 = -inv_std * total(gx_hat2)
        gx2 = inv_std * gx_hat2 + (gmean2 + x_hat * ginv_std2) * inv_m
        return gx2, ggamma2.reshape(-1), ggy2


def _is_default_axis(axis):
    return axis is None or tuple(numpy.atleast_1d(axis)) == (0, 2, 3)


def batch_normalization(x, gamma, beta, **kwargs):
    """Drop-in for ``chainer.functions.batch_normalization``.

    4-D float32/float64 numpy input normalized over the default axes uses
    BatchNormalization; anything else goes to Chainer's own function.
    """
    eps, running_mean, running_var, decay, axis = argument.parse_kwargs(
        kwargs, ('eps', 2e-5), ('running_mean', None),
        ('running_var', None), ('decay', 0.9), ('axis', None),
        train='train argument is not supported anymore. '
        'Use chainer.using_config')
    ours = (blocks.numpy_inputs(x, gamma, beta, running_mean, running_var)
            and x.ndim == 4 and gamma.ndim == 1 and _is_default_axis(axis)
            and x.dtype in (numpy.float32, numpy.float64)
            and gamma.dtype == x.dtype and beta.dtype == x.dtype
            and x.size > x.shape[1]  # more than one value per channel
            and (running_mean is None) == (running_var is None))
    if not ours:
        return reference_batch_normalization(
            x, gamma, beta, eps=eps, running_mean=running_mean,
            running_var=running_var, decay=decay, axis=axis)
    return BatchNormalization(eps, running_mean, running_var, decay).apply(
        (x, gamma, beta))[0]
