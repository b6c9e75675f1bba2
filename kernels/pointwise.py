"""1x1 convolutions of images big enough for a matrix product each
(kernels/convolution.py's `direct` geometry): no patch matrix at all."""
import numpy

from kernels import blocks


def forward(x, w, g):
    """A 1x1 convolution of images big enough for a product each: y[b] =
    W x[b], straight from x into y (a patch matrix would be two copies)."""
    w_matrix = w.reshape(g.out_c, g.k)
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)
    for b in range(g.n):
        numpy.matmul(w_matrix, x[b].reshape(g.c, g.columns),
                     out=blocks.view(y[b], (g.out_c, g.columns)))
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) of forward, as directly."""
    w_matrix = w.reshape(g.out_c, g.k)
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    gw = numpy.zeros((g.out_c, g.k), dtype=w.dtype) if want_w else None
    gw_part = numpy.empty_like(gw) if want_w else None
    for b in range(g.n):
        gy_matrix = gy[b].reshape(g.out_c, g.columns)
        if want_w:
            numpy.matmul(gy_matrix, x[b].reshape(g.c, g.columns).T,
                         out=gw_part)
            gw += gw_part
        if want_x:
            numpy.matmul(w_matrix.T, gy_matrix,
                         out=blocks.view(gx[b], (g.c, g.columns)))
    return gx, None if gw is None else gw.reshape(w.shape)
