"""2-D convolution on the CPU as one matrix product per few images.

Chainer's CPU convolution builds a full-batch im2col array, copies it
again in numpy.tensordot, returns a non-contiguous output, and gathers the
patches once more for the weight gradient. Here a few images at a time
(enough columns for an efficient product, few enough to stay in cache)
are gathered, with contiguous copies where the stride allows (_Geometry),
into one (C*kh*kw, columns) matrix and multiplied by the weights
(kernels/patches.py). Strided layers keep that matrix from the forward
pass for the weight gradient.
Narrow stride-1 layers go to kernels/shifted.py, with numba 3x3 pad-1 and
5x5 pad-2 ones to kernels/winograd.py, and 1x1 layers on big maps to
kernels/pointwise.py. Second-order gradients are built from the same two
nodes (a convolution's gradient is linear in each of its inputs).
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import numpy
from numpy.lib.stride_tricks import as_strided

import chainer
from chainer import function_node
from chainer.functions.array import broadcast
from chainer.functions.connection.convolution_2d import (
    convolution_2d as reference_convolution_2d)
from chainer.utils import conv, type_check

from kernels import blocks, patches, shifted, stacked, winograd


def _pair(value):
    if hasattr(value, '__getitem__'):
        return int(value[0]), int(value[1])
    return int(value), int(value)


# Images per matrix product: enough columns to keep BLAS efficient.
TARGET_COLUMNS = 2048
BLAS_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
# 1x1 layers with this many columns an image go straight from x to y
# (kernels/pointwise.py): 27x27 and 29x29 maps measured 10-17% faster so,
# GoogLeNet-BN's 15x15 ones 10-20% (a step 2-5%), NIN's 13x13 ones level;
# 6x6 and 8x8 up to 2x slower.
DIRECT_FROM_COLUMNS = 160
# Output channels under which stride-1 convolutions use kernels/shifted.py.
SHIFTED_BELOW_OUT_C = 64


class _Geometry(object):
    """Sizes of one convolution, and the patch matrix of its images.

    Three ways to build an image's (C*kh*kw, columns) patch matrix:
    - pointwise (1x1, stride 1, no pad): the image itself, oh*ow columns;
    - wide (stride 1): row (c, i, j) of the matrix is the padded image,
      flattened, from c*PH*PW + i*PW + j on for oh*PW values: contiguous
      copies. The PW - ow columns per output row that wrap around are
      computed and dropped (~15% more arithmetic for AlexNet's 13x13
      layers) so that the copies run at memory speed;
    - strided: the (C, kh, kw, oh, ow) windows copied from a strided view,
      oh*ow columns.
    """

    def __init__(self, x_shape, w_shape, stride, pad, cover_all):
        self.n, self.c, self.h, self.w = x_shape
        self.out_c, _, self.kh, self.kw = w_shape
        self.sy, self.sx = stride
        self.ph, self.pw = pad
        self.oh = conv.get_conv_outsize(self.h, self.kh, self.sy, self.ph,
                                        cover_all)
        self.ow = conv.get_conv_outsize(self.w, self.kw, self.sx, self.pw,
                                        cover_all)
        if self.oh <= 0 or self.ow <= 0:
            raise ValueError(
                'convolution output would be {}x{}: the {}x{} input is too '
                'small for a {}x{} kernel'.format(self.oh, self.ow, self.h,
                                                  self.w, self.kh, self.kw))
        self.k = self.c * self.kh * self.kw
        self.pointwise = (self.kh == self.kw == self.sy == self.sx == 1
                          and self.ph == self.pw == 0)
        self.wide = not self.pointwise and self.sy == self.sx == 1
        # Stride 1 with few output channels: the patch matrix would be
        # far bigger than the product (see kernels/shifted.py).
        self.shifted = self.wide and self.out_c < SHIFTED_BELOW_OUT_C
        # The Winograd transforms that compute it (3x3 or 5x5), if any.
        self.winograd = None if self.shifted else winograd.transforms(self)
        # Rows and columns a window can reach (cover_all's last window may
        # run past the padded input, as in Chainer's im2col).
        self.padded_h = max(self.h + 2 * self.ph,
                            (self.oh - 1) * self.sy + self.kh)
        self.padded_w = max(self.w + 2 * self.pw,
                            (self.ow - 1) * self.sx + self.kw)
        self.row_w = self.padded_w if self.wide else self.ow
        self.columns = self.oh * self.row_w
        per_product = blocks.images_per_chunk(self.n, self.columns,
                                              TARGET_COLUMNS)
        self.chunk = stacked.balanced_chunk(self.n, per_product)
        # 1x1 with an image per product: no patch matrix at all.
        self.direct = self.pointwise and (
            per_product == 1 or self.columns >= DIRECT_FROM_COLUMNS)
        # Strided: the patch matrix is worth keeping for the weight
        # gradient (copies from strided windows are slow, and these layers
        # have few patches for their arithmetic).
        self.strided = not (self.pointwise or self.wide)
        # One strided image per product: its output block is y's own.
        self.single = self.strided and per_product == 1

    def chunks(self):
        return blocks.chunks(self.n, self.chunk)

    def padded_buffer(self, dtype):
        """Zeroed (C, PH, PW) image in a flat buffer, with the slack the
        last wide row reads past its end."""
        plane = self.padded_h * self.padded_w
        flat = numpy.zeros(self.c * plane + self.padded_w, dtype)
        return flat[:self.c * plane].reshape(
            self.c, self.padded_h, self.padded_w)

    def interior(self, padded):
        return padded[:, self.ph:self.ph + self.h, self.pw:self.pw + self.w]

    def _rows(self, padded, i, j, writeable=False):
        """Wide rows (c, i, j) of every channel: (C, oh*PW) view."""
        item = padded.itemsize
        start = padded.reshape(-1)[i * self.padded_w + j:]
        return as_strided(start, shape=(self.c, self.columns),
                          strides=(self.padded_h * self.padded_w * item,
                                   item), writeable=writeable)

    def _windows(self, padded):
        """(C, kh, kw, oh, ow) view of every strided window."""
        sc, sh, sw = padded.strides
        return as_strided(padded, shape=(self.c, self.kh, self.kw, self.oh,
                                         self.ow),
                          strides=(sc, sh, sw, sh * self.sy, sw * self.sx),
                          writeable=False)

    def matrix_buffer(self, rows, dtype, zeroed=True):
        """(rows, chunk, columns): one column block per image; zeroed=False
        where every value read will have been written first."""
        return (numpy.zeros if zeroed else numpy.empty)(
            (rows, self.chunk, self.columns), dtype)

    def gather(self, image, padded, block):
        """Image (C, H, W) into its (C*kh*kw, columns) block."""
        if self.pointwise:
            block[...] = image.reshape(self.c, self.columns)
            return
        self.interior(padded)[...] = image
        if self.wide:
            rows = blocks.view(block, (self.c, self.kh, self.kw, self.columns))
            for i in range(self.kh):
                for j in range(self.kw):
                    rows[:, i, j] = self._rows(padded, i, j)
        else:
            windows = blocks.view(
                block, (self.c, self.kh, self.kw, self.oh, self.ow))
            windows[...] = self._windows(padded)

    def scatter(self, block, padded, image_grad):
        """Add a (C*kh*kw, columns) patch gradient back onto the image
        (windows overlap: one add per kernel offset)."""
        if self.pointwise:
            image_grad[...] = blocks.view(block, (self.c, self.oh, self.ow))
            return
        padded.fill(0)
        if self.wide:
            grad = blocks.view(block, (self.c, self.kh, self.kw, self.columns))
            for i in range(self.kh):
                for j in range(self.kw):
                    self._rows(padded, i, j, writeable=True)[...] += \
                        grad[:, i, j]
        else:
            grad = blocks.view(
                block, (self.c, self.kh, self.kw, self.oh, self.ow))
            for i in range(self.kh):
                rows = slice(i, i + self.sy * self.oh, self.sy)
                for j in range(self.kw):
                    cols = slice(j, j + self.sx * self.ow, self.sx)
                    padded[:, rows, cols] += grad[:, i, j]
        image_grad[...] = self.interior(padded)

    def valid(self, block):
        """The (out, oh, ow) output in an (out, columns) block."""
        return blocks.view(block, (block.shape[0], self.oh, self.row_w))[
            :, :, :self.ow]


def _algorithm(g, if_shifted, if_winograd, otherwise):
    return (if_shifted if g.shifted else
            if_winograd if g.winograd else otherwise)


class Convolution2D(function_node.FunctionNode):
    """y = conv(x, W) + b, like Chainer's Convolution2DFunction with
    dilate=1 and groups=1."""

    def __init__(self, stride=1, pad=0, cover_all=False):
        self.stride = _pair(stride)
        self.pad = _pair(pad)
        self.cover_all = bool(cover_all)

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() >= 2, in_types.size() <= 3)
        x_type, w_type = in_types[:2]
        type_check.expect(
            x_type.dtype.kind == 'f', w_type.dtype == x_type.dtype,
            x_type.ndim == 4, w_type.ndim == 4,
            x_type.shape[1] == w_type.shape[1])
        if type_check.eval(in_types.size()) == 3:
            b_type = in_types[2]
            type_check.expect(b_type.dtype == x_type.dtype, b_type.ndim == 1,
                              b_type.shape[0] == w_type.shape[0])

    def geometry(self, x_shape, w_shape):
        return _Geometry(x_shape, w_shape, self.stride, self.pad,
                         self.cover_all)

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        x, w = inputs[:2]
        g = self.geometry(x.shape, w.shape)
        if g.strided:
            # Kept for the weight gradient only while a graph is built.
            kept = [] if chainer.config.enable_backprop else None
            self._kept = (x, kept)
            y = patches.forward(x, w, g, kept)
        else:
            y = _algorithm(g, shifted.forward, winograd.forward,
                           patches.forward)(x, w, g)
        if len(inputs) == 3:
            y += inputs[2][:, None, None]
        return y,

    def kept_patches(self, x):
        """The patch matrices forward kept of x, once (None otherwise)."""
        source, kept = getattr(self, '_kept', (None, None))
        self._kept = (None, None)
        return kept if source is x else None

    def backward(self, indexes, grad_outputs):
        x, w = self.get_retained_inputs()
        gy, = grad_outputs
        grads = Convolution2DGrad(self, indexes).apply((x, w, gy))
        return [grads[i] for i in range(len(indexes))]


class Convolution2DGrad(function_node.FunctionNode):
    """(x, W, gy) -> the gradients `indexes` asks for (of x, W, b)."""

    def __init__(self, conv_node, indexes):
        self.conv_node = conv_node
        self.indexes = tuple(indexes)

    def forward(self, inputs):
        self.retain_inputs((0, 1, 2))
        x, w, gy = inputs
        g = self.conv_node.geometry(x.shape, w.shape)
        want_x, want_w = 0 in self.indexes, 1 in self.indexes
        if g.strided:
            gx, gw = patches.backward(x, w, gy, g, want_x, want_w,
                                      self.conv_node.kept_patches(x))
        else:
            gx, gw = _algorithm(g, shifted.backward, winograd.backward,
                                patches.backward)(x, w, gy, g, want_x,
                                                  want_w)
        return self._outputs(gx, gw, gy)

    def _outputs(self, gx, gw, gy):
        outputs = []
        if 0 in self.indexes:
            outputs.append(gx)
        if 1 in self.indexes:
            outputs.append(gw)
        if 2 in self.indexes:
            outputs.append(gy.sum(axis=(0, 2, 3)))
        return tuple(outputs)

    def backward(self, indexes, grad_outputs):
        """gx = deconv(gy, W), gW = corr(x, gy) and gb = sum(gy) are linear
        in gy and in W or x: their gradients are this node and the
        convolution again, with ggx or ggW in place of x or W."""
        x, w, gy = self.get_retained_inputs()
        given = dict(zip(self.indexes, grad_outputs))
        ggx, ggw, ggb = given.get(0), given.get(1), given.get(2)
        grads = []
        if 0 in indexes:
            grads.append(None if ggw is None else self._gradient(
                0, x, ggw, gy))
        if 1 in indexes:
            grads.append(None if ggx is None else self._gradient(
                1, ggx, w, gy))
        if 2 in indexes:
            grads.append(self._output_gradient(x, w, ggx, ggw, ggb,
                                               gy.shape))
        return grads

    def _gradient(self, index, x, w, gy):
        # The x (or W) slot only gives the shape when its gradient is
        # not asked for.
        return Convolution2DGrad(self.conv_node, (index,)).apply(
            (x, w, gy))[0]

    def _output_gradient(self, x, w, ggx, ggw, ggb, gy_shape):
        """conv(ggx, W) + conv(x, ggW) + ggb, whichever are given."""
        node = self.conv_node
        ggy = None
        for data, weight in ((ggx, w), (x, ggw)):
            if data is None or weight is None:
                continue
            inputs = (data, weight) if ggb is None else (data, weight, ggb)
            term, = Convolution2D(node.stride, node.pad,
                                  node.cover_all).apply(inputs)
            ggy = term if ggy is None else ggy + term
            ggb = None  # added once
        if ggb is not None:
            ggy = broadcast.broadcast_to(ggb.reshape(1, -1, 1, 1), gy_shape)
        return ggy


def _chainer_only_options(dilate=1, groups=1, cudnn_fast=False, **others):
    """Whether a call asks for what only Chainer's function does (or
    refuses, like its removed arguments)."""
    return (_pair(dilate) != (1, 1) or int(groups) != 1 or bool(cudnn_fast)
            or bool(others))


def applies(x, W, b=None, **kwargs):
    """Whether Convolution2D computes this call (else Chainer's does)."""
    if _chainer_only_options(**kwargs):
        return False
    # float16 has no BLAS products: Chainer's path is as good there.
    return (blocks.numpy_inputs(x, W, b) and x.dtype in BLAS_DTYPES
            and W.dtype == x.dtype)


def convolution_2d(x, W, b=None, stride=1, pad=0, cover_all=False,
                   **kwargs):
    """Chainer's convolution_2d; NumPy arrays go through Convolution2D."""
    if not applies(x, W, b, **kwargs):
        return reference_convolution_2d(x, W, b, stride, pad, cover_all,
                                        **kwargs)
    inputs = (x, W) if b is None else (x, W, b)
    y, = Convolution2D(stride, pad, cover_all).apply(inputs)
    return y
