"""1x1 convolutions of images big enough for a matrix product each
(kernels/convolution.py's `direct` geometry): no patch matrix at all.
Each core takes a part of the images (kernels/stacked.py)."""
import numpy

from kernels import blocks, stacked


def forward(x, w, g):
    """A 1x1 convolution of images big enough for a product each: y[b] =
    W x[b], straight from x into y (a patch matrix would be two copies)."""
    w_matrix = w.reshape(g.out_c, g.k)
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)

    def images(_, part):
        for b in range(part.start, part.stop):
            numpy.matmul(w_matrix, x[b].reshape(g.c, g.columns),
                         out=blocks.view(y[b], (g.out_c, g.columns)))
    stacked.in_parts(g.n, images)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) of forward, as directly."""
    w_matrix = w.reshape(g.out_c, g.k)
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    # Each part of the images sums its own weight gradient.
    gw_parts = (numpy.zeros((stacked.parts(g.n), g.out_c, g.k), w.dtype)
                if want_w else None)

    def images(index, part):
        gw_part = numpy.empty((g.out_c, g.k), w.dtype) if want_w else None
        for b in range(part.start, part.stop):
            gy_matrix = gy[b].reshape(g.out_c, g.columns)
            if want_w:
                numpy.matmul(gy_matrix, x[b].reshape(g.c, g.columns).T,
                             out=gw_part)
                gw_parts[index] += gw_part
            if want_x:
                numpy.matmul(w_matrix.T, gy_matrix,
                             out=blocks.view(gx[b], (g.c, g.columns)))
    stacked.in_parts(g.n, images)
    gw = None if gw_parts is None else gw_parts.sum(axis=0)
    return gx, None if gw is None else gw.reshape(w.shape)
