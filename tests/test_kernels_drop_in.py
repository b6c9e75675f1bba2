"""kernels/ as a drop-in for Chainer's functions beyond first-order
training: second-order gradients, calls only Chainer's function computes
(other dtypes, groups, dilation, memory layouts, options) and the names
kernels.install() replaces. Chainer's originals are the reference_*
functions each kernels module saved before any install()."""
import warnings

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import memory_layouts
from chainer.functions.connection import convolution_2d as chainer_conv
from chainer.functions.normalization import batch_normalization as chainer_bn
import numpy as np
import pytest

import kernels
from kernels import batch_normalization as kb
from kernels import blocks
from kernels import convolution as kc

with warnings.catch_warnings():
    # chainer.testing, which gradient_check imports, applies a pytest mark
    # ('gpu') that this project does not register.
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check


@pytest.fixture(params=['patches', 'shifted'])
def stride1_strategy(request, monkeypatch):
    """Stride-1 convolutions through the patch matrix, then through
    kernels/shifted.py."""
    monkeypatch.setattr(kc, 'SHIFTED_BELOW_OUT_C',
                        0 if request.param == 'patches' else 10 ** 9)


# (x shape, W shape, stride, pad, cover_all, bias)
DOUBLE_CONVS = [
    ((2, 3, 4, 5), (2, 3, 1, 1), 1, 0, False, True),     # pointwise
    ((2, 2, 5, 4), (3, 2, 3, 3), 1, 1, False, True),     # wide
    ((2, 2, 5, 4), (3, 2, 3, 2), 1, (0, 1), True, False),
    ((2, 2, 7, 6), (3, 2, 3, 3), 2, 1, True, True),      # strided
]


def convolution_of(stride, pad, cover_all, function=None):
    def convolve(*inputs):
        return (function or kc.convolution_2d)(
            *inputs, stride=stride, pad=pad, cover_all=cover_all)
    return convolve


DOUBLE_CONV_IDS = ['pointwise', 'wide', 'wide-cover_all-nobias',
                   'strided-cover_all']


@pytest.mark.parametrize('case', DOUBLE_CONVS, ids=DOUBLE_CONV_IDS)
def test_convolution_double_backward(case, stride1_strategy):
    x_shape, w_shape, stride, pad, cover_all, bias = case
    rng = np.random.RandomState(0)
    inputs = [rng.randn(*x_shape), rng.randn(*w_shape)]
    if bias:
        inputs.append(rng.randn(w_shape[0]))
    convolve = convolution_of(stride, pad, cover_all)
    y = convolve(*inputs)
    assert type(y.creator) is kc.Convolution2D
    grad_grads = [rng.randn(*a.shape) for a in inputs]
    gradient_check.check_double_backward(
        convolve, inputs, rng.randn(*y.shape), grad_grads, dtype=np.float64)


@pytest.mark.parametrize('shape', [(3, 4, 2, 3), (5, 2, 1, 1)])
def test_batch_normalization_double_backward(shape):
    rng = np.random.RandomState(1)
    inputs = [rng.randn(*shape), rng.uniform(0.5, 1.5, shape[1]),
              rng.randn(shape[1])]
    assert type(kb.batch_normalization(*inputs).creator) \
        is kb.BatchNormalization
    grad_grads = [rng.randn(*a.shape) for a in inputs]
    gradient_check.check_double_backward(
        kb.batch_normalization, inputs, rng.randn(*shape), grad_grads,
        dtype=np.float64, atol=1e-5, rtol=1e-4)


def second_order(function, arrays, penalized, seed=2):
    """Gradients of sum(r * g) over the first-order gradients g of the
    inputs in `penalized` (random r), with respect to every input and to
    the output gradient gy: all of the gradient node's backward."""
    rng = np.random.RandomState(seed)
    variables = [chainer.Variable(a.copy()) for a in arrays]
    y = function(*variables)
    gy = chainer.Variable(rng.randn(*y.shape))
    grads = chainer.grad([y], variables, grad_outputs=[gy],
                         enable_double_backprop=True)
    penalty = sum(F.sum(grads[i] * rng.randn(*grads[i].shape))
                  for i in penalized)
    result = chainer.grad([penalty], variables + [gy])
    # None (nothing depends on it) and zeros are the same answer.
    return [np.zeros_like(v.array) if g is None else g.array
            for v, g in zip(variables + [gy], result)]


