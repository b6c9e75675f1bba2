"""The transforms of Winograd's F(2x2, 3x3), for 3x3 stride-1 pad-1
convolutions (kernels/winograd.py runs them).

Each 2x2 block of outputs comes from the 4x4 tile of the padded input
around it: 16 multiplications per 4 outputs where the patch matrix has 36,
2.25x fewer. The transforms are additions only (G holds halves), written
out by hand:

    V = B'dB   (4x4 input tile)      Y = A'MA   (2x2 outputs)
    U = GgG'   (4x4 from 3x3)        gM = A gY A',  gx += B gV B',  gW = G'gUG
"""
import numpy

from kernels import compiled

SIZE = 3
PAD = 1
ELEMENTS = 16
# gM = A gY A' (kernels/winograd.py's output_gradient_tiles).
A = numpy.array([[1, 0], [1, 1], [1, -1], [0, -1]], numpy.float32)


@compiled.jit
def input_tiles(x, v, tiles_h, tiles_w):
    """x (N, C, H, W), padded by 1 -> v (16, C, N*tiles_h*tiles_w)."""
    n, c, h, w = x.shape
    width = 2 * tiles_w + 2
    for i in compiled.prange(n):
        padded = numpy.zeros((2 * tiles_h + 2, width), x.dtype)
        rows = numpy.empty((4, width), x.dtype)
        for ci in range(c):
            padded[1:h + 1, 1:w + 1] = x[i, ci]
            for ty in range(tiles_h):
                r = 2 * ty
                for s in range(width):  # B' down the tile's four rows
                    a0, a1 = padded[r, s], padded[r + 1, s]
                    a2, a3 = padded[r + 2, s], padded[r + 3, s]
                    rows[0, s] = a0 - a2
                    rows[1, s] = a1 + a2
                    rows[2, s] = a2 - a1
                    rows[3, s] = a1 - a3
                first = (i * tiles_h + ty) * tiles_w
                for a in range(4):  # then B across each tile's columns
                    for tx in range(tiles_w):
                        s = 2 * tx
                        d0, d1 = rows[a, s], rows[a, s + 1]
                        d2, d3 = rows[a, s + 2], rows[a, s + 3]
                        v[4 * a, ci, first + tx] = d0 - d2
                        v[4 * a + 1, ci, first + tx] = d1 + d2
                        v[4 * a + 2, ci, first + tx] = d2 - d1
                        v[4 * a + 3, ci, first + tx] = d1 - d3


