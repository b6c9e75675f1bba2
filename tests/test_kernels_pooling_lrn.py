"""kernels/pooling.py and kernels/normalization.py against Chainer's own."""
import warnings

import chainer
from chainer.backends import intel64
from chainer.functions.normalization import local_response_normalization \
    as chainer_lrn_module
from chainer.functions.pooling import max_pooling_nd
import numpy as np
import pytest

import kernels
from kernels import compiled, normalization, pooling

with warnings.catch_warnings():
    # chainer.testing, which gradient_check imports, applies a pytest mark
    # ('gpu') that this project does not register.
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check

# (shape, ksize, stride, pad, cover_all)
POOLINGS = [
    ((2, 3, 55, 55), 3, 2, 0, True),     # AlexNet / NIN
    ((2, 4, 13, 13), 3, 2, 0, True),     # AlexNet's last pool
    ((2, 3, 28, 28), 3, 2, 1, True),     # GoogLeNet-BN stem
    ((2, 3, 14, 14), 3, 1, 1, True),     # inception pool branch
    ((2, 3, 7, 9), 3, 2, 1, True),       # odd, non-square
    ((2, 3, 7, 9), 3, 2, 0, False),
    ((2, 3, 8, 11), 2, None, 0, True),   # stride = ksize
    ((1, 2, 9, 6), (2, 3), (1, 2), (1, 0), True),
    ((1, 2, 10, 10), 3, 3, 1, False),
    ((2, 2, 6, 6), 4, 2, 1, True),
    ((1, 1, 3, 3), 1, 2, 1, True),       # windows made only of padding
]
POOLING_IDS = ['%s-k%s-s%s-p%s-%s' % (
    'x'.join(map(str, c[0])), c[1], c[2], c[3], c[4]) for c in POOLINGS]
# Max pooling runs both ways: kernels/compiled.py's loops and NumPy's.
LOOPS = ['numpy'] + (['numba'] if compiled.numba is not None else [])


@pytest.fixture(params=LOOPS)
def loops(request, monkeypatch):
    monkeypatch.setattr(compiled, 'ENABLED', request.param == 'numba')
    return request.param


