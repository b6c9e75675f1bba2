"""2-D max pooling on the CPU without Chainer's im2col.

Chainer's CPU max pooling copies every window into an (N, C, kh, kw, oh, ow)
array, takes the argmax over it and scatters the gradient back with col2im.
Here each window offset is one pass of ``numpy.maximum`` over a shifted view
of the input (see _Windows), keeping only the winning offset (int8), and the
gradient goes back with one masked add per offset. The work is done a chunk
of channel planes at a time so that the repeated passes hit the cache.
With numba (kernels/compiled.py) the gradient is instead one compiled pass
per plane, in parallel over planes, that adds each gy to the input its
window's max came from: 2x faster than the masked adds. (A compiled forward
pass, fused or per element, measured 1.5-3x slower than NumPy's passes.)

Results equal Chainer's, ties included: the first offset in row-major
(dy, dx) order wins, as ``argmax`` picks it. NaN inputs and non-finite
upstream gradients are outside that promise (masks are applied by
multiplication, which is far faster than masked copies on random masks).
"""
import chainer_compat  # noqa: F401  (must precede chainer)
import numpy

from chainer import function_node
from chainer.functions.pooling.max_pooling_nd import (
    max_pooling_2d as reference_max_pooling_2d)
from chainer.utils import conv
from chainer.utils import type_check

from kernels import blocks, compiled, stacked
from kernels.blocks import as_planes