@compiled.jit
def output_tiles(m, y, tiles_h, tiles_w):
    """m (16, K, N*tiles_h*tiles_w) -> y (N, K, H, W): A'MA."""
    n, k, h, w = y.shape
    for ki in compiled.prange(k):  # m's rows read from start to end
        out = numpy.empty((2 * tiles_h, 2 * tiles_w), y.dtype)
        top = numpy.empty((4, tiles_w), y.dtype)
        bottom = numpy.empty((4, tiles_w), y.dtype)
        for i in range(n):
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                for b in range(4):  # A' down the tile's four rows
                    for tx in range(tiles_w):
                        m1 = m[4 + b, ki, first + tx]
                        m2 = m[8 + b, ki, first + tx]
                        top[b, tx] = m[b, ki, first + tx] + m1 + m2
                        bottom[b, tx] = m1 - m2 - m[12 + b, ki, first + tx]
                for tx in range(tiles_w):  # then A across
                    r, s = 2 * ty, 2 * tx
                    out[r, s] = top[0, tx] + top[1, tx] + top[2, tx]
                    out[r, s + 1] = top[1, tx] - top[2, tx] - top[3, tx]
                    out[r + 1, s] = (bottom[0, tx] + bottom[1, tx]
                                     + bottom[2, tx])
                    out[r + 1, s + 1] = (bottom[1, tx] - bottom[2, tx]
                                         - bottom[3, tx])
            y[i, ki] = out[:h, :w]


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (16, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped. A row of tiles
    at a time, B first down all their columns (straight runs through
    gV's planes), then B' across (1.2-1.5x faster on 28x28 to 56x56 maps
    than finishing each tile in turn)."""
    n, c, h, w = gx.shape
    for i in compiled.prange(n):
        padded = numpy.empty((2 * tiles_h + 2, 2 * tiles_w + 2), gx.dtype)
        cols = numpy.empty((4, 4, tiles_w), gx.dtype)
        for ci in range(c):
            padded[:] = 0
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                for b in range(4):  # B down each column of gV
                    for tx in range(tiles_w):
                        t = first + tx
                        g0, g1 = gv[b, ci, t], gv[4 + b, ci, t]
                        g2, g3 = gv[8 + b, ci, t], gv[12 + b, ci, t]
                        cols[0, b, tx] = g0
                        cols[1, b, tx] = g1 - g2 + g3
                        cols[2, b, tx] = g1 + g2 - g0
                        cols[3, b, tx] = -g3
                r = 2 * ty
                for a in range(4):  # then B' across, added on
                    for tx in range(tiles_w):
                        t0, t1 = cols[a, 0, tx], cols[a, 1, tx]
                        t2, t3 = cols[a, 2, tx], cols[a, 3, tx]
                        s = 2 * tx
                        padded[r + a, s] += t0
                        padded[r + a, s + 1] += t1 - t2 + t3
                        padded[r + a, s + 2] += t1 + t2 - t0
                        padded[r + a, s + 3] -= t3
            gx[i, ci] = padded[1:h + 1, 1:w + 1]


@compiled.jit
def _filter_tiles(w, u):
    """u (16, K, C) = GgG' of every 3x3 filter g of w (K, C, 3, 3), G's
    rows being (1, 0, 0), (1, 1, 1)/2, (1, -1, 1)/2 and (0, 0, 1)."""
    k, c = w.shape[:2]
    for ki in compiled.prange(k):
        rows = numpy.empty((4, 3), w.dtype)
        for ci in range(c):
            for j in range(3):  # G down each column of g
                g0, g1, g2 = w[ki, ci, 0, j], w[ki, ci, 1, j], w[ki, ci, 2, j]
                rows[0, j] = g0
                rows[1, j] = (g0 + g1 + g2) * 0.5
                rows[2, j] = (g0 - g1 + g2) * 0.5
                rows[3, j] = g2
            for a in range(4):  # then G across
                t0, t1, t2 = rows[a, 0], rows[a, 1], rows[a, 2]
                u[4 * a, ki, ci] = t0
                u[4 * a + 1, ki, ci] = (t0 + t1 + t2) * 0.5
                u[4 * a + 2, ki, ci] = (t0 - t1 + t2) * 0.5
                u[4 * a + 3, ki, ci] = t2


@compiled.jit
def _filter_gradient(gu, gw):
    """gw (K, C, 3, 3) = G'(gU)G of every filter's (16, K, C) tile
    gradient."""
    k, c = gw.shape[:2]
    for ki in compiled.prange(k):
        rows = numpy.empty((3, 4), gw.dtype)
        for ci in range(c):
            for b in range(4):  # G' down each column of gU
                q0, q1 = gu[b, ki, ci], gu[4 + b, ki, ci]
                q2, q3 = gu[8 + b, ki, ci], gu[12 + b, ki, ci]
                rows[0, b] = q0 + (q1 + q2) * 0.5
                rows[1, b] = (q1 - q2) * 0.5
                rows[2, b] = (q1 + q2) * 0.5 + q3
            for i in range(3):  # then G across
                t0, t1, t2, t3 = rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3]
                gw[ki, ci, i, 0] = t0 + (t1 + t2) * 0.5
                gw[ki, ci, i, 1] = (t1 - t2) * 0.5
                gw[ki, ci, i, 2] = (t1 + t2) * 0.5 + t3


def filter_tiles(w):
    """(16, K, C): the transformed filters."""
    u = numpy.empty((16,) + w.shape[:2], w.dtype)
    _filter_tiles(w, u)
    return u


def filter_gradient(gu, w_shape):
    """(K, C, 3, 3): the filters' gradient from their tiles' (16, K, C)."""
    gw = numpy.empty(w_shape, gu.dtype)
    _filter_gradient(gu, gw)
    return gw
