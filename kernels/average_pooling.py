"""2-D average pooling on the CPU without Chainer's im2col.

Chainer's CPU average pooling copies every window into an
(N, C, kh, kw, oh, ow) array and averages it; its gradient tiles gy into an
array of the same size and scatters it back with col2im. Here a box filter
is separable: the kh rows of each window are summed first, then the kw
columns of those sums, each as a handful of whole-array numpy additions
over flat views (see _Grid), a chunk of channel planes at a time so that
the passes stay in cache. The gradient runs the same two passes
transposed. A global pool (one window per plane) is a plain mean.

Results match Chainer's to rounding: zero padding counts in the divisor
kh * kw, outputs follow cover_all=False, and input rows and columns past
the last window get no gradient.
"""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer.functions.pooling.average_pooling_2d import (
    average_pooling_2d as reference_average_pooling_2d)
from chainer.utils import conv
from chainer.utils import type_check

from kernels import blocks, stacked


class _Grid(object):
    """Where the windows fall in a padded plane.

    Each plane is zero-padded to (H, W) = (sy * hq, sx * wq), multiples of
    the stride. Flattened over a chunk of planes, the padded rows then come
    in groups of sy: output row g (of hq per plane) starts at row sy * g,
    and window row dy is row dy % sy of group g + dy // sy. Summing the kh
    window rows is thus kh additions of (groups, W) views (_window_sums),
    and the same holds for the kw columns of the row sums, grouped by sx.
    Output cells past (oh, ow) on the (hq, wq) grid collect padding or the
    next plane's values and are cut off.
    """

    def __init__(self, in_shape, ksize, stride, pad, dtype):
        (kh, kw), (sy, sx), (ph, pw) = ksize, stride, pad
        self.ksize, self.stride, self.pad = ksize, stride, pad
        self.h, self.w = h, w = in_shape[2:]
        self.planes = in_shape[0] * in_shape[1]
        self.oh = conv.get_conv_outsize(h, kh, sy, ph)
        self.ow = conv.get_conv_outsize(w, kw, sx, pw)
        assert self.oh > 0 and self.ow > 0, 'Output size must be positive.'
        self.hq = -(-(h + 2 * ph) // sy)
        self.wq = -(-(w + 2 * pw) // sx)
        self.H, self.W = sy * self.hq, sx * self.wq
        # float16 sums in float32, as Chainer's mean does.
        self.dtype = numpy.promote_types(dtype, numpy.float32)
        # Unpadded planes of the working dtype are read and written directly.
        self.unpadded = ((self.H, self.W) == (h, w) and
                         numpy.dtype(dtype) == self.dtype)
        plane_bytes = self.H * self.W * self.dtype.itemsize
        self.chunk = max(1, blocks.CHUNK_BYTES // plane_bytes)
        self.coefficient = 1.0 / (kh * kw)
        # One window covering each whole plane (a global pool): a plain mean.
        self.whole_plane = (kh, kw) == (h, w) and pad == (0, 0)

    def chunks(self):
        return blocks.chunks(self.planes, self.chunk)

    def buffers(self):
        """Per-chunk scratch: padded planes and the row sums."""
        padded = None
        if not self.unpadded:
            padded = numpy.zeros((self.chunk, self.H, self.W), self.dtype)
        return padded, numpy.empty((self.chunk * self.hq, self.W), self.dtype)

    def interior(self, padded):
        (ph, pw) = self.pad
        return padded[:, ph:ph + self.h, pw:pw + self.w]

    def row_groups(self, planes):
        return planes.reshape(-1, self.stride[0], self.W)

    def column_groups(self, row_sums):
        return row_sums.reshape(-1, self.stride[1])


def _window_sums(groups, sums, k, s):
    """sums[g] = sum over d < k of groups[g + d // s, d % s]."""
    for d in range(k):
        a, b = divmod(d, s)
        if d == 0:
            sums[...] = groups[:, 0]
        else:
            sums[:len(sums) - a] += groups[a:, b]


def _window_scatter(sums, groups, k, s):
    """Transpose of _window_sums: adds sums[g] to each of its k members."""
    if k < s:
        groups.fill(0)  # members no window reaches
    for d in range(k):
        a, b = divmod(d, s)
        if a == 0 and k >= s:
            groups[:, b] = sums  # the first k >= s offsets cover every member
        else:
            groups[a:, b] += sums[:len(sums) - a]


def _average_pool(grid, x_planes):
    y = numpy.empty((grid.planes, grid.oh, grid.ow), x_planes.dtype)
    if grid.whole_plane:
        sums = x_planes.sum(axis=(1, 2), dtype=grid.dtype)
        numpy.multiply(sums.reshape(y.shape), grid.coefficient, out=y,
                       casting='unsafe')
        return y
    (kh, kw), (sy, sx) = grid.ksize, grid.stride
    parts = list(grid.chunks())

    def chunks(_, share):  # a part of the chunks a core (kernels/stacked.py)
        padded_buf, row_sums_buf = grid.buffers()
        sums_buf = numpy.empty(grid.chunk * grid.hq * grid.wq, grid.dtype)
        for part in parts[share]:
            m = part.stop - part.start
            if grid.unpadded:
                planes = x_planes[part]
            else:
                planes = padded_buf[:m]
                grid.interior(planes)[...] = x_planes[part]
            row_sums = row_sums_buf[:m * grid.hq]
            _window_sums(grid.row_groups(planes), row_sums, kh, sy)
            sums = sums_buf[:m * grid.hq * grid.wq]
            _window_sums(grid.column_groups(row_sums), sums, kw, sx)
            sums = sums.reshape(m, grid.hq, grid.wq)[:, :grid.oh, :grid.ow]
            numpy.multiply(sums, grid.coefficient, out=y[part],
                           casting='unsafe')
    stacked.in_parts(len(parts), chunks)
    return y


def _average_pool_grad(grid, gy_planes, dtype):
    gx = numpy.empty((grid.planes, grid.h, grid.w), dtype)
    if grid.whole_plane:
        numpy.multiply(gy_planes, grid.coefficient, out=gx)  # broadcast
        return gx
    (kh, kw), (sy, sx) = grid.ksize, grid.stride
    parts = list(grid.chunks())

    def chunks(_, share):
        padded_buf, row_sums_buf = grid.buffers()
        # Cells past (oh, ow) stay zero, so they scatter nothing.
        gy_grid_buf = numpy.zeros((grid.chunk, grid.hq, grid.wq), grid.dtype)
        for part in parts[share]:
            m = part.stop - part.start
            gy_grid = gy_grid_buf[:m]
            numpy.multiply(gy_planes[part], grid.coefficient,
                           out=gy_grid[:, :grid.oh, :grid.ow])
            row_sums = row_sums_buf[:m * grid.hq]
            _window_scatter(gy_grid.reshape(-1), grid.column_groups(row_sums),
                            kw, sx)
            planes = gx[part] if grid.unpadded else padded_buf[:m]
            _window_scatter(row_sums, grid.row_groups(planes), kh, sy)
            if not grid.unpadded:
                gx[part] = grid.interior(planes)
    stacked.in_parts(len(parts), chunks)
    return gx


class AveragePooling2D(blocks.Pooling2D):
    """Spatial average pooling over (N, C, H, W) numpy arrays."""

    def check_type_forward(self, in_types):
        type_check.expect(
            in_types.size() == 1,
            in_types[0].dtype.kind == 'f',
            in_types[0].ndim == 4,
        )

    def pool(self, planes):
        self.grid = _Grid(self.in_shape, self.ksize, self.stride, self.pad,
                          self.in_dtype)
        return _average_pool(self.grid, planes)

    def gradient(self):
        return AveragePooling2DGrad(self)


class AveragePooling2DGrad(blocks.Pooling2DGrad):
    """Gradient of AveragePooling2D: gy / (kh * kw) over each window."""

    def unpool(self, gy_planes):
        return _average_pool_grad(self.pooling.grid, gy_planes,
                                  self.pooling.in_dtype)

    def backward(self, indexes, grad_outputs):
        # Average pooling is linear: its gradient's gradient is itself.
        pooling = self.pooling
        return AveragePooling2D(
            pooling.ksize, pooling.stride, pooling.pad).apply(grad_outputs)


def average_pooling_2d(x, ksize, stride=None, pad=0):
    """Drop-in for ``chainer.functions.average_pooling_2d``.

    numpy inputs use AveragePooling2D; anything else (GPU, ChainerX, iDeep)
    goes to Chainer's own function.
    """
    if not blocks.numpy_inputs(x):
        return reference_average_pooling_2d(x, ksize, stride, pad)
    return AveragePooling2D(ksize, stride, pad).apply((x,))[0]