def assert_same_second_order(ours, reference, arrays, penalized):
    with kernels.reference():
        expected = second_order(reference, arrays, penalized)
    for name, a, b in zip('abcd', second_order(ours, arrays, penalized),
                          expected):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11,
                                   err_msg='input %s' % name)


@pytest.mark.parametrize('penalized', [(0,), (1,), (2,), (0, 1, 2)],
                         ids=['gx', 'gW', 'gb', 'all'])
@pytest.mark.parametrize('case', [DOUBLE_CONVS[1], DOUBLE_CONVS[3]],
                         ids=[DOUBLE_CONV_IDS[1], DOUBLE_CONV_IDS[3]])
def test_convolution_second_order_equals_chainer(case, penalized,
                                                 stride1_strategy):
    x_shape, w_shape, stride, pad, cover_all, _ = case
    rng = np.random.RandomState(3)
    arrays = [rng.randn(*x_shape), rng.randn(*w_shape),
              rng.randn(w_shape[0])]
    assert_same_second_order(
        convolution_of(stride, pad, cover_all),
        convolution_of(stride, pad, cover_all, kc.reference_convolution_2d),
        arrays, penalized)


@pytest.mark.parametrize('penalized', [(0,), (1,), (2,), (0, 1, 2)],
                         ids=['gx', 'ggamma', 'gbeta', 'all'])
def test_batch_normalization_second_order_equals_chainer(penalized):
    rng = np.random.RandomState(4)
    arrays = [rng.randn(4, 3, 2, 3) * 2 + 1, rng.uniform(0.5, 1.5, 3),
              rng.randn(3)]
    assert_same_second_order(kb.batch_normalization,
                             kb.reference_batch_normalization, arrays,
                             penalized)


def test_batch_normalization_second_order_with_a_zero_gamma():
    # Chainer's formula divides by gamma; the gradient itself is finite.
    rng = np.random.RandomState(5)
    inputs = [rng.randn(3, 2, 2, 2), np.array([0.0, 1.2]), rng.randn(2)]
    grad_grads = [rng.randn(*a.shape) for a in inputs]
    gradient_check.check_double_backward(
        kb.batch_normalization, inputs, rng.randn(3, 2, 2, 2), grad_grads,
        dtype=np.float64, atol=1e-5, rtol=1e-4)


class TinyNet(chainer.Chain):
    """Every replaced function Chainer can differentiate twice (not LRN:
    see test_kernels_pooling_lrn.py), through the names install()
    patches."""

    def __init__(self):
        super().__init__()
        w = chainer.initializers.Normal(0.5, rng=np.random.RandomState(6))
        with self.init_scope():
            self.conv = L.Convolution2D(2, 4, 3, pad=1, initialW=w)
            self.bn = L.BatchNormalization(4, dtype=np.float64)

    def forward(self, x):
        h = F.max_pooling_2d(F.tanh(self.bn(self.conv(x))), 3, 2, pad=1)
        return F.sum(F.average_pooling_2d(h, 2) ** 2)


def input_gradient_penalty(fast):
    """Parameter gradients of |d loss / d x|^2, as a gradient penalty
    (WGAN-GP) needs them."""
    kernels.use(fast)
    model = TinyNet()
    model.conv.W.array = model.conv.W.array.astype(np.float64)
    model.conv.b.array = model.conv.b.array.astype(np.float64)
    x = chainer.Variable(np.random.RandomState(7).randn(2, 2, 6, 6))
    gx, = chainer.grad([model(x)], [x], enable_double_backprop=True)
    penalty = F.sum(gx * gx)
    model.cleargrads()
    penalty.backward()
    return {name: p.grad for name, p in model.namedparams()}


def test_installed_gradient_penalty_equals_chainer():
    ours = input_gradient_penalty(fast=True)
    assert kernels.installed()
    expected = input_gradient_penalty(fast=False)
    for name, grad in expected.items():
        assert np.abs(grad).max() > 0, name
        np.testing.assert_allclose(ours[name], grad, rtol=1e-8, atol=1e-12,
                                   err_msg=name)


def channels_last(shape, rng):
    """A Variable in cuDNN's channels-last layout (its .array refuses)."""
    return chainer.Variable(
        rng.randn(*shape).astype(np.float32),
        layout=memory_layouts.CUDNN_CHANNEL_LAST_X)


