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
BLOCK = 2  # outputs a tile gives, each way
ELEMENTS = 16
# gM = A gY A' (kernels/winograd.py's output_gradient_tiles).
A = numpy.array([[1, 0], [1, 1], [1, -1], [0, -1]], numpy.float32)


@compiled.jit
def input_tiles(x, v, tiles_h, tiles_w):
    """x (N, C, H, W), padded by 1 -> v (16, C, N*tiles_h*tiles_w). One
    channel at a time, a row of tiles at a time: B' down the four rows
    for the whole width, kept as even and odd columns, then B across each
    tile (straight runs through both)."""
    n, c, h, w = x.shape
    half = tiles_w + 1  # even (or odd) columns of the padded width
    per_image = tiles_h * tiles_w
    for ci in compiled.prange(c):
        padded = numpy.zeros((2 * tiles_h + 2, 2 * half), x.dtype)
        even = numpy.empty((4, half), x.dtype)
        odd = numpy.empty((4, half), x.dtype)
        for i in range(n):
            padded[1:h + 1, 1:w + 1] = x[i, ci]
            for ty in range(tiles_h):
                r = 2 * ty
                for u in range(half):  # B' down the tile's four rows
                    a0, a1 = padded[r, 2 * u], padded[r + 1, 2 * u]
                    a2, a3 = padded[r + 2, 2 * u], padded[r + 3, 2 * u]
                    even[0, u], even[1, u] = a0 - a2, a1 + a2
                    even[2, u], even[3, u] = a2 - a1, a1 - a3
                    a0, a1 = padded[r, 2 * u + 1], padded[r + 1, 2 * u + 1]
                    a2, a3 = padded[r + 2, 2 * u + 1], padded[r + 3, 2 * u + 1]
                    odd[0, u], odd[1, u] = a0 - a2, a1 + a2
                    odd[2, u], odd[3, u] = a2 - a1, a1 - a3
                first = i * per_image + ty * tiles_w
                for a in range(4):  # then B across each tile's columns
                    for tx in range(tiles_w):
                        d0, d1 = even[a, tx], odd[a, tx]
                        d2, d3 = even[a, tx + 1], odd[a, tx + 1]
                        v[4 * a, ci, first + tx] = d0 - d2
                        v[4 * a + 1, ci, first + tx] = d1 + d2
                        v[4 * a + 2, ci, first + tx] = d2 - d1
                        v[4 * a + 3, ci, first + tx] = d1 - d3


@compiled.jit
def output_tiles(m, y, tiles_h, tiles_w):
    """m (16, K, N*tiles_h*tiles_w) -> y (N, K, H, W): A'MA. One channel
    at a time: every tile's 2x2 outputs in one pass down the chunk's tiles
    (planes o[d, e]), then each y value read from its tile."""
    n, k, h, w = y.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ki in compiled.prange(k):
        o = numpy.empty((2, 2, tiles), y.dtype)
        for t in range(tiles):
            # A' down the tile's four rows ...
            m1, m2 = m[4, ki, t], m[8, ki, t]
            top0, bottom0 = m[0, ki, t] + m1 + m2, m1 - m2 - m[12, ki, t]
            m1, m2 = m[5, ki, t], m[9, ki, t]
            top1, bottom1 = m[1, ki, t] + m1 + m2, m1 - m2 - m[13, ki, t]
            m1, m2 = m[6, ki, t], m[10, ki, t]
            top2, bottom2 = m[2, ki, t] + m1 + m2, m1 - m2 - m[14, ki, t]
            m1, m2 = m[7, ki, t], m[11, ki, t]
            top3, bottom3 = m[3, ki, t] + m1 + m2, m1 - m2 - m[15, ki, t]
            # ... then A across
            o[0, 0, t] = top0 + top1 + top2
            o[0, 1, t] = top1 - top2 - top3
            o[1, 0, t] = bottom0 + bottom1 + bottom2
            o[1, 1, t] = bottom1 - bottom2 - bottom3
        for i in range(n):
            for row in range(h):
                first = i * per_image + (row // 2) * tiles_w
                for x in range(w):
                    y[i, ki, row, x] = o[row % 2, x % 2, first + x // 2]


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (16, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped. One channel at a
    time: first every tile's B gV B' in one pass down the chunk's tiles
    (planes q[r, s]), then each gx value as the sum of the (up to) four
    tiles over it. Loops as long as the chunk, where a row of tiles at a
    time ran too short for vector instructions on small maps (2x faster
    over GoogLeNet-BN's layers)."""
    n, c, h, w = gx.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ci in compiled.prange(c):
        q = numpy.empty((4, 4, tiles), gx.dtype)
        for t in range(tiles):
            # B down each column of gV (rows a of B gV) ...
            g0, g1 = gv[0, ci, t], gv[4, ci, t]
            g2, g3 = gv[8, ci, t], gv[12, ci, t]
            a00, a10, a20, a30 = g0, g1 - g2 + g3, g1 + g2 - g0, -g3
            g0, g1 = gv[1, ci, t], gv[5, ci, t]
            g2, g3 = gv[9, ci, t], gv[13, ci, t]
            a01, a11, a21, a31 = g0, g1 - g2 + g3, g1 + g2 - g0, -g3
            g0, g1 = gv[2, ci, t], gv[6, ci, t]
            g2, g3 = gv[10, ci, t], gv[14, ci, t]
            a02, a12, a22, a32 = g0, g1 - g2 + g3, g1 + g2 - g0, -g3
            g0, g1 = gv[3, ci, t], gv[7, ci, t]
            g2, g3 = gv[11, ci, t], gv[15, ci, t]
            a03, a13, a23, a33 = g0, g1 - g2 + g3, g1 + g2 - g0, -g3
            # ... then B' across each row
            q[0, 0, t], q[0, 1, t] = a00, a01 - a02 + a03
            q[0, 2, t], q[0, 3, t] = a01 + a02 - a00, -a03
            q[1, 0, t], q[1, 1, t] = a10, a11 - a12 + a13
            q[1, 2, t], q[1, 3, t] = a11 + a12 - a10, -a13
            q[2, 0, t], q[2, 1, t] = a20, a21 - a22 + a23
            q[2, 2, t], q[2, 3, t] = a21 + a22 - a20, -a23
            q[3, 0, t], q[3, 1, t] = a30, a31 - a32 + a33
            q[3, 2, t], q[3, 3, t] = a31 + a32 - a30, -a33
        for i in range(n):
            for y in range(h):
                # Padded row y + 1 is row r of tile row ty, and row r + 2
                # of tile row ty - 1; the same across.
                r, ty = (y + 1) % 2, (y + 1) // 2
                lower = i * per_image + ty * tiles_w
                upper = lower - tiles_w
                for x in range(w):
                    s, tx = (x + 1) % 2, (x + 1) // 2
                    total = 0.0
                    if ty < tiles_h:
                        if tx < tiles_w:
                            total += q[r, s, lower + tx]
                        if tx >= 1:
                            total += q[r, s + 2, lower + tx - 1]
                    if ty >= 1:
                        if tx < tiles_w:
                            total += q[r + 2, s, upper + tx]
                        if tx >= 1:
                            total += q[r + 2, s + 2, upper + tx - 1]
                    gx[i, ci, y, x] = total


@compiled.jit
def filter_tiles(w, u):
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
def filter_gradient(gu, gw):
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
