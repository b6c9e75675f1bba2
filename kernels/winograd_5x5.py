"""The transforms of Winograd's F(2x2, 5x5), for 5x5 stride-1 pad-2
convolutions (AlexNet's and NIN's conv2).

Each 2x2 block of outputs comes from the 6x6 tile of the padded input
around it: 36 multiplications per 4 outputs where the patch matrix has
100, 2.8x fewer. kernels/winograd.py runs them (the chunks, the 36 matrix
products); this module holds the transforms, built on the interpolation
points 0, 1, -1, 2, -2 and infinity:

    V = B'dB   (6x6 input tile)      Y = A'MA   (2x2 outputs)
    U = GgG'   (6x6 from 5x5)        gM = A gY A',  gx += B gV B',  gW = G'gUG

B' and A' hold small integers (exact in float32); G's quarters to
twenty-fourths are applied to the filters in float64. The tile loops read
B' and A' as module globals, which numba compiles in as constants.
"""
import numpy

from kernels import compiled

SIZE = 5
PAD = 2
ELEMENTS = 36
# B' (6 x 6), A' (2 x 6) and G (6 x 5) for the points 0, 1, -1, 2, -2, inf.
B_T = numpy.array([[4, 0, -5, 0, 1, 0],
                   [0, -4, -4, 1, 1, 0],
                   [0, 4, -4, -1, 1, 0],
                   [0, -2, -1, 2, 1, 0],
                   [0, 2, -1, -2, 1, 0],
                   [0, 4, 0, -5, 0, 1]], numpy.float32)
A_T = numpy.array([[1, 1, 1, 1, 1, 0],
                   [0, 1, -1, 2, -2, 1]], numpy.float32)
# gM = A gY A' (kernels/winograd.py's output_gradient_tiles).
A = numpy.ascontiguousarray(A_T.T)
G = numpy.array([[1 / 4, 0, 0, 0, 0],
                 [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6],
                 [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3],
                 [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3],
                 [0, 0, 0, 0, 1]])


@compiled.jit
def input_tiles(x, v, tiles_h, tiles_w):
    """x (N, C, H, W), padded by 2 -> v (36, C, N*tiles_h*tiles_w)."""
    n, c, h, w = x.shape
    width = 2 * tiles_w + 4
    for i in compiled.prange(n):
        padded = numpy.zeros((2 * tiles_h + 4, width), x.dtype)
        rows = numpy.empty((6, width), x.dtype)
        for ci in range(c):
            padded[2:h + 2, 2:w + 2] = x[i, ci]
            for ty in range(tiles_h):
                r = 2 * ty
                for a in range(6):  # B' down the tile's six rows
                    for s in range(width):
                        total = B_T[a, 0] * padded[r, s]
                        for q in range(1, 6):
                            total += B_T[a, q] * padded[r + q, s]
                        rows[a, s] = total
                first = (i * tiles_h + ty) * tiles_w
                for a in range(6):  # then B across each tile's columns
                    for b in range(6):
                        for tx in range(tiles_w):
                            s = 2 * tx
                            total = B_T[b, 0] * rows[a, s]
                            for q in range(1, 6):
                                total += B_T[b, q] * rows[a, s + q]
                            v[6 * a + b, ci, first + tx] = total


@compiled.jit
def output_tiles(m, y, tiles_h, tiles_w):
    """m (36, K, N*tiles_h*tiles_w) -> y (N, K, H, W): A'MA."""
    n, k, h, w = y.shape
    for ki in compiled.prange(k):
        out = numpy.empty((2 * tiles_h, 2 * tiles_w), y.dtype)
        rows = numpy.empty((2, 6, tiles_w), y.dtype)
        for i in range(n):
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                for d in range(2):  # A' down the tile's six rows
                    for b in range(6):
                        for tx in range(tiles_w):
                            total = A_T[d, 0] * m[b, ki, first + tx]
                            for a in range(1, 6):
                                total += A_T[d, a] * m[6 * a + b, ki,
                                                       first + tx]
                            rows[d, b, tx] = total
                for d in range(2):  # then A across
                    for e in range(2):
                        for tx in range(tiles_w):
                            total = A_T[e, 0] * rows[d, 0, tx]
                            for b in range(1, 6):
                                total += A_T[e, b] * rows[d, b, tx]
                            out[2 * ty + d, 2 * tx + e] = total
            y[i, ki] = out[:h, :w]


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (36, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped."""
    n, c, h, w = gx.shape
    for i in compiled.prange(n):
        padded = numpy.empty((2 * tiles_h + 4, 2 * tiles_w + 4), gx.dtype)
        rows = numpy.empty((6, 6, tiles_w), gx.dtype)
        for ci in range(c):
            padded[:] = 0
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                for a in range(6):  # each row of gV times B'
                    for s in range(6):
                        for tx in range(tiles_w):
                            total = gv[6 * a, ci, first + tx] * B_T[0, s]
                            for b in range(1, 6):
                                total += (gv[6 * a + b, ci, first + tx]
                                          * B_T[b, s])
                            rows[a, s, tx] = total
                for r in range(6):  # then B down, added on
                    for s in range(6):
                        for tx in range(tiles_w):
                            total = B_T[0, r] * rows[0, s, tx]
                            for a in range(1, 6):
                                total += B_T[a, r] * rows[a, s, tx]
                            padded[2 * ty + r, 2 * tx + s] += total
            gx[i, ci] = padded[2:h + 2, 2:w + 2]


def filter_tiles(w):
    """(36, K, C): GgG' of every 5x5 filter g of w (K, C, 5, 5)."""
    k, c = w.shape[:2]
    rows = numpy.matmul(G, w.astype(numpy.float64))  # (K, C, 6, 5)
    u = numpy.matmul(rows, G.T)  # (K, C, 6, 6)
    return numpy.ascontiguousarray(
        u.reshape(k, c, ELEMENTS).transpose(2, 0, 1), dtype=w.dtype)


def filter_gradient(gu, w_shape):
    """(K, C, 5, 5): G'(gU)G of every filter's (36, K, C) tile gradient."""
    k, c = w_shape[:2]
    tiles = gu.astype(numpy.float64).transpose(1, 2, 0).reshape(k, c, 6, 6)
    return numpy.matmul(numpy.matmul(G.T, tiles), G).astype(gu.dtype)