def test_non_standard_layout_goes_to_chainer():
    rng = np.random.RandomState(8)
    x = chainer.Variable(rng.randn(2, 4, 5, 3).astype(np.float32),
                         layout=memory_layouts.CUDNN_CHANNEL_LAST_X)
    assert x.shape == (2, 3, 4, 5)  # (N, C, H, W) whatever the layout
    with pytest.raises(RuntimeError):
        x.array  # what the eligibility check must not ask for
    assert not blocks.numpy_inputs(x)
    assert not blocks.numpy_inputs(np.zeros(1), None, x)
    gamma = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    beta = rng.randn(3).astype(np.float32)
    y = kb.batch_normalization(x, gamma, beta)
    assert type(y.creator) is chainer_bn.BatchNormalization
    assert y.layout == x.layout
    standard = kb.batch_normalization(x.as_layout(None), gamma, beta)
    assert type(standard.creator) is kb.BatchNormalization
    np.testing.assert_allclose(y.as_layout(None).array, standard.array,
                               rtol=1e-5, atol=1e-5)
    # Chainer's CPU convolution refuses other layouts: its own error.
    W = rng.randn(2, 3, 3, 3).astype(np.float32)
    with pytest.raises(RuntimeError, match='Non-standard memory layouts'):
        kc.convolution_2d(x, W)


def conv_grid():
    grid = []
    for dtype in ('float16', 'float32', 'float64', 'float32/float64'):
        for groups in (1, 2):
            for dilate in (1, 2):
                for cover_all in (False, True):
                    grid.append(pytest.param(
                        dtype, groups, dilate, cover_all,
                        id='%s-g%d-d%d-%s' % (
                            dtype, groups, dilate,
                            'cover' if cover_all else 'exact')))
    return grid


@pytest.mark.parametrize('dtypes, groups, dilate, cover_all', conv_grid())
def test_convolution_grid_equals_chainer(dtypes, groups, dilate, cover_all):
    x_dtype, w_dtype = (dtypes.split('/') * 2)[:2]
    rng = np.random.RandomState(9)
    x = rng.randn(2, 4, 7, 6).astype(x_dtype)
    W = rng.randn(6, 4 // groups, 3, 3).astype(w_dtype)
    b = rng.randn(6).astype(x_dtype)
    options = dict(stride=2, pad=1, cover_all=cover_all, dilate=dilate,
                   groups=groups)
    results = []
    for function in (kc.convolution_2d, kc.reference_convolution_2d):
        variables = [chainer.Variable(a.copy()) for a in (x, W, b)]
        y = function(*variables, **options)
        y.grad = np.random.RandomState(10).randn(*y.shape).astype(y.dtype)
        y.backward()
        results.append([y] + [v.grad for v in variables])
    ours_expected = (groups == dilate == 1 and x_dtype == w_dtype
                     and x_dtype != 'float16')
    assert (type(results[0][0].creator) is kc.Convolution2D) \
        == ours_expected
    tolerance = dict(rtol=1e-2, atol=1e-2) if 'float16' in dtypes else \
        dict(rtol=1e-4, atol=1e-5)
    results[0][0], results[1][0] = results[0][0].array, results[1][0].array
    for name, a, expected in zip(('y', 'gx', 'gW', 'gb'), *results):
        assert a.dtype == expected.dtype, name
        np.testing.assert_allclose(a, expected, err_msg=name, **tolerance)


def test_convolution_options_only_chainer_knows():
    x = np.ones((1, 2, 4, 4), np.float32)
    W = np.ones((3, 2, 3, 3), np.float32)
    # Chainer's answers: no cuDNN on the CPU, removed arguments refused.
    with pytest.raises(RuntimeError, match='cudnn_fast'):
        kc.convolution_2d(x, W, cudnn_fast=True)
    with pytest.raises(ValueError, match='deterministic'):
        kc.convolution_2d(x, W, deterministic=True)
    y = kc.convolution_2d(x, W, cudnn_fast=False)
    assert type(y.creator) is kc.Convolution2D
    y = kc.convolution_2d(x, W, chainer.Variable(np.zeros(3, np.float32)),
                          dilate=(1, 1), groups=1)
    assert type(y.creator) is kc.Convolution2D
    assert type(kc.convolution_2d(x, W, pad=1, dilate=(1, 2)).creator) \
        is chainer_conv.Convolution2DFunction
