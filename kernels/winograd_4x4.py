"""The transforms of Winograd's F(4x4, 3x3), for 3x3 stride-1 pad-1
convolutions on maps of at least MIN_SIZE (kernels/winograd.py takes
F(2x2, 3x3) below that).

Each 4x4 block of outputs comes from the 6x6 tile of the padded input
around it: 36 multiplications per 16 outputs where F(2x2, 3x3) has 64, so
its matrix products take 0.56x the arithmetic (GoogLeNet-BN's 3x3 layers
on 15x15 to 57x57 maps measured 0.6x the time). The points are F(2x2,
5x5)'s (0, 1, -1, 2, -2 and infinity): B' is the same, and so is the
input gradient's tile transform (winograd_5x5.tile_gradients).

    V = B'dB   (6x6 input tile)      Y = A'MA   (4x4 outputs)
    U = GgG'   (6x6 from 3x3)        gM = A gY A',  gx += B gV B',  gW = G'gUG

A' (4 x 6) is written out in the loops: rows (1, 1, 1, 1, 1, 0),
(0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0) and (0, 1, -1, 8, -8, 1). Like
the other forms, each loop runs one channel at a time, down all the
chunk's tiles.
"""
import numpy

from kernels import compiled, winograd_5x5

SIZE = 3
PAD = 1
ELEMENTS = 36
BLOCK = 4
# Smallest map side taken: 8x8 maps have too few blocks for wide
# products, and 13x13 ones waste a quarter of theirs on the padding (4x4
# blocks cover 16x16); both measured slower than F(2x2, 3x3).
MIN_SIZE = 14
G = numpy.array([[1 / 4, 0, 0],
                 [-1 / 6, -1 / 6, -1 / 6],
                 [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6],
                 [1 / 24, -1 / 12, 1 / 6],
                 [0, 0, 1]])


@compiled.jit
def input_tiles(x, v, tiles_h, tiles_w):
    """x (N, C, H, W), padded by 1 -> v (36, C, N*tiles_h*tiles_w). Per
    channel: B' down each row of tiles for the whole width, its columns
    dealt out to six planes (the tile's columns 0-5 for every tile), then
    B across in one pass down all the tiles."""
    n, c, h, w = x.shape
    width = 4 * tiles_w + 2
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ci in compiled.prange(c):
        padded = numpy.zeros((4 * tiles_h + 2, width), x.dtype)
        rows = numpy.empty((6, width), x.dtype)
        for i in range(n):
            padded[1:h + 1, 1:w + 1] = x[i, ci]
            for ty in range(tiles_h):
                r = 4 * ty
                for s in range(width):  # B' down the tile's six rows
                    d0, d1 = padded[r, s], padded[r + 1, s]
                    d2, d3 = padded[r + 2, s], padded[r + 3, s]
                    d4, d5 = padded[r + 4, s], padded[r + 5, s]
                    rows[0, s] = 4 * d0 - 5 * d2 + d4
                    rows[1, s] = d3 + d4 - 4 * (d1 + d2)
                    rows[2, s] = d4 - d3 + 4 * (d1 - d2)
                    rows[3, s] = d4 - d2 + 2 * (d3 - d1)
                    rows[4, s] = d4 - d2 - 2 * (d3 - d1)
                    rows[5, s] = 4 * d1 - 5 * d3 + d5
                first = i * per_image + ty * tiles_w
                for a in range(6):  # then B across each tile
                    for tx in range(tiles_w):
                        s, t = 4 * tx, first + tx
                        d0, d1 = rows[a, s], rows[a, s + 1]
                        d2, d3 = rows[a, s + 2], rows[a, s + 3]
                        d4, d5 = rows[a, s + 4], rows[a, s + 5]
                        v[6 * a, ci, t] = 4 * d0 - 5 * d2 + d4
                        v[6 * a + 1, ci, t] = d3 + d4 - 4 * (d1 + d2)
                        v[6 * a + 2, ci, t] = d4 - d3 + 4 * (d1 - d2)
                        v[6 * a + 3, ci, t] = d4 - d2 + 2 * (d3 - d1)
                        v[6 * a + 4, ci, t] = d4 - d2 - 2 * (d3 - d1)
                        v[6 * a + 5, ci, t] = 4 * d1 - 5 * d3 + d5


