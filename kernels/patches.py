"""Convolutions through patch matrices, a chunk of images at a time
(kernels/convolution.py's _Geometry says how each image's patch matrix is
built): the layers no other path takes, the first layers, strided ones
and 1x1 layers on small maps. 1x1 layers on big maps go straight from x
to y (kernels/pointwise.py)."""
import numpy

from kernels import blocks, pointwise, stacked


def forward(x, w, g, kept=None):
    """y = conv(x, w) through patch matrices (no bias). A list as `kept`
    receives every chunk's patch matrix for the backward pass. Each core
    takes a part of the chunks (kernels/stacked.py), with buffers of its
    own."""
    if g.direct:
        return pointwise.forward(x, w, g)
    w_matrix = w.reshape(g.out_c, g.k)
    y = numpy.empty((g.n, g.out_c, g.oh, g.ow), dtype=x.dtype)
    parts = list(g.chunks())
    if kept is not None:
        kept.extend([None] * len(parts))

    def chunks(_, share):
        padded = g.padded_buffer(x.dtype)
        if kept is None:
            patches = g.matrix_buffer(g.k, x.dtype)
        products = None if g.single else g.matrix_buffer(g.out_c, x.dtype)
        for index in range(share.start, share.stop):
            part = parts[index]
            start, count = part.start, part.stop - part.start
            if kept is not None:  # strided: the gather writes every value
                patches = kept[index] = g.matrix_buffer(g.k, x.dtype,
                                                        zeroed=False)
            for b in range(count):
                g.gather(x[start + b], padded, patches[:, b])
            used = count * g.columns
            if g.single:  # the product is the image's output as it stands
                numpy.matmul(w_matrix, patches[:, 0],
                             out=y[start].reshape(g.out_c, g.columns))
                continue
            numpy.matmul(w_matrix,
                         blocks.view(patches, (g.k, -1))[:, :used],
                         out=blocks.view(products, (g.out_c, -1))[:, :used])
            for b in range(count):
                y[start + b] = g.valid(products[:, b])
    stacked.in_parts(len(parts), chunks)
    return y


def backward(x, w, gy, g, want_x, want_w, kept=None):
    """(gx or None, gw or None) through patch matrices; `kept`, the forward
    pass's patch matrices of x, saves gathering them again. Each core
    takes a part of the chunks, with buffers and a weight gradient of its
    own."""
    if g.direct:
        return pointwise.backward(x, w, gy, g, want_x, want_w)
    w_matrix = w.reshape(g.out_c, g.k)
    gx = numpy.empty(x.shape, x.dtype) if want_x else None
    parts = list(g.chunks())
    if kept and (len(kept) != len(parts) or kept[0].shape[1] != g.chunk):
        kept = None  # forward cut other chunks (OpenBLAS's threads changed)
    gw_parts = (numpy.zeros((stacked.parts(len(parts)), g.out_c, g.k),
                            w.dtype) if want_w else None)

    def chunks(share_index, share):
        gw_part = numpy.empty((g.out_c, g.k), w.dtype) if want_w else None
        padded = g.padded_buffer(x.dtype)
        # Gradients land on the border too: a buffer of their own keeps
        # the gathering buffer's border zero.
        padded_grad = g.padded_buffer(x.dtype) if want_x else None
        patches = None if kept else g.matrix_buffer(g.k, x.dtype)
        # The wide layout's dropped columns of gy stay zero, so they add
        # nothing to either gradient.
        gy_blocks = None if g.single else g.matrix_buffer(g.out_c, x.dtype)
        for index in range(share.start, share.stop):
            part = parts[index]
            start, count = part.start, part.stop - part.start
            used = count * g.columns
            if g.single:
                gy_matrix = numpy.ascontiguousarray(gy[start]).reshape(
                    g.out_c, g.columns)
            else:
                for b in range(count):
                    g.valid(gy_blocks[:, b])[...] = gy[start + b]
                gy_matrix = blocks.view(gy_blocks, (g.out_c, -1))[:, :used]
            if kept:
                patches = kept[index]  # overwritten below by the gradient
            if want_w:
                if not kept:
                    for b in range(count):
                        g.gather(x[start + b], padded, patches[:, b])
                patch_matrix = blocks.view(patches, (g.k, -1))[:, :used]
                numpy.matmul(gy_matrix, patch_matrix.T, out=gw_part)
                gw_parts[share_index] += gw_part
            if want_x:
                patch_grad = blocks.view(patches, (g.k, -1))[:, :used]
                numpy.matmul(w_matrix.T, gy_matrix, out=patch_grad)
                for b in range(count):
                    g.scatter(patches[:, b], padded_grad, gx[start + b])
    stacked.in_parts(len(parts), chunks)
    gw = None if gw_parts is None else gw_parts.sum(axis=0)
    return gx, None if gw is None else gw.reshape(w.shape)
