"""3x3 convolutions (stride 1, pad 1) by Winograd's F(2x2, 3x3).

Each 2x2 block of outputs is computed from the 4x4 tile of the padded
input around it: the tile is transformed (V = B'dB), multiplied element
by element with the transformed filter (U = GgG') and summed over the
input channels, then transformed back (Y = A'MA). The sums over channels
are 16 matrix products, (K x C) times (C x tiles), one per element of
the 4x4 tile: 16 multiplications per 4 outputs instead of 36, 2.25x
fewer than the patch matrix's product. The transforms are compiled loops
(kernels/compiled.py; additions only, G holds halves), so this path runs
only with numba. The backward pass has the same shape:

    gM = A gY A'                     each output tile's gradient
    gV = U' gM  (16 products)   ->   gx += B gV B'   (tiles overlap)
    gU = gM V'  (16 products)   ->   gW  = G' gU G

with V recomputed rather than kept from the forward pass. Images go in
chunks of about TARGET_TILES tiles so the transformed arrays stay near
the size of the patch matrices they replace. bench/winograd_probe.py
times the pieces against PyTorch's convolution.
"""
import numpy

from kernels import blocks, compiled

TARGET_TILES = 4096


def applies(g):
    """Whether geometry g is a convolution this module computes."""
    return (compiled.enabled() and g.kh == g.kw == 3 and
            g.sy == g.sx == 1 and (g.ph, g.pw) == (1, 1))


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
def output_gradient_tiles(gy, gm, tiles_h, tiles_w):
    """gy (N, K, H, W) -> gm (16, K, N*tiles_h*tiles_w): A gY A'."""
    n, k, h, w = gy.shape
    for ki in compiled.prange(k):
        padded = numpy.zeros((2 * tiles_h, 2 * tiles_w), gy.dtype)
        for i in range(n):
            padded[:h, :w] = gy[i, ki]
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                r = 2 * ty
                for tx in range(tiles_w):  # each tile's 16, straight-line
                    t, s = first + tx, 2 * tx
                    p, q = padded[r, s], padded[r, s + 1]
                    u, z = padded[r + 1, s], padded[r + 1, s + 1]
                    # rows of A gY: (p, q), (p+u, q+z), (p-u, q-z),
                    # (-u, -z); a row (c0, c1) times A' is
                    # (c0, c0+c1, c0-c1, -c1)
                    gm[0, ki, t] = p
                    gm[1, ki, t] = p + q
                    gm[2, ki, t] = p - q
                    gm[3, ki, t] = -q
                    gm[4, ki, t] = p + u
                    gm[5, ki, t] = p + u + q + z
                    gm[6, ki, t] = p + u - q - z
                    gm[7, ki, t] = -q - z
                    gm[8, ki, t] = p - u
                    gm[9, ki, t] = p - u + q - z
                    gm[10, ki, t] = p - u - q + z
                    gm[11, ki, t] = z - q
                    gm[12, ki, t] = -u
                    gm[13, ki, t] = -u - z
                    gm[14, ki, t] = z - u
                    gm[15, ki, t] = z


@compiled.jit
def input_gradient_tiles(gv, gx, tiles_h, tiles_w):
    """gv (16, C, N*tiles_h*tiles_w) -> gx (N, C, H, W): B gV B' of every
    tile, added where tiles overlap, the padding dropped."""
    n, c, h, w = gx.shape
    for i in compiled.prange(n):
        padded = numpy.empty((2 * tiles_h + 2, 2 * tiles_w + 2), gx.dtype)
        tile = numpy.empty((4, 4), gx.dtype)
        for ci in range(c):
            padded[:] = 0
            for ty in range(tiles_h):
                first = (i * tiles_h + ty) * tiles_w
                for tx in range(tiles_w):
                    t = first + tx
                    for b in range(4):  # B down each column of gV
                        g0, g1 = gv[b, ci, t], gv[4 + b, ci, t]
                        g2, g3 = gv[8 + b, ci, t], gv[12 + b, ci, t]
                        tile[0, b] = g0
                        tile[1, b] = g1 - g2 + g3
                        tile[2, b] = g1 + g2 - g0
                        tile[3, b] = -g3
                    r, s = 2 * ty, 2 * tx
                    for a in range(4):  # then B' across, added on
                        t0, t1 = tile[a, 0], tile[a, 1]
                        t2, t3 = tile[a, 2], tile[a, 3]
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


class _Tiles(object):
    """Tile counts and image chunks of geometry g."""

    def __init__(self, g):
        self.h, self.w = (g.h + 1) // 2, (g.w + 1) // 2
        self.chunk = blocks.images_per_chunk(g.n, self.h * self.w,
                                             TARGET_TILES)

    def buffer(self, rows, dtype):
        """(16, rows, tiles of a full chunk)."""
        return numpy.empty((16, rows, self.chunk * self.h * self.w), dtype)

    def used(self, array, part):
        return array[:, :, :(part.stop - part.start) * self.h * self.w]


def forward(x, w, g):
    """y = conv(x, w), no bias."""
    tiles = _Tiles(g)
    u = filter_tiles(w)
    y = numpy.empty((g.n, g.out_c, g.h, g.w), x.dtype)
    v, m = tiles.buffer(g.c, x.dtype), tiles.buffer(g.out_c, x.dtype)
    for part in blocks.chunks(g.n, tiles.chunk):
        v_part, m_part = tiles.used(v, part), tiles.used(m, part)
        input_tiles(x[part], v_part, tiles.h, tiles.w)
        numpy.matmul(u, v_part, out=m_part)
        output_tiles(m_part, y[part], tiles.h, tiles.w)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) of forward."""
    tiles = _Tiles(g)
    dtype = x.dtype
    gm = tiles.buffer(g.out_c, dtype)
    if want_x:
        gx = numpy.empty(x.shape, dtype)
        u_t = filter_tiles(w).transpose(0, 2, 1)
        gv = tiles.buffer(g.c, dtype)
    if want_w:
        gu = numpy.zeros((16, g.out_c, g.c), dtype)
        gu_part = numpy.empty_like(gu)
        v = tiles.buffer(g.c, dtype)
    for part in blocks.chunks(g.n, tiles.chunk):
        gm_part = tiles.used(gm, part)
        output_gradient_tiles(gy[part], gm_part, tiles.h, tiles.w)
        if want_w:
            v_part = tiles.used(v, part)
            input_tiles(x[part], v_part, tiles.h, tiles.w)
            numpy.matmul(gm_part, v_part.transpose(0, 2, 1), out=gu_part)
            gu += gu_part
        if want_x:
            gv_part = tiles.used(gv, part)
            numpy.matmul(u_t, gm_part, out=gv_part)
            input_gradient_tiles(gv_part, gx[part], tiles.h, tiles.w)
    gw = filter_gradient(gu, w.shape) if want_w else None
    return (gx if want_x else None), gw
