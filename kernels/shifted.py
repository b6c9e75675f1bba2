"""Stride-1 convolution without a patch matrix: a sum of shifted products.

The images of a chunk are stacked, channel by channel, into one tall image
(C, B*BH, BW), flattened, each image in a block of BH = H + ph rows of
BW = W + pw values: its top ph rows and left pw columns are zero, and
serve as the bottom and right padding of the image or row before (reads
past a row's end wrap onto the next row's left padding). For kernel offset
(i, j), the input every output position needs is that flat buffer from
i*BW + j on. So

    y = sum over (i, j) of W[:, :, i, j] @ shifted(i, j)

with no copying of patches at all; computed as one product of the stacked
weights of every offset with the buffer, whose row blocks are then added
at their offsets (the input is read once, and the product is tall enough
for BLAS to run near its best). Positions of a block outside its image's
outputs are computed and dropped ((BH*BW)/(oh*ow) more arithmetic: 1.06x
at 32x32, 1.13x at 16x16 and 1.27x at 8x8 for 3x3 pad-1 layers, where a
padding of its own on every side would cost 1.13x, 1.27x and 1.56x), which
pays off when the patch matrix would be much bigger than the product: few
output channels (DenseNet's growth of 12) or many input channels.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import numpy
from numpy.lib.stride_tricks import as_strided

from kernels import blocks, compiled, stacked

# Columns (stacked output positions) per chunk of images.
TARGET_COLUMNS = 4096


class TallStack(object):
    """The chunked, stacked layout of one convolution (geometry g)."""

    def __init__(self, g, dtype):
        self.g = g
        # Padding wider than the kernel reaches would leave outputs past
        # the block: the block then grows to hold them.
        self.block_h = max(g.h + g.ph, g.oh)
        self.block_w = max(g.w + g.pw, g.ow)
        self.plane = self.block_h * self.block_w
        self.chunk = stacked.balanced_chunk(g.n, blocks.images_per_chunk(
            g.n, self.plane, TARGET_COLUMNS))
        self.dtype = numpy.dtype(dtype)
        self.item = self.dtype.itemsize
        self.flat = None  # allocated by the first load
        self.loaded = None

    def chunks(self):
        return blocks.chunks(self.g.n, self.chunk)

    def stack(self, count):
        """(C, count, BH, BW) view of the stacked image blocks."""
        return self.flat[:self.g.c * count * self.plane].reshape(
            self.g.c, count, self.block_h, self.block_w)

    def interior(self, count):
        g = self.g
        return self.stack(count)[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w]

    def shifted(self, count, i, j, writeable=False):
        """(C, count*BH*BW) input of kernel offset (i, j), in place."""
        start = self.flat[i * self.block_w + j:]
        return as_strided(start, shape=(self.g.c, count * self.plane),
                          strides=(count * self.plane * self.item,
                                   self.item), writeable=writeable)

    def load(self, images):
        """Copy a chunk of images (count, C, H, W) into the stack; the
        padding stays zero."""
        count, g = len(images), self.g
        if self.flat is None:
            # Slack: the last channel's shifted views read past its plane.
            self.flat = numpy.zeros(g.c * self.chunk * self.plane
                                    + g.kh * self.block_w + g.kw, self.dtype)
        elif count != self.loaded:  # a short last chunk: another layout
            self.flat.fill(0)
        self.loaded = count
        if _compiled(images):
            _images_into_blocks(images, self.stack(count), self.g.ph,
                                self.g.pw)
        else:
            self.interior(count)[...] = images.transpose(1, 0, 2, 3)

    def unload(self, columns, images):
        """The inverse of load: each image's interior of a (C,
        count*BH*BW) array into images (count, C, H, W)."""
        g, count = self.g, len(images)
        tall = columns.reshape(g.c, count, self.block_h, self.block_w)
        if _compiled(images):
            _blocks_into_images(tall, images, g.ph, g.pw)
        else:
            images[...] = tall[:, :, g.ph:g.ph + g.h,
                               g.pw:g.pw + g.w].transpose(1, 0, 2, 3)

    def valid(self, columns, count):
        """(count, rows, oh, ow) view of the real outputs in a
        (rows, count*BH*BW) product."""
        tall = columns.reshape(-1, count, self.block_h, self.block_w)
        return tall[:, :, :self.g.oh, :self.g.ow].transpose(1, 0, 2, 3)

    def offsets(self):
        """Flat offset of each kernel position (i, j), in the order of
        _stacked_weights' row blocks."""
        g = self.g
        return [i * self.block_w + j
                for i in range(g.kh) for j in range(g.kw)]


def _compiled(images):
    return compiled.enabled() and images.dtype in compiled.DTYPES


