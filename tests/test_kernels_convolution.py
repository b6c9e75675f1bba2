"""kernels/convolution.py against Chainer's own convolution_2d."""
import warnings

import chainer
import chainer.functions as F
from chainer.backends import intel64
from chainer.functions.connection import convolution_2d as chainer_conv
import numpy as np
import pytest

from kernels import (compiled, shifted, winograd, winograd_3x3, winograd_4x4,
                     winograd_5x5)
from kernels import convolution as kc

with warnings.catch_warnings():
    # chainer.testing, which gradient_check imports, applies a pytest mark
    # ('gpu') that this project does not register.
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check

# (x shape, W shape, stride, pad, cover_all)
CONVS = [
    ((2, 3, 5, 7), (4, 3, 1, 1), 1, 0, False),            # pointwise
    ((2, 3, 5, 7), (4, 3, 1, 1), 1, 0, True),
    ((1, 3, 5, 7), (4, 3, 1, 1), 1, 0, False),            # pointwise, direct
    ((2, 2, 48, 44), (3, 2, 1, 1), 1, 0, False),          # 2112 columns
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 0, False),            # wide
    ((2, 3, 8, 6), (4, 3, 3, 3), 1, 1, True),
    ((3, 5, 7, 9), (6, 5, 3, 3), 1, 1, False),            # odd tiles
    ((2, 3, 1, 2), (4, 3, 3, 3), 1, 1, False),            # one tile
    ((2, 2, 9, 7), (3, 2, 5, 5), 1, 2, False),
    ((3, 5, 7, 10), (6, 5, 5, 5), 1, 2, False),           # 5x5, odd tiles
    ((2, 3, 2, 1), (4, 3, 5, 5), 1, 2, False),            # 5x5, one tile
    ((2, 3, 7, 9), (4, 3, 5, 3), (1, 1), (2, 1), False),
    ((2, 3, 4, 5), (2, 3, 1, 1), 1, 1, False),            # 1x1 with pad
    ((2, 3, 9, 9), (4, 3, 3, 3), 2, 1, False),            # strided
    ((2, 3, 8, 10), (4, 3, 3, 3), 2, 0, False),
    ((2, 3, 8, 10), (4, 3, 3, 3), 2, 0, True),            # one more row/col
    ((2, 2, 10, 11), (3, 2, 3, 3), 3, 1, True),
    ((2, 2, 9, 8), (3, 2, 4, 3), (2, 3), (1, 0), False),
    ((2, 3, 23, 23), (4, 3, 11, 11), 4, 0, False),        # AlexNet conv1
    ((2, 3, 25, 25), (4, 3, 11, 11), 4, 0, True),
    ((2, 3, 16, 16), (4, 3, 3, 3), 1, 1, False),          # F(4x4, 3x3)
    ((2, 3, 14, 19), (4, 3, 3, 3), 1, 1, False),          # ragged 4x4 blocks
    ((2, 2, 5, 6), (3, 2, 2, 2), 1, 2, False),            # pad past reach
]


@pytest.fixture(autouse=True, params=['patches', 'shifted',
                                      'shifted-compiled', 'compiled'])
def stride1_strategy(request, monkeypatch):
    """Every test four times: stride-1 convolutions through the patch
    matrix, through kernels/shifted.py (with NumPy's copies, then with
    numba's), and with numba's loops (kernels/compiled.py), which take
    3x3 pad-1 and 5x5 pad-2 ones to kernels/winograd.py."""
    uses_numba = request.param.endswith('compiled')
    if uses_numba and not compiled.numba:
        pytest.skip('this strategy needs the numba extra')
    monkeypatch.setattr(kc, 'SHIFTED_BELOW_OUT_C',
                        10 ** 9 if request.param.startswith('shifted')
                        else 0)
    monkeypatch.setattr(compiled, 'ENABLED', uses_numba)
    return request.param


def dims(value):
    return 'x'.join(map(str, value)) if isinstance(value, tuple) else value