@compiled.jit
def output_tiles(m, y, tiles_h, tiles_w):
    """m (36, K, N*tiles_h*tiles_w) -> y (N, K, H, W): A'MA. Per channel:
    A' down every tile, then A across (passes down all the tiles, planes
    o[d, e]), then each y value read from its tile."""
    n, k, h, w = y.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ki in compiled.prange(k):
        rows = numpy.empty((4, 6, tiles), y.dtype)
        o = numpy.empty((4, 4, tiles), y.dtype)
        for b in range(6):  # A' down the tile's six rows
            for t in range(tiles):
                m0, m1 = m[b, ki, t], m[6 + b, ki, t]
                m2, m3 = m[12 + b, ki, t], m[18 + b, ki, t]
                m4, m5 = m[24 + b, ki, t], m[30 + b, ki, t]
                rows[0, b, t] = m0 + m1 + m2 + m3 + m4
                rows[1, b, t] = m1 - m2 + 2 * (m3 - m4)
                rows[2, b, t] = m1 + m2 + 4 * (m3 + m4)
                rows[3, b, t] = m1 - m2 + 8 * (m3 - m4) + m5
        for d in range(4):  # then A across
            for t in range(tiles):
                m0, m1 = rows[d, 0, t], rows[d, 1, t]
                m2, m3 = rows[d, 2, t], rows[d, 3, t]
                m4, m5 = rows[d, 4, t], rows[d, 5, t]
                o[d, 0, t] = m0 + m1 + m2 + m3 + m4
                o[d, 1, t] = m1 - m2 + 2 * (m3 - m4)
                o[d, 2, t] = m1 + m2 + 4 * (m3 + m4)
                o[d, 3, t] = m1 - m2 + 8 * (m3 - m4) + m5
        for i in range(n):
            for row in range(h):
                first = i * per_image + (row // 4) * tiles_w
                for x in range(w):
                    y[i, ki, row, x] = o[row % 4, x % 4, first + x // 4]


@compiled.jit
def output_gradient_tiles(gy, gm, tiles_h, tiles_w):
    """gy (N, K, H, W) -> gm (36, K, N*tiles_h*tiles_w): A gY A' of every
    4x4 output block. Per channel: the blocks' values laid out as planes
    (each gy value put in its place), then A down and A' across in passes
    down all the tiles."""
    n, k, h, w = gy.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    ragged = h % 4 != 0 or w % 4 != 0  # values past the edge are zero
    for ki in compiled.prange(k):
        block = numpy.empty((4, 4, tiles), gy.dtype)
        rows = numpy.empty((6, 4, tiles), gy.dtype)
        if ragged:
            block[:] = 0
        for i in range(n):
            for row in range(h):
                first = i * per_image + (row // 4) * tiles_w
                for x in range(w):
                    block[row % 4, x % 4, first + x // 4] = gy[i, ki, row, x]
        for e in range(4):  # A down each column of the block
            for t in range(tiles):
                y0, y1 = block[0, e, t], block[1, e, t]
                y2, y3 = block[2, e, t], block[3, e, t]
                rows[0, e, t] = y0
                rows[1, e, t] = y0 + y1 + y2 + y3
                rows[2, e, t] = y0 - y1 + y2 - y3
                rows[3, e, t] = y0 + 2 * y1 + 4 * y2 + 8 * y3
                rows[4, e, t] = y0 - 2 * y1 + 4 * y2 - 8 * y3
                rows[5, e, t] = y3
        for r in range(6):  # then A' across
            for t in range(tiles):
                y0, y1 = rows[r, 0, t], rows[r, 1, t]
                y2, y3 = rows[r, 2, t], rows[r, 3, t]
                gm[6 * r, ki, t] = y0
                gm[6 * r + 1, ki, t] = y0 + y1 + y2 + y3
                gm[6 * r + 2, ki, t] = y0 - y1 + y2 - y3
                gm[6 * r + 3, ki, t] = y0 + 2 * y1 + 4 * y2 + 8 * y3
                gm[6 * r + 4, ki, t] = y0 - 2 * y1 + 4 * y2 - 8 * y3
                gm[6 * r + 5, ki, t] = y3


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (36, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped. Per channel:
    every tile's B gV B', then each gx value as the sum of the (up to)
    four tiles over it."""
    n, c, h, w = gx.shape
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    for ci in compiled.prange(c):
        q = numpy.empty((6, 6, tiles), gx.dtype)
        winograd_5x5.tile_gradients(gv, ci, q)
        for i in range(n):
            for y in range(h):
                # Padded row y + 1 is row r of tile row ty, and row r + 4
                # of tile row ty - 1 when r + 4 < 6; the same across.
                r, ty = (y + 1) % 4, (y + 1) // 4
                lower = i * per_image + ty * tiles_w
                upper = lower - tiles_w
                has_lower, has_upper = ty < tiles_h, ty >= 1 and r < 2
                for x in range(w):
                    s, tx = (x + 1) % 4, (x + 1) // 4
                    has_left = tx >= 1 and s < 2
                    total = 0.0
                    if has_lower:
                        if tx < tiles_w:
                            total += q[r, s, lower + tx]
                        if has_left:
                            total += q[r, s + 4, lower + tx - 1]
                    if has_upper:
                        if tx < tiles_w:
                            total += q[r + 4, s, upper + tx]
                        if has_left:
                            total += q[r + 4, s + 4, upper + tx - 1]
                    gx[i, ci, y, x] = total


# GgG' and its gradient: F(2x2, 5x5)'s loops with this G compiled in.
filter_tiles, filter_gradient = winograd_5x5.filter_transforms(G)
