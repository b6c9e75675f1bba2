"""Stride-1 convolution without a patch matrix: a sum of shifted products.

The padded images of a chunk are stacked, channel by channel, into one tall
image (C, B*PH, PW), flattened. For kernel offset (i, j), the input every
output position needs is that flat buffer from i*PW + j on. So

    y = sum over (i, j) of W[:, :, i, j] @ shifted(i, j)

with no copying of patches at all; computed as one product of the stacked
weights of every offset with the buffer, whose row blocks are then added
at their offsets (the input is read once, and the product is tall enough
for BLAS to run near its best). Positions that straddle two images or
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
        self.chunk = blocks.images_per_chunk(g.n, self.plane, TARGET_COLUMNS)
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


def _stacked_weights(w):
    """(kh*kw*out, C): the weights of kernel offset (i, j) as row block
    i*kw + j, so that one product serves every offset."""
    out_c, c, kh, kw = w.shape
    return numpy.ascontiguousarray(
        w.transpose(2, 3, 0, 1).reshape(kh * kw * out_c, c))


def _offsets(g):
    """Flat offset of each kernel position (i, j) in the stacked buffer."""
    return [i * g.padded_w + j for i in range(g.kh) for j in range(g.kw)]


def forward(x, w, g):
    """y = conv(x, w) for stride 1 (no bias).

    One product of all offsets' weights with the unshifted stack (the
    input is read once; few output channels make a short, slow product
    per offset otherwise), then the offsets' row blocks are added shifted.
    """
    stack = TallStack(g, x.dtype)
    w_stacked = _stacked_weights(w)
    offsets = _offsets(g)
    columns = stack.chunk * stack.plane
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)
    products = numpy.empty((len(offsets) * g.out_c, columns), x.dtype)
    blocks_ = products.reshape(len(offsets), g.out_c, columns)
    total = numpy.empty((g.out_c, columns), x.dtype)
    for part in stack.chunks():
        count = part.stop - part.start
        stack.load(x[part])
        used = count * stack.plane
        numpy.matmul(w_stacked, stack.shifted(count, 0, 0),
                     out=products[:, :used])
        # Output p needs input p + offset: a valid p never reads past
        # `used`; the tails left short are dropped positions.
        total[:, :used] = blocks_[0, :, :used]
        for block, offset in zip(blocks_[1:], offsets[1:]):
            total[:, :used - offset] += block[:, offset:used]
        y[part] = stack.valid(total[:, :used], count)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) for stride 1.

    Row block k of the stacked gradient holds gy moved by offset k, so
    gx = W_stacked^T @ G and gW_stacked = G @ X^T are one product each.
    """
    stack = TallStack(g, x.dtype)
    w_stacked = _stacked_weights(w)
    offsets = _offsets(g)
    columns = stack.chunk * stack.plane
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    gw = numpy.zeros(w_stacked.shape, w.dtype) if want_w else None
    gw_part = numpy.empty(w_stacked.shape, w.dtype)
    # Dropped positions of gy and the first `offset` columns of each block
    # stay zero: they add nothing anywhere.
    gy_tall = numpy.zeros((g.out_c, columns), x.dtype)
    moved = numpy.zeros((len(offsets) * g.out_c, columns), x.dtype)
    moved_blocks = moved.reshape(len(offsets), g.out_c, columns)
    input_grad = numpy.empty((g.c, columns), x.dtype)
    for part in stack.chunks():
        count = part.stop - part.start
        used = count * stack.plane
        stack.valid(gy_tall[:, :used], count)[...] = gy[part]
        for block, offset in zip(moved_blocks, offsets):
            block[:, offset:used] = gy_tall[:, :used - offset]
        if want_w:
            stack.load(x[part])
            numpy.matmul(moved[:, :used], stack.shifted(count, 0, 0).T,
                         out=gw_part)
            gw += gw_part
        if want_x:
            numpy.matmul(w_stacked.T, moved[:, :used],
                         out=input_grad[:, :used])
            padded = input_grad[:, :used].reshape(
                g.c, count, g.padded_h, g.padded_w)
            gx[part] = padded[:, :, g.ph:g.ph + g.h,
                              g.pw:g.pw + g.w].transpose(1, 0, 2, 3)
    if want_w:
        gw = numpy.ascontiguousarray(gw.reshape(
            g.kh, g.kw, g.out_c, g.c).transpose(2, 3, 0, 1))
    return gx, gw