CONV_IDS = ['%s-w%s-s%s-p%s-%s' % (
    dims(c[0]), dims(c[1][2:]), dims(c[2]), dims(c[3]),
    'cover' if c[4] else 'exact') for c in CONVS]


def assert_close(actual, expected):
    """Loose enough for float32 summation order, tight for a wrong term."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-4,
                               atol=1e-5 * max(1, np.abs(expected).max()))


def forward_backward(function, x, W, b, gy, *args, want_x=True, want_w=True,
                     **kwargs):
    xv = chainer.Variable(x.copy()) if want_x else x
    Wv = chainer.Variable(W.copy(), requires_grad=want_w)
    bv = None if b is None else chainer.Variable(b.copy())
    y = function(xv, Wv, bv, *args, **kwargs)
    y.grad = gy.copy()
    y.backward()
    return (y.array, xv.grad if want_x else None, Wv.grad,
            None if b is None else bv.grad)


def inputs(x_shape, w_shape, bias, seed=0, dtype=np.float32):
    rng = np.random.RandomState(seed)
    x = rng.randn(*x_shape).astype(dtype)
    W = rng.randn(*w_shape).astype(dtype)
    b = rng.randn(w_shape[0]).astype(dtype) if bias else None
    return x, W, b, rng


def check_against_chainer(x, W, b, rng, stride, pad, cover_all, **kwargs):
    y_ref = kc.reference_convolution_2d(x, W, b, stride, pad, cover_all).array
    gy = rng.randn(*y_ref.shape).astype(x.dtype)
    args = (x, W, b, gy, stride, pad, cover_all)
    ours = forward_backward(kc.convolution_2d, *args, **kwargs)
    reference = forward_backward(kc.reference_convolution_2d, *args, **kwargs)
    for name, a, expected in zip(('y', 'gx', 'gW', 'gb'), ours, reference):
        assert (a is None) == (expected is None), name
        if a is not None:
            assert_close(a, expected)
    return ours


@pytest.mark.parametrize('case', CONVS, ids=CONV_IDS)
@pytest.mark.parametrize('bias', [True, False], ids=['bias', 'nobias'])
def test_convolution_equals_chainer(case, bias):
    x_shape, w_shape, stride, pad, cover_all = case
    x, W, b, rng = inputs(x_shape, w_shape, bias)
    check_against_chainer(x, W, b, rng, stride, pad, cover_all)


def geometry(x_shape, w_shape, stride, pad, cover_all):
    return kc._Geometry(x_shape, w_shape, kc._pair(stride), kc._pair(pad),
                        cover_all)


def two_images_per_chunk(monkeypatch, *case):
    g = geometry(*case)
    monkeypatch.setattr(kc, 'TARGET_COLUMNS', 2 * g.columns)
    monkeypatch.setattr(shifted, 'TARGET_COLUMNS',
                        2 * shifted.TallStack(g, np.float32).plane)
    if g.winograd:
        tiles = winograd._Tiles(g)
        monkeypatch.setattr(winograd, 'TARGET_VALUES',
                            2 * tiles.h * tiles.w * tiles.elements)


def images_per_chunk(*case):
    g = geometry(*case)
    if g.winograd:
        return winograd._Tiles(g).chunk
    return shifted.TallStack(g, np.float32).chunk if g.shifted else g.chunk


def chunked(name, *case, shrink=True):
    return pytest.param(case, shrink, id=name)


CHUNKED = [
    chunked('pointwise', (5, 3, 6, 7), (4, 3, 1, 1), 1, 0, False),
    chunked('wide-p0', (5, 2, 7, 6), (3, 2, 3, 3), 1, 0, False),
    chunked('strided-p0', (5, 2, 9, 9), (3, 2, 3, 3), 2, 0, False),
    chunked('wide-p1', (5, 2, 7, 6), (3, 2, 3, 3), 1, 1, False),
    chunked('strided-p1', (5, 2, 9, 9), (3, 2, 3, 3), 2, 1, False),
    chunked('strided-p0-cover_all-overhang', (5, 2, 8, 8), (3, 2, 3, 3), 2,
            0, True),
    # AlexNet conv2 (27x27, 5x5, pad 2) at the real chunk sizes: 3 images
    # per patch-matrix chunk, 5 per shifted one, 10 per Winograd one; a
    # batch of 13 has a short last chunk each way. The padded chunks check
    # that the input-gradient scatter leaves the gathering buffer's border
    # zero.
    chunked('alexnet-conv2-default-chunks', (13, 2, 27, 27), (3, 2, 5, 5), 1,
            2, False, shrink=False),
    chunked('wide-p2', (5, 2, 7, 6), (3, 2, 5, 5), 1, 2, False),
    chunked('wide-p1-4x4-blocks', (5, 2, 15, 14), (3, 2, 3, 3), 1, 1,
            False),
]


@pytest.mark.parametrize('case, shrink', CHUNKED)
def test_chunks_with_a_short_last_one(case, shrink, monkeypatch):
    if shrink:
        two_images_per_chunk(monkeypatch, *case)
    x_shape, w_shape, stride, pad, cover_all = case
    chunk = images_per_chunk(*case)
    assert 1 < chunk < x_shape[0] and x_shape[0] % chunk != 0
    x, W, b, rng = inputs(x_shape, w_shape, True)
    check_against_chainer(x, W, b, rng, stride, pad, cover_all)


@pytest.mark.parametrize('want_x, want_w', [(False, True), (True, False)],
                         ids=['x-plain-array', 'W-no-grad'])
def test_only_some_gradients(want_x, want_w, monkeypatch):
    # Several chunks, with padding: one gradient alone is right there.
    x, W, b, rng = inputs((5, 2, 7, 6), (3, 2, 3, 3), True)
    two_images_per_chunk(monkeypatch, x.shape, W.shape, 1, 1, False)
    y, gx, gW, gb = check_against_chainer(x, W, b, rng, 1, 1, False,
                                          want_x=want_x, want_w=want_w)
    assert (gx is not None) == want_x and (gW is not None) == want_w


def test_pointwise_products_go_straight_into_the_output_when_one_image_fills_them():
    assert geometry((1, 3, 5, 7), (4, 3, 1, 1), 1, 0, False).direct
    assert geometry((2, 2, 48, 44), (3, 2, 1, 1), 1, 0, False).direct
    assert not geometry((2, 3, 5, 7), (4, 3, 1, 1), 1, 0, False).direct
    # Several images a product, but each big enough on its own.
    big = geometry((8, 3, 23, 23), (4, 3, 1, 1), 1, 0, False)
    assert big.chunk > 1 and big.columns >= kc.DIRECT_FROM_COLUMNS
    assert big.direct
    assert not geometry((8, 3, 12, 13), (4, 3, 1, 1), 1, 0, False).direct
    assert not geometry((1, 3, 5, 7), (4, 3, 3, 3), 1, 1, False).direct


@pytest.mark.parametrize('case', [CONVS[i] for i in (13, 15, 18)],
                         ids=[CONV_IDS[i] for i in (13, 15, 18)])
@pytest.mark.parametrize('per_product', ['one-image', 'all-images'])
def test_strided_layers_keep_their_patches(case, per_product, monkeypatch):
    """Forward's patch matrices serve the weight gradient (no second
    gather) once; with one image per product its output is written in
    place. A second gradient of the same graph gathers again."""
    x_shape, w_shape, stride, pad, cover_all = case
    if per_product == 'one-image':
        monkeypatch.setattr(kc, 'TARGET_COLUMNS', 1)
    assert geometry(*case).single == (per_product == 'one-image')
    gathered = []
    original = kc._Geometry.gather
    monkeypatch.setattr(kc._Geometry, 'gather', lambda g, *a: (
        gathered.append(1), original(g, *a)))
    x, W, b, rng = inputs(x_shape, w_shape, True, 4)
    for want_x in (False, True):
        del gathered[:]
        check_against_chainer(x, W, b, rng, stride, pad, cover_all,
                              want_x=want_x)
        # Ours once each forward; Chainer's own does not call it.
        assert len(gathered) == x_shape[0]
    xv, Wv = chainer.Variable(x), chainer.Variable(W)
    y = kc.convolution_2d(xv, Wv, None, stride, pad, cover_all)
    gy = rng.randn(*y.shape).astype(np.float32)
    first = chainer.grad([y], [xv, Wv], [gy])
    second = chainer.grad([y], [xv, Wv], [gy])
    assert len(gathered) == 3 * x_shape[0]
    for a, b_ in zip(first, second):
        assert_close(b_.array, a.array)
    node = kc.Convolution2D(stride, pad, cover_all)
    with chainer.no_backprop_mode():  # no gradient to keep them for
        node.apply((x, W))
    assert node.kept_patches(x) is None


def test_kept_patches_cut_otherwise_are_gathered_again(monkeypatch):
    """Chunks follow the cores OpenBLAS has (kernels/stacked.py): if
    forward cut other chunks than backward would, its kept patch matrices
    are left unused, not misread."""
    x, W, _, rng = inputs((5, 2, 9, 9), (3, 2, 3, 3), False)
    y_ref = kc.reference_convolution_2d(x, W, None, 2, 1)
    gy = rng.randn(*y_ref.shape).astype(np.float32)
    xv, Wv = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    monkeypatch.setattr(kc.stacked, 'balanced_chunk', lambda items, chunk: 2)
    y = kc.convolution_2d(xv, Wv, None, 2, 1)
    monkeypatch.setattr(kc.stacked, 'balanced_chunk', lambda items, chunk: 5)
    gathered = []
    original = kc._Geometry.gather
    monkeypatch.setattr(kc._Geometry, 'gather', lambda g, *a: (
        gathered.append(1), original(g, *a)))
    gx, gW = chainer.grad([y], [xv, Wv], [gy])
    assert len(gathered) == 5  # gathered again, all in one chunk
    xr, Wr = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    ref = chainer.grad([kc.reference_convolution_2d(xr, Wr, None, 2, 1)],
                       [xr, Wr], [gy])
    assert_close(y.array, y_ref.array)
    assert_close(gx.array, ref[0].array)
    assert_close(gW.array, ref[1].array)


def test_non_contiguous_input():
    rng = np.random.RandomState(1)
    base = rng.randn(3, 6, 9, 11).astype(np.float32)
    W = rng.randn(4, 3, 3, 3).astype(np.float32)
    for x in (base[:, ::2, 1:, ::-1], base[:, :3].transpose(0, 1, 3, 2)):
        assert not x.flags.c_contiguous
        for stride, pad in ((1, 1), (2, 0)):
            check_against_chainer(x, W, None, rng, stride, pad, False)


# 5x5 (two), strided 3x3, 1x1, direct, pad-1 3x3
GRADIENT_CHECKED = (8, 9, 16, 0, 2, 6)


@pytest.mark.parametrize('case', [CONVS[i] for i in GRADIENT_CHECKED],
                         ids=[CONV_IDS[i] for i in GRADIENT_CHECKED])
def test_gradient_check(case):
    x_shape, w_shape, stride, pad, cover_all = case
    x, W, b, rng = inputs((1,) + x_shape[1:], w_shape, True, 2, np.float64)
    y_shape = kc.reference_convolution_2d(x, W, b, stride, pad,
                                          cover_all).shape
    gy = rng.randn(*y_shape)

    def conv(x, W, b):
        return kc.convolution_2d(x, W, b, stride, pad, cover_all)
    gradient_check.check_backward(conv, (x, W, b), gy, dtype=np.float64)


def test_dispatch(monkeypatch):
    x, W, b, rng = inputs((2, 4, 7, 7), (6, 4, 3, 3), True, 3)
    y = kc.convolution_2d(x, W, b)
    assert type(y.creator) is kc.Convolution2D
    assert type(kc.convolution_2d(chainer.Variable(x), W).creator) \
        is kc.Convolution2D
    # dilate=2 is a 5x5 kernel with zeros between the taps.
    y = kc.convolution_2d(x, W, b, pad=2, dilate=2)
    assert type(y.creator) is chainer_conv.Convolution2DFunction
    W_dilated = np.zeros((6, 4, 5, 5), np.float32)
    W_dilated[:, :, ::2, ::2] = W
    assert_close(y.array, kc.convolution_2d(x, W_dilated, b, pad=2).array)
    # groups=2 is two convolutions of half the channels each.
    W_grouped = W[:, :2]
    y = kc.convolution_2d(x, W_grouped, b, groups=2)
    assert type(y.creator) is chainer_conv.Convolution2DFunction
    halves = [kc.convolution_2d(x[:, 2 * i:2 * i + 2],
                                W_grouped[3 * i:3 * i + 3],
                                b[3 * i:3 * i + 3]).array for i in range(2)]
    assert_close(y.array, np.concatenate(halves, axis=1))
    assert kc.applies(x, W)
    # float16 has no BLAS products: Chainer's own path.
    assert not kc.applies(x.astype(np.float16), W.astype(np.float16))
    monkeypatch.setattr(intel64, 'should_use_ideep', lambda level: True)
    assert not kc.applies(x, W)
    assert type(kc.convolution_2d(x, W).creator) \
        is chainer_conv.Convolution2DFunction
    # Chainer's own, whether or not kernels.install() has replaced the name.
    assert (kc.reference_convolution_2d.__module__
            == 'chainer.functions.connection.convolution_2d')


def test_second_order_gradients_stay_on_these_kernels():
    # Their values: tests/test_kernels_drop_in.py.
    x, W, b, rng = inputs((1, 2, 5, 5), (3, 2, 3, 3), True, 4)
    x, W = chainer.Variable(x), chainer.Variable(W)
    y = kc.convolution_2d(x, W, b, pad=1)
    gy = rng.randn(*y.shape).astype(np.float32)
    gx, = chainer.grad([y], [x], grad_outputs=[gy],
                       enable_double_backprop=True)
    assert type(gx.creator) is kc.Convolution2DGrad
    gW, = chainer.grad([F.sum(gx * gx)], [W], enable_double_backprop=True)
    assert type(gW.creator) is kc.Convolution2DGrad
    assert gW.shape == W.shape and np.abs(gW.array).max() > 0


def test_input_smaller_than_kernel():
    x, W, _, _ = inputs((1, 2, 4, 2), (3, 2, 3, 3), False, 5)
    with pytest.raises(ValueError, match=r'4x2 input .* 3x3 kernel'):
        kc.convolution_2d(x, W)
    kc.convolution_2d(x, W, pad=(0, 1))  # padded up to the kernel: fine


def test_winograd_takes_3x3_pad_1_and_5x5_pad_2_stride_1_layers(
        stride1_strategy):
    def winograd_computes(*case):
        return geometry(*case).winograd
    on = stride1_strategy == 'compiled'
    assert winograd_computes((2, 3, 8, 8), (64, 3, 3, 3), 1, 1, False) is \
        (winograd_3x3 if on else None)
    assert winograd_computes((2, 3, 8, 8), (64, 3, 5, 5), 1, 2, False) is \
        (winograd_5x5 if on else None)
    # F(4x4, 3x3) from MIN_SIZE on, both sides.
    side = winograd_4x4.MIN_SIZE
    assert winograd_computes((2, 3, side, side + 5), (64, 3, 3, 3), 1, 1,
                             False) is (winograd_4x4 if on else None)
    assert winograd_computes((2, 3, side + 5, side - 1), (64, 3, 3, 3), 1,
                             1, False) is (winograd_3x3 if on else None)
    assert not winograd_computes((2, 3, 9, 9), (64, 3, 3, 3), 2, 1, False)
    assert not winograd_computes((2, 3, 8, 8), (64, 3, 3, 3), 1, 0, False)
    assert not winograd_computes((2, 3, 8, 8), (64, 3, 5, 5), 1, 1, False)
    assert not winograd_computes((2, 3, 8, 8), (64, 3, 5, 3), 1, 1, False)
