"""kernels/average_pooling.py against Chainer's own average pooling."""
import warnings

import chainer
from chainer.backends import intel64
from chainer.functions.pooling import average_pooling_2d as chainer_module
from chainer.utils import type_check
import numpy as np
import pytest

from kernels import average_pooling, blocks

with warnings.catch_warnings():
    # chainer.testing, which gradient_check imports, applies a pytest mark
    # ('gpu') that this project does not register.
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check

# (shape, ksize, stride, pad)
POOLINGS = [
    ((2, 4, 28, 28), 3, 1, 1),           # InceptionBN, stride 1
    ((2, 4, 14, 14), 3, 2, 1),           # InceptionBN, stride 2
    ((2, 4, 14, 14), 5, 3, 0),           # GoogLeNet's auxiliary heads
    ((2, 4, 7, 7), 7, None, 0),          # GoogLeNet's final pool
    ((2, 4, 8, 8), 8, 8, 0),             # DenseNet's global pool
    ((2, 4, 32, 32), 2, None, 0),        # DenseNet's transitions
    ((2, 4, 16, 16), 2, 2, 0),
    ((2, 3, 7, 9), 3, 2, 1),             # odd, non-square
    ((2, 3, 7, 9), 2, None, 0),          # last row and column not pooled
    ((1, 2, 9, 6), (2, 3), (1, 2), (1, 0)),
    ((2, 3, 10, 11), 4, 3, 2),           # pad wider than stride - 1
    ((1, 2, 8, 8), 2, 3, 1),             # stride > ksize: skipped inputs
    ((1, 1, 3, 3), 1, 2, 1),             # windows made only of padding
    ((1, 2, 5, 7), (5, 7), 1, 0),        # global, non-square
]
POOLING_IDS = ['%s-k%s-s%s-p%s' % ('x'.join(map(str, c[0])), c[1], c[2], c[3])
               for c in POOLINGS]


def forward_backward(function, x, gy, *args):
    x = chainer.Variable(x.copy())
    y = function(x, *args)
    y.grad = gy.copy()
    y.backward()
    return y.array, x.grad


def output_shape(x, *args):
    return average_pooling.reference_average_pooling_2d(x, *args).shape


@pytest.mark.parametrize('case', POOLINGS, ids=POOLING_IDS)
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_average_pooling_equals_chainer(case, dtype):
    shape, ksize, stride, pad = case
    rng = np.random.RandomState(0)
    x = rng.randn(*shape).astype(dtype)
    args = (ksize, stride, pad)
    gy = rng.randn(*output_shape(x, *args)).astype(dtype)
    y, gx = forward_backward(average_pooling.average_pooling_2d, x, gy, *args)
    y_ref, gx_ref = forward_backward(
        average_pooling.reference_average_pooling_2d, x, gy, *args)
    assert y.shape == y_ref.shape and y.dtype == y_ref.dtype
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    assert gx.shape == x.shape and gx.dtype == x.dtype
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-5, atol=1e-6)


def test_average_pooling_float16_and_non_contiguous_input():
    rng = np.random.RandomState(1)
    x = rng.randn(2, 3, 12, 10).astype(np.float32)[:, :, ::-1, 1:]
    gy = rng.randn(2, 3, 6, 5).astype(np.float32)
    for dtype, tolerance in ((np.float32, 1e-6), (np.float16, 2e-3)):
        y, gx = forward_backward(average_pooling.average_pooling_2d,
                                 x.astype(dtype), gy.astype(dtype), 3, 2, 1)
        assert y.dtype == dtype and gx.dtype == dtype
        y_ref, gx_ref = forward_backward(
            average_pooling.reference_average_pooling_2d, x, gy, 3, 2, 1)
        np.testing.assert_allclose(y, y_ref, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(gx, gx_ref, rtol=tolerance, atol=tolerance)


def test_average_pooling_chunks_of_planes(monkeypatch):
    # Small chunks: several chunks per call, the last one partial.
    monkeypatch.setattr(blocks, 'CHUNK_BYTES', 3 * 16 * 16 * 4)
    rng = np.random.RandomState(2)
    for shape, args in (((2, 5, 14, 14), (3, 2, 1)),
                        ((2, 5, 16, 16), (2, 2, 0))):
        x = rng.randn(*shape).astype(np.float32)
        gy = rng.randn(*output_shape(x, *args)).astype(np.float32)
        y, gx = forward_backward(average_pooling.average_pooling_2d,
                                 x, gy, *args)
        y_ref, gx_ref = forward_backward(
            average_pooling.reference_average_pooling_2d, x, gy, *args)
        np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gx, gx_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('index', [0, 1, 2, 3, 9, 11])
def test_average_pooling_gradient_check(index):
    shape, ksize, stride, pad = POOLINGS[index]
    rng = np.random.RandomState(3)
    x = rng.randn(1, 2, *shape[2:])
    args = (ksize, stride, pad)
    gy = rng.randn(*output_shape(x, *args))
    ggx = rng.randn(*x.shape)

    def pool(x):
        return average_pooling.average_pooling_2d(x, *args)
    gradient_check.check_backward(pool, x, gy, dtype=np.float64)
    gradient_check.check_double_backward(pool, x, gy, ggx, dtype=np.float64)


def test_average_pooling_dispatch(monkeypatch):
    x = np.random.RandomState(4).randn(1, 2, 6, 6).astype(np.float32)
    y = average_pooling.average_pooling_2d(x, 3, 2, 1)
    assert isinstance(y, chainer.Variable)
    assert type(y.creator) is average_pooling.AveragePooling2D
    with pytest.raises(type_check.InvalidType):
        average_pooling.average_pooling_2d(x[0], 3)
    monkeypatch.setattr(intel64, 'should_use_ideep', lambda level: True)
    y = average_pooling.average_pooling_2d(x, 3, 2, 1)
    assert type(y.creator) is chainer_module.AveragePooling2D
    # Chainer's original, even after kernels.install() has replaced the
    # module's attribute.
    reference = average_pooling.reference_average_pooling_2d
    assert (reference.__module__, reference.__name__) == (
        chainer_module.__name__, 'average_pooling_2d')


@pytest.mark.parametrize('ksize', [3, 7])
def test_average_pooling_empty_batch(ksize):
    x = np.zeros((0, 3, 7, 7), np.float32)
    gy = np.zeros(output_shape(x, ksize, None, 0), np.float32)
    y, gx = forward_backward(average_pooling.average_pooling_2d, x, gy, ksize)
    assert y.shape == gy.shape and gx.shape == x.shape
