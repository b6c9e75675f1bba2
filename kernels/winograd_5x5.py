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
BLOCK = 2  # outputs a tile gives, each way
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
    """x (N, C, H, W), padded by 2 -> v (36, C, N*tiles_h*tiles_w). One
    channel at a time, a row of tiles at a time: B' down the six rows for
    the whole width, kept as even and odd columns, then B across each
    tile (straight runs through both)."""
    n, c, h, w = x.shape
    half = tiles_w + 2  # even (or odd) columns of the padded width
    per_image = tiles_h * tiles_w
    for ci in compiled.prange(c):
        padded = numpy.zeros((2 * tiles_h + 4, 2 * half), x.dtype)
        even = numpy.empty((6, half), x.dtype)
        odd = numpy.empty((6, half), x.dtype)
        for i in range(n):
            padded[2:h + 2, 2:w + 2] = x[i, ci]
            for ty in range(tiles_h):
                r = 2 * ty
                for a in range(6):  # B' down the tile's six rows
                    for u in range(half):
                        total_e = B_T[a, 0] * padded[r, 2 * u]
                        total_o = B_T[a, 0] * padded[r, 2 * u + 1]
                        for q in range(1, 6):
                            total_e += B_T[a, q] * padded[r + q, 2 * u]
                            total_o += B_T[a, q] * padded[r + q, 2 * u + 1]
                        even[a, u] = total_e
                        odd[a, u] = total_o
                first = i * per_image + ty * tiles_w
                for a in range(6):  # then B across each tile's columns
                    for b in range(6):
                        c0, c1, c2 = B_T[b, 0], B_T[b, 1], B_T[b, 2]
                        c3, c4, c5 = B_T[b, 3], B_T[b, 4], B_T[b, 5]
                        for tx in range(tiles_w):
                            v[6 * a + b, ci, first + tx] = (
                                c0 * even[a, tx] + c1 * odd[a, tx]
                                + c2 * even[a, tx + 1] + c3 * odd[a, tx + 1]
                                + c4 * even[a, tx + 2] + c5 * odd[a, tx + 2])


@compiled.jit
def output_tiles(m, y, tiles_h, tiles_w):
    """m (36, K, N*tiles_h*tiles_w) -> y (N, K, H, W): A'MA. One channel
    at a time: A' down every tile, then A across, each in passes down the
    chunk's tiles (planes o[d, e]); then each y value read from its
    tile."""
    n, k, h, w = y.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ki in compiled.prange(k):
        rows = numpy.empty((2, 6, tiles), y.dtype)
        o = numpy.empty((2, 2, tiles), y.dtype)
        for d in range(2):  # A' down the tile's six rows
            for b in range(6):
                for t in range(tiles):
                    total = A_T[d, 0] * m[b, ki, t]
                    for a in range(1, 6):
                        total += A_T[d, a] * m[6 * a + b, ki, t]
                    rows[d, b, t] = total
        for d in range(2):  # then A across
            for e in range(2):
                for t in range(tiles):
                    total = A_T[e, 0] * rows[d, 0, t]
                    for b in range(1, 6):
                        total += A_T[e, b] * rows[d, b, t]
                    o[d, e, t] = total
        for i in range(n):
            for row in range(h):
                first = i * per_image + (row // 2) * tiles_w
                for x in range(w):
                    y[i, ki, row, x] = o[row % 2, x % 2, first + x // 2]


@compiled.jit(parallel=False)
def tile_gradients(gv, ci, q):
    """q[r, s, t] = (B gV B')[r, s] of every tile t of channel ci of gv
    (36, C, tiles): B' across each tile's rows, then B down, each in
    passes down all the tiles (F(4x4, 3x3) has the same B)."""
    tiles = gv.shape[2]
    rows = numpy.empty((6, 6, tiles), q.dtype)
    for a in range(6):  # each row of gV times B'
        for s in range(6):
            for t in range(tiles):
                total = gv[6 * a, ci, t] * B_T[0, s]
                for b in range(1, 6):
                    total += gv[6 * a + b, ci, t] * B_T[b, s]
                rows[a, s, t] = total
    for r in range(6):  # then B down
        for s in range(6):
            for t in range(tiles):
                total = B_T[0, r] * rows[0, s, t]
                for a in range(1, 6):
                    total += B_T[a, r] * rows[a, s, t]
                q[r, s, t] = total


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (36, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped. One channel at a
    time: B' across every tile's rows, then B down, each in passes down
    the chunk's tiles (planes q[r, s]); then each gx value as the sum of
    the (up to) nine tiles over it. Loops as long as the chunk, where a
    row of tiles at a time ran too short for vector instructions."""
    n, c, h, w = gx.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ci in compiled.prange(c):
        q = numpy.empty((6, 6, tiles), gx.dtype)
        tile_gradients(gv, ci, q)
        for i in range(n):
            for y in range(h):
                # Padded row y + 2 is row 2 j + (y % 2) of tile row
                # y // 2 + 1 - j; the same across.
                for x in range(w):
                    total = 0.0
                    for j in range(3):
                        ty = (y + 2) // 2 - j
                        if 0 <= ty < tiles_h:
                            r = 2 * j + y % 2
                            first = i * per_image + ty * tiles_w
                            for jj in range(3):
                                tx = (x + 2) // 2 - jj
                                if 0 <= tx < tiles_w:
                                    total += q[r, 2 * jj + x % 2, first + tx]
                    gx[i, ci, y, x] = total


def filter_transforms(g_matrix):
    """(filter_tiles, filter_gradient) for the points' (6, r) matrix G,
    compiled with G and r in them (F(4x4, 3x3) takes the same loops with
    its own G). Loops taking G as an argument ran 2-2.7x slower; written
    out as sums, no faster."""
    points, size = g_matrix.shape

    @compiled.jit
    def filter_tiles(w, u):
        """u (36, K, C) = GgG' of every r x r filter g of w (K, C, r, r),
        in float64."""
        k, c = w.shape[:2]
        for ki in compiled.prange(k):
            rows = numpy.empty((points, size))
            for ci in range(c):
                for a in range(points):  # G down each column of g
                    for j in range(size):
                        total = 0.0
                        for i in range(size):
                            total += g_matrix[a, i] * w[ki, ci, i, j]
                        rows[a, j] = total
                for a in range(points):  # then G across
                    for b in range(points):
                        total = 0.0
                        for j in range(size):
                            total += rows[a, j] * g_matrix[b, j]
                        u[points * a + b, ki, ci] = total

    @compiled.jit
    def filter_gradient(gu, gw):
        """gw (K, C, r, r) = G'(gU)G of every filter's (36, K, C) tile
        gradient, in float64."""
        k, c = gw.shape[:2]
        for ki in compiled.prange(k):
            rows = numpy.empty((size, points))
            for ci in range(c):
                for i in range(size):  # G' down each column of gU
                    for b in range(points):
                        total = 0.0
                        for a in range(points):
                            total += (g_matrix[a, i]
                                      * gu[points * a + b, ki, ci])
                        rows[i, b] = total
                for i in range(size):  # then G across
                    for j in range(size):
                        total = 0.0
                        for b in range(points):
                            total += rows[i, b] * g_matrix[b, j]
                        gw[ki, ci, i, j] = total

    return filter_tiles, filter_gradient


filter_tiles, filter_gradient = filter_transforms(G)
