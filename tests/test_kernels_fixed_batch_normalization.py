"""kernels/fixed_batch_normalization.py (batch normalization at test time)
against Chainer's own fixed_batch_normalization."""
import chainer
import chainer.links as L
import numpy as np
import pytest

import kernels
from kernels import fixed_batch_normalization as fixed

TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-6),
              np.float64: dict(rtol=1e-12, atol=1e-13)}


def inputs(shape, dtype, seed=0):
    rng = np.random.RandomState(seed)
    channels = shape[1]
    x = rng.randn(*shape).astype(dtype) * 3 + 1
    gamma, beta, mean = (rng.randn(channels).astype(dtype) for _ in range(3))
    var = rng.uniform(0.01, 4, channels).astype(dtype)
    return x, gamma, beta, mean, var


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('shape', [(2, 8, 7, 7), (1, 3, 5, 6), (4, 5, 1, 1)])
def test_equals_chainers_function_without_backprop(shape, dtype):
    values = inputs(shape, dtype)
    expected = fixed.reference_fixed_batch_normalization(
        *values, eps=1e-3).array
    with chainer.no_backprop_mode():
        y = fixed.fixed_batch_normalization(*values, eps=1e-3)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y.array, expected, **TOLERANCES[dtype])


def _uses_ours(*values, **kwargs):
    return fixed.applies(*values, **kwargs)


def test_differentiable_graphs_and_other_inputs_go_to_chainer():
    values = inputs((2, 4, 3, 3), np.float32)
    assert not _uses_ours(*values)  # backprop enabled: Chainer's gradients
    with chainer.no_backprop_mode():
        assert _uses_ours(*values)
        assert not _uses_ours(*values, axis=(0, 2, 3))
        assert not _uses_ours(*(v.astype(np.float16) for v in values))
        x2d = values[0][:, :, 0, 0].copy()
        assert not _uses_ours(x2d, *values[1:])
    # With backprop the gradient is Chainer's own, for every input.
    variables = [chainer.Variable(v) for v in values]
    y = fixed.fixed_batch_normalization(*variables)
    y.grad = np.ones_like(y.array)
    y.backward()
    assert all(v.grad is not None for v in variables)


def test_a_batch_normalization_link_at_test_time_uses_it():
    link = L.BatchNormalization(4)
    link.avg_mean[:] = [0.5, -1, 2, 0]
    link.avg_var[:] = [1, 2, 0.5, 3]
    x = np.random.RandomState(1).randn(3, 4, 5, 5).astype(np.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        with kernels.reference():
            expected = link(x).array
        kernels.install()
        try:
            assert chainer.functions.fixed_batch_normalization is \
                fixed.fixed_batch_normalization
            got = link(x).array
        finally:
            kernels.uninstall()
    np.testing.assert_allclose(got, expected, **TOLERANCES[np.float32])
