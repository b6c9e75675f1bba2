"""Stride-1 convolution without a patch matrix: a sum of shifted products.

The padded images of a chunk are stacked, channel by channel, into one tall
image (C, B*PH, PW), flattened. For kernel offset (i, j), the input every
output position needs is that flat buffer from i*PW + j on: a (C, columns)
matrix with unit column stride, which BLAS reads in place. So

    y = sum over (i, j) of W[:, :, i, j] @ shifted(i, j)

with no copying of patches at all. Positions that straddle two images or
wrap around a row are computed and dropped ((PH*PW)/(oh*ow) more arithmetic:
about 1.1-1.3x for these networks), which pays off when the patch matrix
would be much bigger than the product: few output channels (DenseNet's
growth of 12) or many input channels.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import numpy
from numpy.lib.stride_tricks import as_strided

from kernels import blocks

# Columns (stacked output positions) per chunk of images.
TARGET_COLUMNS = 4096


class TallStack(object):
    """The chunked, stacked layout of one convolution (geometry g)."""

    def __init__(self, g, dtype):
        self.g = g
        self.plane = g.padded_h * g.padded_w
        self.chunk = max(1, min(g.n, -(-TARGET_COLUMNS // self.plane)))
        self.item = numpy.dtype(dtype).itemsize
        # Slack: the last channel's shifted views read past its plane.
        self.flat = numpy.zeros(
            g.c * self.chunk * self.plane + g.kh * g.padded_w + g.kw, dtype)
        self.loaded = None

    def chunks(self):
        return blocks.chunks(self.g.n, self.chunk)

    def stack(self, count):
        """(C, count, PH, PW) view of the stacked padded images."""
        g = self.g
        return self.flat[:g.c * count * self.plane].reshape(
            g.c, count, g.padded_h, g.padded_w)

    def interior(self, count):
        g = self.g
        return self.stack(count)[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w]

    def shifted(self, count, i, j, writeable=False):
        """(C, count*PH*PW) input of kernel offset (i, j), in place."""
        g = self.g
        start = self.flat[i * g.padded_w + j:]
        return as_strided(start, shape=(g.c, count * self.plane),
                          strides=(count * self.plane * self.item,
                                   self.item), writeable=writeable)

    def load(self, images):
        """Copy a chunk of images (count, C, H, W) into the stack; the
        padding stays zero."""
        count = len(images)
        if count != self.loaded:  # a short last chunk: another layout
            self.flat.fill(0)
            self.loaded = count
        self.interior(count)[...] = images.transpose(1, 0, 2, 3)

    def valid(self, columns, count):
        """(count, rows, oh, ow) view of the real outputs in a
        (rows, count*PH*PW) product."""
        g = self.g
        tall = columns.reshape(-1, count, g.padded_h, g.padded_w)
        return tall[:, :, :g.oh, :g.ow].transpose(1, 0, 2, 3)


def forward(x, w, g):
    """y = conv(x, w) for stride 1 (no bias)."""
    stack = TallStack(g, x.dtype)
    w_offsets = numpy.ascontiguousarray(w.transpose(2, 3, 0, 1))
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)
    product = numpy.empty((g.out_c, stack.chunk * stack.plane), x.dtype)
    term = numpy.empty_like(product)
    for part in stack.chunks():
        count = part.stop - part.start
        stack.load(x[part])
        used = count * stack.plane
        for i in range(g.kh):
            for j in range(g.kw):
                target = product if i == j == 0 else term
                numpy.matmul(w_offsets[i, j], stack.shifted(count, i, j),
                             out=target[:, :used])
                if target is term:
                    product[:, :used] += term[:, :used]
        y[part] = stack.valid(product[:, :used], count)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) for stride 1."""
    stack = TallStack(g, x.dtype)
    grad_stack = TallStack(g, x.dtype) if want_x else None
    w_offsets = numpy.ascontiguousarray(w.transpose(2, 3, 0, 1))
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    # (kh, kw, out, C): W's axes moved like w_offsets.
    gw = numpy.zeros(w_offsets.shape, w.dtype) if want_w else None
    gw_part = numpy.empty(w_offsets.shape[2:], w.dtype)
    # Dropped positions of gy stay zero: they add nothing anywhere.
    gy_tall = numpy.zeros((g.out_c, stack.chunk * stack.plane), x.dtype)
    input_part = numpy.empty((g.c, stack.chunk * stack.plane), x.dtype)
    for part in stack.chunks():
        count = part.stop - part.start
        used = count * stack.plane
        stack.valid(gy_tall[:, :used], count)[...] = gy[part]
        if want_w:
            stack.load(x[part])
        if want_x:
            grad_stack.flat.fill(0)
        for i in range(g.kh):
            for j in range(g.kw):
                if want_w:
                    numpy.matmul(gy_tall[:, :used],
                                 stack.shifted(count, i, j).T, out=gw_part)
                    gw[i, j] += gw_part
                if want_x:
                    numpy.matmul(w_offsets[i, j].T, gy_tall[:, :used],
                                 out=input_part[:, :used])
                    grad_stack.shifted(count, i, j, writeable=True)[...] += \
                        input_part[:, :used]
        if want_x:
            gx[part] = grad_stack.interior(count).transpose(1, 0, 2, 3)
    if want_w:
        gw = numpy.ascontiguousarray(gw.transpose(2, 3, 0, 1))
    return gx, gw
