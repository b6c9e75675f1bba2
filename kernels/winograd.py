"""Stride-1 "same" convolutions by Winograd's minimal filtering: 3x3 with
pad 1 by F(2x2, 3x3) (kernels/winograd_3x3.py), or by F(4x4, 3x3) on
maps big enough for 4x4 blocks (kernels/winograd_4x4.py), 5x5 with pad 2
by F(2x2, 5x5) (kernels/winograd_5x5.py).

Each 2x2 block of outputs is computed from the (r+1)x(r+1) tile of the
padded input around it (r the kernel's size; each 4x4 block from a 6x6
tile in F(4x4, 3x3)): the tile is transformed
(V = B'dB), multiplied element by element with the transformed filter
(U = GgG') and summed over the input channels, then transformed back
(Y = A'MA). The sums over channels are one matrix product per element of
the tile, (K x C) times (C x tiles): 16 multiplications per 4 outputs
instead of 36 for 3x3 kernels (36 per 16 in F(4x4, 3x3)), 36 instead of
100 for 5x5 ones. The
transforms are compiled loops (kernels/compiled.py), so this path runs
only with numba. The backward pass has the same shape:

    gM = A gY A'                     each output tile's gradient
    gV = U' gM  (products)      ->   gx += B gV B'   (tiles overlap)
    gU = gM V'  (products)      ->   gW  = G' gU G

with V recomputed rather than kept from the forward pass. Images go in
chunks of about TARGET_VALUES transformed values per channel (4096 tiles
of 4x4, 1820 of 6x6), so the transformed arrays stay near the size of the
patch matrices they replace. bench/winograd_probe.py
times the pieces against PyTorch's convolution.
"""
import numpy

from kernels import (blocks, compiled, stacked, winograd_3x3, winograd_4x4,
                     winograd_5x5)

TARGET_VALUES = 65536
# Each module: SIZE, PAD, ELEMENTS, BLOCK and the transforms; the first
# that takes a layer computes it.
FORMS = (winograd_4x4, winograd_3x3, winograd_5x5)


def transforms(g):
    """The module of transforms that computes geometry g, or None."""
    if not compiled.enabled() or (g.sy, g.sx) != (1, 1) or g.kh != g.kw:
        return None
    for form in FORMS:
        if (g.kh == form.SIZE and (g.ph, g.pw) == (form.PAD, form.PAD)
                and min(g.h, g.w) >= getattr(form, 'MIN_SIZE', 0)):
            return form
    return None


@compiled.jit
def output_gradient_tiles(gy, gm, tiles_h, tiles_w, a):
    """gy (N, K, H, W) -> gm (elements, K, N*tiles_h*tiles_w): A gY A' of
    every 2x2 output block, A being the form's (r+1, 2) matrix. Per
    channel, the blocks' four corners are first laid out as four rows
    (each gy value put in its place, in gy's order), then each element of
    gM is one pass of four multiply-adds down them."""
    n, k, h, w = gy.shape
    size = a.shape[0]
    per_image = tiles_h * tiles_w
    tiles = n * per_image
    ragged = h % 2 == 1 or w % 2 == 1  # corners past the edge are zero
    for ki in compiled.prange(k):
        corners = numpy.empty((2, 2, tiles), gy.dtype)
        if ragged:
            corners[:] = 0
        for i in range(n):
            for row in range(h):
                first = i * per_image + (row // 2) * tiles_w
                for x in range(w):
                    corners[row % 2, x % 2, first + x // 2] = gy[i, ki, row, x]
        for r in range(size):
            for s in range(size):
                c0, c1 = a[r, 0] * a[s, 0], a[r, 0] * a[s, 1]
                c2, c3 = a[r, 1] * a[s, 0], a[r, 1] * a[s, 1]
                for t in range(tiles):
                    gm[size * r + s, ki, t] = (
                        c0 * corners[0, 0, t] + c1 * corners[0, 1, t]
                        + c2 * corners[1, 0, t] + c3 * corners[1, 1, t])


class _Tiles(object):
    """Tile counts and image chunks of geometry g."""

    def __init__(self, g):
        block = g.winograd.BLOCK
        self.h, self.w = -(-g.h // block), -(-g.w // block)
        self.elements = g.winograd.ELEMENTS
        self.chunk = blocks.images_per_chunk(
            g.n, self.h * self.w * self.elements, TARGET_VALUES)

    def buffer(self, rows, dtype):
        """(elements, rows, tiles of a full chunk)."""
        return numpy.empty((self.elements, rows,
                            self.chunk * self.h * self.w), dtype)

    def used(self, array, part):
        return array[:, :, :(part.stop - part.start) * self.h * self.w]


def _filter_tiles(form, w):
    """(elements, K, C): the form's transformed filters."""
    u = numpy.empty((form.ELEMENTS,) + w.shape[:2], w.dtype)
    form.filter_tiles(w, u)
    return u


def forward(x, w, g):
    """y = conv(x, w), no bias."""
    form, tiles = g.winograd, _Tiles(g)
    u = _filter_tiles(form, w)
    y = numpy.empty((g.n, g.out_c, g.h, g.w), x.dtype)
    v, m = tiles.buffer(g.c, x.dtype), tiles.buffer(g.out_c, x.dtype)
    for part in blocks.chunks(g.n, tiles.chunk):
        v_part, m_part = tiles.used(v, part), tiles.used(m, part)
        form.input_tiles(x[part], v_part, tiles.h, tiles.w)
        stacked.matmul(u, v_part, m_part)
        form.output_tiles(m_part, y[part], tiles.h, tiles.w)
    return y


def backward(x, w, gy, g, want_x, want_w):
    """(gx or None, gw or None) of forward."""
    form, tiles = g.winograd, _Tiles(g)
    dtype = x.dtype
    gm = tiles.buffer(g.out_c, dtype)
    if want_x:
        gx = numpy.empty(x.shape, dtype)
        u_t = _filter_tiles(form, w).transpose(0, 2, 1)
        gv = tiles.buffer(g.c, dtype)
    if want_w:
        gu = numpy.zeros((tiles.elements, g.out_c, g.c), dtype)
        gu_part = numpy.empty_like(gu)
        v = tiles.buffer(g.c, dtype)
    for part in blocks.chunks(g.n, tiles.chunk):
        gm_part = tiles.used(gm, part)
        if form.BLOCK == 2:
            output_gradient_tiles(gy[part], gm_part, tiles.h, tiles.w,
                                  form.A)
        else:
            form.output_gradient_tiles(gy[part], gm_part, tiles.h, tiles.w)
        if want_w:
            v_part = tiles.used(v, part)
            form.input_tiles(x[part], v_part, tiles.h, tiles.w)
            stacked.matmul(gm_part, v_part.transpose(0, 2, 1), gu_part)
            gu += gu_part
        if want_x:
            gv_part = tiles.used(gv, part)
            stacked.matmul(u_t, gm_part, gv_part)
            form.input_gradient_tiles(gv_part, gx[part], tiles.h, tiles.w)
    gw = None
    if want_w:
        gw = numpy.empty(w.shape, dtype)
        form.filter_gradient(gu, gw)
    return (gx if want_x else None), gw