class _Windows(object):
    """How the kh * kw pooling windows fall in the input.

    The padded input is split into sy * sx stride phases, phase (py, px)
    holding padded[py::sy, px::sx] as an (hq, wq) plane. Window offset
    (dy, dx) then reads phase (dy % sy, dx % sx) shifted by
    (dy // sy, dx // sx), and with outputs laid out on the same (hq, wq)
    grid that shift is a constant in the flattened arrays: every pass over
    a chunk of planes is a single one-dimensional numpy operation instead of
    one call per output row. The cells of the grid past (oh, ow) only ever
    see padding or zeros and are cut off at the end.
    """

    def __init__(self, in_shape, ksize, stride, pad, cover_all):
        kh, kw = ksize
        sy, sx = stride
        ph, pw = pad
        self.h, self.w = h, w = in_shape[2:]
        self.planes = in_shape[0] * in_shape[1]
        self.oh = conv.get_conv_outsize(h, kh, sy, ph, cover_all)
        self.ow = conv.get_conv_outsize(w, kw, sx, pw, cover_all)
        assert self.oh > 0 and self.ow > 0, 'Output size must be positive.'
        self.hq = self.oh + (kh - 1) // sy
        self.wq = self.ow + (kw - 1) // sx
        self.n_phases = sy * sx
        self.offsets = [
            (dy * kw + dx, (dy % sy) * sx + dx % sx,
             (dy // sy) * self.wq + dx // sx)
            for dy in range(kh) for dx in range(kw)]
        self.index_dtype = numpy.dtype(
            numpy.int8 if kh * kw <= 127 else numpy.int32)
        # Input rows/columns past the last window (cover_all=False) are
        # never pooled and get no gradient.
        used_h = max(0, min(h, sy * self.hq - ph))
        used_w = max(0, min(w, sx * self.wq - pw))
        self.spans = []  # (phase, grid cells, input positions)
        for py in range(sy):
            rows = _phase_span(py, sy, ph, used_h)
            for px in range(sx):
                cols = _phase_span(px, sx, pw, used_w)
                if rows and cols:
                    self.spans.append((py * sx + px,
                                       (slice(None), rows[0], cols[0]),
                                       (slice(None), rows[1], cols[1])))
        plane_bytes = self.n_phases * self.hq * self.wq * 4
        self.chunk = max(1, blocks.CHUNK_BYTES // plane_bytes)

    def chunks(self):
        return blocks.chunks(self.planes, self.chunk)

    def grid(self, m, dtype):
        return numpy.empty((m, self.hq, self.wq), dtype=dtype)

    def split(self, planes, phases, fill):
        """Copies each stride phase of (padded) `planes` into `phases`."""
        phases.fill(fill)
        for phase, grid_part, planes_part in self.spans:
            phases[phase][grid_part] = planes[planes_part]

    def merge(self, phases, planes):
        """Inverse of split for the positions inside the input."""
        for phase, grid_part, planes_part in self.spans:
            planes[planes_part] = phases[phase][grid_part]

    def shifted(self, phases, grid, phase, shift):
        """Flat views for one offset: (phase data, the grid cells it meets)."""
        n = grid.size - shift
        return (phases[phase].reshape(-1)[shift:shift + n],
                grid.reshape(-1)[:n])

    def buffers(self, dtype):
        """Per-chunk scratch: phases, a bool grid and a `dtype` grid."""
        return (numpy.empty((self.n_phases, self.chunk, self.hq, self.wq),
                            dtype=dtype),
                self.grid(self.chunk, bool), self.grid(self.chunk, dtype))


def _phase_span(phase, stride, pad, used):
    """(phase-plane slice, input slice) of the input positions in a phase."""
    first = -(-(pad - phase) // stride) if pad > phase else 0
    start = stride * first + phase - pad
    count = len(range(start, used, stride))
    if count == 0:
        return None
    return (slice(first, first + count),
            slice(start, start + stride * (count - 1) + 1, stride))


def _max_pool(windows, x_planes):
    """Max of every window, and the offset that first reached it. Each
    core takes a part of the chunks (kernels/stacked.py)."""
    y = numpy.empty((windows.planes, windows.oh, windows.ow), x_planes.dtype)
    indexes = windows.grid(windows.planes, windows.index_dtype)
    parts = list(windows.chunks())

    def chunks(_, share):
        phase_buf, mask_buf, y_grid_buf = windows.buffers(x_planes.dtype)
        step_buf = windows.grid(windows.chunk, windows.index_dtype)
        for part in parts[share]:
            m = part.stop - part.start
            phases, y_grid = phase_buf[:, :m], y_grid_buf[:m]
            idx = indexes[part]
            windows.split(x_planes[part], phases, -numpy.inf)
            idx.fill(0)
            for offset, phase, shift in windows.offsets:
                src, dst = windows.shifted(phases, y_grid, phase, shift)
                if offset == 0:
                    dst[...] = src
                    continue
                mask = mask_buf[:m].reshape(-1)[:dst.size]
                step = step_buf[:m].reshape(-1)[:dst.size]
                flat_idx = idx.reshape(-1)[:dst.size]
                # Strictly greater keeps the earliest offset on ties;
                # offsets only grow, so a running max of (mask * offset)
                # is the argmax.
                numpy.greater(src, dst, out=mask)
                numpy.maximum(dst, src, out=dst)
                numpy.multiply(mask, idx.dtype.type(offset), out=step)
                numpy.maximum(flat_idx, step, out=flat_idx)
            y[part] = y_grid[:, :windows.oh, :windows.ow]
    stacked.in_parts(len(parts), chunks)
    return y, indexes


def _add_picked(windows, indexes, phases, grid, to_phases, buffers):
    """Adds grid cells into phases (or the reverse) at recorded offsets."""
    mask_buf, picked_buf = buffers
    m = indexes.shape[0]
    for offset, phase, shift in windows.offsets:
        phase_view, grid_view = windows.shifted(phases, grid, phase, shift)
        src, dst = ((grid_view, phase_view) if to_phases
                    else (phase_view, grid_view))
        mask = mask_buf[:m].reshape(-1)[:src.size]
        picked = picked_buf[:m].reshape(-1)[:src.size]
        numpy.equal(indexes.reshape(-1)[:src.size], offset, out=mask)
        numpy.multiply(src, mask, out=picked)
        # Windows overlap when stride < ksize, so this must accumulate.
        dst += picked


def _take(windows, x_planes, indexes):
    """Every window's element at its recorded offset (zeros for padding)."""
    y = numpy.empty((windows.planes, windows.oh, windows.ow), x_planes.dtype)
    phase_buf, mask_buf, picked_buf = windows.buffers(x_planes.dtype)
    y_grid_buf = windows.grid(windows.chunk, x_planes.dtype)
    for part in windows.chunks():
        m = part.stop - part.start
        windows.split(x_planes[part], phase_buf[:, :m], 0)
        y_grid = y_grid_buf[:m]
        y_grid.fill(0)
        _add_picked(windows, indexes[part], phase_buf[:, :m], y_grid, False,
                    (mask_buf, picked_buf))
        y[part] = y_grid[:, :windows.oh, :windows.ow]
    return y


def _scatter(windows, gy_planes, indexes, dtype):
    """Adds each gy[o] to the input position its window's max came from."""
    gx = numpy.zeros((windows.planes, windows.h, windows.w), dtype=dtype)
    phase_buf, mask_buf, picked_buf = windows.buffers(dtype)
    # The cells past (oh, ow) stay zero, so they add nothing.
    gy_grid_buf = numpy.zeros_like(picked_buf)
    for part in windows.chunks():
        m = part.stop - part.start
        gy_grid, phases = gy_grid_buf[:m], phase_buf[:, :m]
        gy_grid[:, :windows.oh, :windows.ow] = gy_planes[part]
        phases.fill(0)
        _add_picked(windows, indexes[part], phases, gy_grid, True,
                    (mask_buf, picked_buf))
        windows.merge(phases, gx[part])
    return gx


@compiled.jit(fastmath=False)
def _scatter_compiled(gy, indexes, gx, ksize, stride, pad):
    """_scatter in parallel over planes. Outputs go last to first: an
    input then receives its gradients in the order of the offsets they
    come through, as in Chainer's col2im, so the sums agree to the bit."""
    planes, h, w = gx.shape
    kw = ksize[1]
    sy, sx = stride
    oh, ow = gy.shape[1:]
    for p in compiled.prange(planes):
        gx[p] = 0
        for oy in range(oh - 1, -1, -1):
            for ox in range(ow - 1, -1, -1):
                offset = indexes[p, oy, ox]
                iy = oy * sy - pad[0] + offset // kw
                ix = ox * sx - pad[1] + offset % kw
                # A window of padding only has no input to send it to.
                if 0 <= iy < h and 0 <= ix < w:
                    gx[p, iy, ix] += gy[p, oy, ox]


def _compiled_for(planes):
    return (compiled.enabled() and planes.dtype in compiled.DTYPES
            and planes.flags.c_contiguous)


class MaxPooling2D(blocks.Pooling2D):
    """Spatial max pooling over (N, C, H, W) numpy arrays."""

    def __init__(self, ksize, stride=None, pad=0, cover_all=True):
        super(MaxPooling2D, self).__init__(ksize, stride, pad)
        self.cover_all = cover_all

    def check_type_forward(self, in_types):
        type_check.expect(
            in_types.size() == 1,
            in_types[0].dtype.kind == 'f',
            in_types[0].ndim == 4,
            in_types[0].size > 0,
        )

    def pool(self, planes):
        self.windows = _Windows(
            self.in_shape, self.ksize, self.stride, self.pad, self.cover_all)
        y, self.indexes = _max_pool(self.windows, planes)
        return y

    def gradient(self):
        return MaxPooling2DGrad(self)


class MaxPooling2DGrad(blocks.Pooling2DGrad):
    """Gradient of MaxPooling2D: gy routed to each window's max."""

    def unpool(self, gy_planes):
        pooling = self.pooling
        if not (_compiled_for(gy_planes)
                and gy_planes.dtype == pooling.in_dtype):
            return _scatter(pooling.windows, gy_planes, pooling.indexes,
                            pooling.in_dtype)
        gx = numpy.empty((pooling.windows.planes,) + pooling.in_shape[2:],
                         pooling.in_dtype)
        _scatter_compiled(gy_planes, pooling.indexes, gx, pooling.ksize,
                          pooling.stride, pooling.pad)
        return gx

    def backward(self, indexes, grad_outputs):
        return MaxPooling2DWithIndexes(self.pooling).apply(grad_outputs)


class MaxPooling2DWithIndexes(function_node.FunctionNode):
    """Picks, for every window, the input element its max came from."""

    def __init__(self, pooling):
        self.pooling = pooling

    def forward_cpu(self, inputs):
        ggx, = inputs
        y = _take(self.pooling.windows, as_planes(ggx), self.pooling.indexes)
        return y.reshape(ggx.shape[:2] + y.shape[1:]),

    def backward(self, indexes, grad_outputs):
        return MaxPooling2DGrad(self.pooling).apply(grad_outputs)


def max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True,
                   return_indices=False):
    """Drop-in for ``chainer.functions.max_pooling_2d``.

    numpy inputs use MaxPooling2D; anything else (GPU, ChainerX, iDeep,
    ``return_indices=True``) goes to Chainer's own function.
    """
    if return_indices or not blocks.numpy_inputs(x):
        return reference_max_pooling_2d(
            x, ksize, stride, pad, cover_all, return_indices)
    if len(x.shape[2:]) != 2:
        raise ValueError(
            'The number of dimensions under channel dimension of the input '
            '\'x\' should be 2. But the actual ndim was {}.'.format(
                len(x.shape[2:])))
    return MaxPooling2D(ksize, stride, pad, cover_all).apply((x,))[0]