def distinct_values(shape, rng, dtype=np.float32):
    """No two equal: max pooling then has one winner per window."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape)
            .astype(dtype) * 0.5 - 3)


def forward_backward(function, x, gy, *args, **kwargs):
    x = chainer.Variable(x.copy())
    y = function(x, *args, **kwargs)
    y.grad = gy.copy()
    y.backward()
    return y.array, x.grad


def pooling_output_shape(x, ksize, stride, pad, cover_all):
    return pooling.reference_max_pooling_2d(
        x, ksize, stride, pad, cover_all).shape


@pytest.mark.parametrize('case', POOLINGS, ids=POOLING_IDS)
@pytest.mark.parametrize('ties', [False, True], ids=['distinct', 'ties'])
def test_max_pooling_equals_chainer(case, ties, loops):
    shape, ksize, stride, pad, cover_all = case
    rng = np.random.RandomState(0)
    if ties:
        # Integer values in a narrow range: most windows have several maxima,
        # and the gradient must go to the one Chainer's argmax picks.
        x = rng.randint(0, 3, shape).astype(np.float32)
    else:
        x = distinct_values(shape, rng)
    args = (ksize, stride, pad, cover_all)
    gy = rng.randn(*pooling_output_shape(x, *args)).astype(np.float32)
    y, gx = forward_backward(pooling.max_pooling_2d, x, gy, *args)
    y_ref, gx_ref = forward_backward(
        pooling.reference_max_pooling_2d, x, gy, *args)
    assert y.shape == y_ref.shape and y.dtype == y_ref.dtype
    np.testing.assert_array_equal(y, y_ref)
    assert gx.shape == x.shape and gx.dtype == x.dtype
    np.testing.assert_array_equal(gx, gx_ref)


def test_max_pooling_default_stride_and_non_contiguous_input(loops):
    rng = np.random.RandomState(1)
    x = distinct_values((2, 3, 12, 10), rng)[:, :, ::-1, 1:]
    gy = rng.randn(2, 3, 6, 5).astype(np.float32)
    y, gx = forward_backward(pooling.max_pooling_2d, x, gy, 2)
    y_ref, gx_ref = forward_backward(
        pooling.reference_max_pooling_2d, x, gy, 2)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


@pytest.mark.parametrize('case', [POOLINGS[3], POOLINGS[4], POOLINGS[7]],
                         ids=[POOLING_IDS[3], POOLING_IDS[4], POOLING_IDS[7]])
def test_max_pooling_gradient_check(case, loops):
    shape, ksize, stride, pad, cover_all = case
    rng = np.random.RandomState(2)
    # Values 0.5 apart: finite differences (eps 1e-3) never change a max.
    x = distinct_values((1,) + shape[1:], rng, np.float64)
    args = (ksize, stride, pad, cover_all)
    gy = rng.randn(*pooling_output_shape(x, *args))
    ggx = rng.randn(*x.shape)

    def pool(x):
        return pooling.max_pooling_2d(x, *args)
    gradient_check.check_backward(pool, x, gy, dtype=np.float64)
    gradient_check.check_double_backward(pool, x, gy, ggx, dtype=np.float64)


@pytest.mark.skipif(compiled.numba is None, reason='the numba extra')
def test_compiled_gradient_does_the_work(monkeypatch):
    calls = []
    original = pooling._scatter_compiled
    monkeypatch.setattr(pooling, '_scatter_compiled',
                        lambda *a: calls.append(a[0].dtype) or original(*a))
    x = distinct_values((2, 3, 9, 9), np.random.RandomState(5))
    gy = np.ones((2, 3, 4, 4), np.float32)
    for enabled, dtype in ((True, np.float32), (False, np.float32),
                           (True, np.float16)):
        monkeypatch.setattr(compiled, 'ENABLED', enabled)
        forward_backward(pooling.max_pooling_2d, x.astype(dtype),
                         gy.astype(dtype), 3, 2)
    assert calls == [np.float32]


def test_max_pooling_dispatch(monkeypatch):
    x = np.random.RandomState(3).randn(1, 2, 6, 6).astype(np.float32)
    y = pooling.max_pooling_2d(x, 3, 2)
    assert isinstance(y, chainer.Variable)
    assert type(y.creator) is pooling.MaxPooling2D
    y, indexes = pooling.max_pooling_2d(x, 3, 2, return_indices=True)
    assert type(y.creator) is max_pooling_nd.MaxPoolingND
    assert indexes.shape == y.shape
    monkeypatch.setattr(intel64, 'should_use_ideep', lambda level: True)
    y = pooling.max_pooling_2d(x, 3, 2)
    assert type(y.creator) is max_pooling_nd.MaxPoolingND
    with pytest.raises(ValueError):
        pooling.max_pooling_2d(x[0], 3)
    with kernels.reference():  # install() patches max_pooling_nd too
        assert (pooling.reference_max_pooling_2d
                is max_pooling_nd.max_pooling_2d)


# (shape, keyword arguments)
LRNS = [
    ((2, 7, 5, 4), {}),
    ((2, 96, 5, 5), {}),                 # AlexNet's channel count
    ((3, 6), {}),                        # (N, C) only
    ((1, 4, 3, 3, 2), dict(n=7, alpha=0.1)),
    ((2, 9, 3, 3), dict(n=4, k=1, alpha=1e-2, beta=0.6)),
    ((2, 3, 4, 4), dict(n=1, alpha=0.5)),
]
LRN_IDS = ['x'.join(map(str, c[0])) + '-' + '-'.join(
    '%s%s' % item for item in sorted(c[1].items())) for c in LRNS]


@pytest.mark.parametrize('case', LRNS, ids=LRN_IDS)
def test_lrn_equals_chainer(case):
    shape, kwargs = case
    rng = np.random.RandomState(4)
    # Scaled so that the window sums matter next to k.
    x = (rng.randn(*shape) * 20).astype(np.float32)
    gy = rng.randn(*shape).astype(np.float32)
    y, gx = forward_backward(
        normalization.local_response_normalization, x, gy, **kwargs)
    y_ref, gx_ref = forward_backward(
        normalization.reference_local_response_normalization, x, gy,
        **kwargs)
    assert y.dtype == y_ref.dtype and gx.dtype == gx_ref.dtype
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('case', [LRNS[0], LRNS[2], LRNS[3], LRNS[4]],
                         ids=[LRN_IDS[0], LRN_IDS[2], LRN_IDS[3], LRN_IDS[4]])
def test_lrn_gradient_check(case):
    shape, kwargs = case
    rng = np.random.RandomState(5)
    x = rng.randn(*shape) * 20
    gy, ggx = rng.randn(*shape), rng.randn(*shape)

    def lrn(x):
        return normalization.local_response_normalization(x, **kwargs)
    gradient_check.check_backward(lrn, x, gy, dtype=np.float64)
    # Chainer's LRN has no second-order gradient; this one has.
    gradient_check.check_double_backward(lrn, x, gy, ggx, dtype=np.float64)


def test_lrn_dispatch(monkeypatch):
    x = np.random.RandomState(6).randn(2, 6, 3, 3).astype(np.float32)
    y = normalization.local_response_normalization(x)
    assert isinstance(y, chainer.Variable)
    assert type(y.creator) is normalization.LocalResponseNormalization
    monkeypatch.setattr(intel64, 'should_use_ideep', lambda level: True)
    y = normalization.local_response_normalization(x)
    assert type(y.creator) is chainer_lrn_module.LocalResponseNormalization
    assert (normalization.reference_local_response_normalization
            is chainer_lrn_module.local_response_normalization)