# NumPy copies these layouts a row of W values per inner loop: at 8x8 to
# 32x32 maps these compiled loops took 0.45-0.7x its time. They run on
# one core: over both, they were slower still.
@compiled.jit(parallel=False)
def _images_into_blocks(images, tall, top, left):
    """images (N, C, H, W) into tall (C, N, BH, BW), from row `top` and
    column `left` of each block on."""
    n, c, h, w = images.shape
    for ci in range(c):
        for b in range(n):
            for r in range(h):
                source = images[b, ci, r]
                # Row views: indexing the 4-D arrays in the inner loop
                # measured 1.5-2x slower than NumPy's copy.
                target = tall[ci, b, top + r, left:left + w]
                for col in range(w):
                    target[col] = source[col]


@compiled.jit(parallel=False)
def _blocks_into_images(tall, images, top, left):
    """The inverse of _images_into_blocks."""
    n, c, h, w = images.shape
    for ci in range(c):
        for b in range(n):
            for r in range(h):
                source = tall[ci, b, top + r, left:left + w]
                target = images[b, ci, r]
                for col in range(w):
                    target[col] = source[col]


def _stacked_weights(w):
    """(kh*kw*out, C): the weights of kernel offset (i, j) as row block
    i*kw + j, so that one product serves every offset."""
    out_c, c, kh, kw = w.shape
    return numpy.ascontiguousarray(
        w.transpose(2, 3, 0, 1).reshape(kh * kw * out_c, c))


def forward(x, w, g):
    """y = conv(x, w) for stride 1 (no bias).

    One product of all offsets' weights with the unshifted stack (the
    input is read once; few output channels make a short, slow product
    per offset otherwise), then the offsets' row blocks are added shifted.
    Each core takes a part of the chunks (kernels/stacked.py), with a
    stack of its own.
    """
    w_stacked = _stacked_weights(w)
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)
    parts = list(TallStack(g, x.dtype).chunks())

    def chunks(_, share):
        stack = TallStack(g, x.dtype)
        offsets = stack.offsets()
        columns = stack.chunk * stack.plane
        products = numpy.empty((len(offsets) * g.out_c, columns), x.dtype)
        blocks_ = products.reshape(len(offsets), g.out_c, columns)
        total = numpy.empty((g.out_c, columns), x.dtype)
        for part in parts[share]:
            count = part.stop - part.start
            stack.load(x[part])
            used = count * stack.plane
            numpy.matmul(w_stacked, stack.shifted(count, 0, 0),
                         out=products[:, :used])
            # Output p needs input p + offset; past `used` that input is
            # the next block's top padding (zero), so those terms are left
            # out.
            total[:, :used] = blocks_[0, :, :used]
            for block, offset in zip(blocks_[1:], offsets[1:]):
                if offset < used:  # else the chunk's input is all padding
                    total[:, :used - offset] += block[:, offset:used]
            y[part] = stack.valid(total[:, :used], count)
    stacked.in_parts(len(parts), chunks)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) for stride 1.

    Row block k of the stacked gradient holds gy moved by offset k, so
    gx = W_stacked^T @ G and gW_stacked = G @ X^T are one product each.
    Each core takes a part of the chunks, with buffers and a weight
    gradient of its own.
    """
    w_stacked = _stacked_weights(w)
    parts = list(TallStack(g, x.dtype).chunks())
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    gw_parts = (numpy.zeros((stacked.parts(len(parts)),) + w_stacked.shape,
                            w.dtype) if want_w else None)

    def chunks(index, share):
        stack = TallStack(g, x.dtype)
        offsets = stack.offsets()
        columns = stack.chunk * stack.plane
        gw_part = numpy.empty(w_stacked.shape, w.dtype)
        # Dropped positions of gy and the first `offset` columns of each
        # block stay zero: they add nothing anywhere.
        gy_tall = numpy.zeros((g.out_c, columns), x.dtype)
        moved = numpy.zeros((len(offsets) * g.out_c, columns), x.dtype)
        moved_blocks = moved.reshape(len(offsets), g.out_c, columns)
        input_grad = numpy.empty((g.c, columns), x.dtype)
        for part in parts[share]:
            count = part.stop - part.start
            used = count * stack.plane
            stack.valid(gy_tall[:, :used], count)[...] = gy[part]
            for block, offset in zip(moved_blocks, offsets):
                if offset < used:
                    block[:, offset:used] = gy_tall[:, :used - offset]
            if want_w:
                stack.load(x[part])
                numpy.matmul(moved[:, :used], stack.shifted(count, 0, 0).T,
                             out=gw_part)
                gw_parts[index] += gw_part
            if want_x:
                numpy.matmul(w_stacked.T, moved[:, :used],
                             out=input_grad[:, :used])
                stack.unload(input_grad[:, :used], gx[part])
    stacked.in_parts(len(parts), chunks)
    gw = None
    if want_w:
        gw = numpy.ascontiguousarray(gw_parts.sum(axis=0).reshape(
            g.kh, g.kw, g.out_c, g.c).transpose(2, 3, 0, 1))
    return gx, gw
