"""kernels/relu.py against Chainer's own ReLU and its gradient."""
import warnings

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.functions.activation import relu as chainer_relu
import numpy as np
import pytest

import kernels
from kernels import compiled, relu

with warnings.catch_warnings():
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check

needs_numba = pytest.mark.skipif(not compiled.enabled(),
                                 reason='numba is not installed')
# One array under the parallel threshold, one over it (odd, so the last
# thread's share is short).
SHAPES = [(2, 3, 5, 7), (3, 5, 131, 137)]


def forward_backward(x, gy):
    x = chainer.Variable(x.copy())
    y = F.relu(x)
    y.grad = gy.copy()
    y.backward()
    return y, x.grad


def special_values(shape, dtype, seed):
    """Random values with NaN, +-0 and +-inf among them."""
    a = np.random.RandomState(seed).randn(*shape).astype(dtype)
    a.flat[:5] = [np.nan, 0.0, -0.0, np.inf, -np.inf]
    return a


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('dtype', [np.float32, np.float64, np.float16])
def test_relu_equals_chainer_bit_for_bit(shape, dtype):
    x = special_values(shape, dtype, 0)
    gy = special_values(shape, dtype, 1)[::-1].copy()
    with np.errstate(invalid='ignore'):  # NaN * 0, as in NumPy
        kernels.install()
        y, gx = forward_backward(x, gy)
        kernels.uninstall()
        y_ref, gx_ref = forward_backward(x, gy)
    assert type(y_ref.creator) is relu.reference_ReLU
    assert y.dtype == y_ref.dtype and gx.dtype == gx_ref.dtype
    np.testing.assert_array_equal(y.array, y_ref.array)  # NaN where NaN
    np.testing.assert_array_equal(gx, gx_ref)
    # The signs of zeros too (-0.0 == 0.0 above).
    np.testing.assert_array_equal(np.signbit(y.array), np.signbit(y_ref.array))
    np.testing.assert_array_equal(np.signbit(gx), np.signbit(gx_ref))


@needs_numba
def test_compiled_path_runs_where_it_should(monkeypatch):
    calls = []
    for name in ('_rectify', '_rectify_gradient', '_rectify_gradient_planes'):
        original = getattr(relu, name)
        monkeypatch.setattr(relu, name, lambda *a, _name=name, _f=original:
                            calls.append(_name) or _f(*a))
    kernels.install()
    big = np.ones(SHAPES[1], np.float32)
    forward_backward(big, big)
    assert calls == ['_rectify', '_rectify_gradient']
    del calls[:]
    forward_backward(np.ones(SHAPES[0], np.float32),
                     np.ones(SHAPES[0], np.float32))
    forward_backward(big.astype(np.float16), big.astype(np.float16))
    assert calls == []  # too small, or float16
    y = F.relu(big[:, :, ::-1])  # not contiguous
    y.grad = big[:, :, ::-1]
    y.backward()
    assert calls == []
    # A channel slice (one branch's share of a concatenation's gradient):
    # contiguous planes, compiled plane by plane, same values.
    wide = special_values((3, 9, 131, 137), np.float32, 6)
    x = chainer.Variable(special_values(SHAPES[1], np.float32, 7))
    y = F.relu(x)
    y.grad = wide[:, 2:7]
    y.backward()
    assert calls == ['_rectify', '_rectify_gradient_planes']
    with np.errstate(invalid='ignore'):
        np.testing.assert_array_equal(x.grad, wide[:, 2:7] * (y.array > 0))


def test_every_caller_builds_our_nodes():
    kernels.install()
    x = np.random.RandomState(2).randn(1, 2, 6, 6).astype(np.float32)
    y = F.relu(x)
    assert type(y.creator) is relu.ReLU
    # L.MLPConvolution2D keeps the F.relu it was given at import.
    mlp = L.MLPConvolution2D(2, (3, 3), 1)
    out = mlp(x)  # conv, relu, conv (no activation after the last)
    assert type(out.creator.inputs[0].creator) is relu.ReLU
    out.grad = np.ones_like(out.array)
    out.backward()
    kernels.uninstall()
    assert chainer_relu.ReLU is relu.reference_ReLU
    assert type(F.relu(x).creator) is relu.reference_ReLU


def test_relu_gradient_check():
    kernels.install()
    rng = np.random.RandomState(3)
    x = rng.uniform(0.1, 1, SHAPES[1]) * rng.choice([-1, 1], SHAPES[1])
    gy = rng.randn(*SHAPES[1])
    ggx = rng.randn(*SHAPES[1])
    gradient_check.check_backward(F.relu, x, gy, dtype=np.float64)
    gradient_check.check_double_backward(F.relu, x, gy, ggx,
                                         dtype=np.float64)
