"""kernels/batch_normalization.py against Chainer's own batch normalization."""
import os
import subprocess
import sys
import warnings

import chainer
from chainer.backends import intel64
from chainer.functions.normalization import batch_normalization as chainer_bn
import chainer.links as L
import numpy as np
import pytest

from kernels import batch_normalization, blocks, compiled

with warnings.catch_warnings():
    # chainer.testing, which gradient_check imports, applies a pytest mark
    # ('gpu') that this project does not register.
    warnings.simplefilter('ignore', pytest.PytestUnknownMarkWarning)
    from chainer import gradient_check

SHAPES = [
    (4, 8, 14, 14),
    (3, 16, 7, 7),       # GoogLeNet-BN's last stage, small planes
    (2, 5, 9, 11),       # odd, non-square
    (1, 3, 6, 5),        # one sample
    (5, 4, 1, 1),        # one value per sample
    (2, 3, 16, 24),      # rows longer than the batched-dot threshold
]
# Each numeric test runs both ways: kernels/compiled.py's loops (numba) and
# the NumPy code beside them.
LOOPS = ['numpy'] + (['numba'] if compiled.numba is not None else [])
TOLERANCES = {np.float32: dict(rtol=1e-4, atol=1e-5),
              np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture(params=LOOPS)
def loops(request, monkeypatch):
    monkeypatch.setattr(compiled, 'ENABLED', request.param == 'numba')
    return request.param


def run(function, x, gamma, beta, gy, stats, **kwargs):
    x, gamma, beta = (chainer.Variable(a.copy()) for a in (x, gamma, beta))
    y = function(x, gamma, beta, running_mean=stats[0], running_var=stats[1],
                 **kwargs)
    y.grad = gy.copy()
    y.backward()
    return y.array, x.grad, gamma.grad, beta.grad


def inputs(shape, dtype, seed=0, offset=0.0):
    rng = np.random.RandomState(seed)
    x = (rng.randn(*shape) * 2 + offset).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, shape[1]).astype(dtype)
    beta = rng.randn(shape[1]).astype(dtype)
    gy = rng.randn(*shape).astype(dtype)
    return x, gamma, beta, gy


@pytest.mark.parametrize('chunk_bytes', [1 << 20, 1000], ids=['one', 'many'])
@pytest.mark.parametrize('shape', SHAPES, ids=lambda s: 'x'.join(map(str, s)))
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_batch_normalization_equals_chainer(shape, dtype, chunk_bytes,
                                            monkeypatch, loops):
    # 'many': blocks of a few rows, the last one partial.
    monkeypatch.setattr(blocks, 'CHUNK_BYTES', chunk_bytes)
    tolerance = TOLERANCES[dtype]
    x, gamma, beta, gy = inputs(shape, dtype)
    ours_stats = [np.zeros(shape[1], dtype), np.ones(shape[1], dtype)]
    ref_stats = [a.copy() for a in ours_stats]
    for call in range(2):
        x = x + call  # a second batch with other statistics
        ours = run(batch_normalization.batch_normalization,
                   x, gamma, beta, gy, ours_stats, decay=0.8, eps=1e-3)
        ref = run(batch_normalization.reference_batch_normalization,
                  x, gamma, beta, gy, ref_stats, decay=0.8, eps=1e-3)
        for got, want in zip(ours, ref):
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, **tolerance)
        for got, want in zip(ours_stats, ref_stats):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, **tolerance)


def test_batch_normalization_large_mean_and_non_contiguous_input(loops):
    # Channel means far from zero relative to their spread.
    x, gamma, beta, gy = inputs((4, 6, 10, 12), np.float32, 1, offset=50.0)
    x = np.asfortranarray(x)
    ours = run(batch_normalization.batch_normalization,
               x, gamma, beta, gy[:, :, ::-1], (None, None))
    ref = run(batch_normalization.reference_batch_normalization,
              x.astype(np.float64), gamma.astype(np.float64),
              beta.astype(np.float64), gy[:, :, ::-1].astype(np.float64),
              (None, None))
    for got, want in zip(ours, ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('shape', [(3, 4, 5, 6), (2, 3, 12, 12)])
def test_batch_normalization_gradient_check(shape, loops):
    x, gamma, beta, gy = inputs(shape, np.float64, 2)

    def normalize(x, gamma, beta):
        return batch_normalization.batch_normalization(x, gamma, beta)
    gradient_check.check_backward(normalize, (x, gamma, beta), gy,
                                  dtype=np.float64, atol=1e-6, rtol=1e-5)


def test_batch_normalization_dispatch(monkeypatch):
    x, gamma, beta, _ = inputs((2, 3, 4, 4), np.float32, 3)
    x_variable = chainer.Variable(x)
    y = batch_normalization.batch_normalization(x_variable, gamma, beta)
    assert type(y.creator) is batch_normalization.BatchNormalization
    gx, = chainer.grad([y], [x_variable], grad_outputs=[x],
                       enable_double_backprop=True)
    assert type(gx.creator) is batch_normalization.BatchNormalizationGrad
    y = batch_normalization.batch_normalization(x, gamma, beta,
                                                axis=(0, 2, 3))
    assert type(y.creator) is batch_normalization.BatchNormalization
    for args, kwargs in (
            ((x[:, :, 0], gamma, beta), {}),                # 3-D
            ((x, beta[:2].repeat(2), gamma[:2].repeat(2)),  # channels last
             {'axis': (0, 1, 2)}),
            ((x, gamma.astype(np.float64), beta.astype(np.float64)), {}),
            ((x[:1, :, :1, :1], gamma, beta), {}),          # m == 1
            ((x.astype(np.float16), gamma, beta), {})):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            y = batch_normalization.batch_normalization(*args, **kwargs)
        assert type(y.creator) is chainer_bn.BatchNormalization
    monkeypatch.setattr(intel64, 'should_use_ideep', lambda level: True)
    y = batch_normalization.batch_normalization(x, gamma, beta)
    assert type(y.creator) is chainer_bn.BatchNormalization
    reference = batch_normalization.reference_batch_normalization
    assert (reference.__module__, reference.__name__) == (
        chainer_bn.__name__, 'batch_normalization')


class TinyNet(chainer.Chain):
    def __init__(self):
        super(TinyNet, self).__init__()
        with self.init_scope():
            self.conv = L.Convolution2D(3, 6, 3, pad=1,
                                        initialW=chainer.initializers.Normal(
                                            0.3, rng=np.random.RandomState(5)))
            self.bn = L.BatchNormalization(6)

    def forward(self, x):
        return chainer.functions.sum(chainer.functions.relu(
            self.bn(self.conv(x))) ** 2)


def train_two_steps():
    model = TinyNet()
    optimizer = chainer.optimizers.MomentumSGD(lr=0.01)
    optimizer.setup(model)
    rng = np.random.RandomState(6)
    losses = []
    for _ in range(2):
        x = rng.randn(4, 3, 8, 8).astype(np.float32)
        loss = model(x)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.array))
    values = {name: p.array.copy() for name, p in model.namedparams()}
    values.update(avg_mean=model.bn.avg_mean, avg_var=model.bn.avg_var)
    return losses, values


def test_link_training_matches_chainer(monkeypatch, loops):
    monkeypatch.setattr(chainer.functions, 'batch_normalization',
                        batch_normalization.reference_batch_normalization)
    ref_losses, ref_values = train_two_steps()
    creators = []

    def ours(*args, **kwargs):
        y = batch_normalization.batch_normalization(*args, **kwargs)
        creators.append(type(y.creator))
        return y
    # L.BatchNormalization calls it as chainer.functions.batch_normalization.
    monkeypatch.setattr(chainer.functions, 'batch_normalization', ours)
    losses, values = train_two_steps()
    assert creators == [batch_normalization.BatchNormalization] * 2
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for name, value in values.items():
        np.testing.assert_allclose(value, ref_values[name], rtol=1e-5,
                                   atol=1e-6, err_msg=name)


@pytest.mark.skipif(compiled.numba is None, reason='the numba extra')
def test_compiled_loops_do_the_work(monkeypatch):
    calls = []

    def counted(name):
        loop = getattr(compiled, name)

        def call(*args):
            calls.append(name)
            return loop(*args)
        return call
    for name in ('channel_moments', 'channel_affine', 'channel_sums',
                 'channel_weighted_sum'):
        monkeypatch.setattr(compiled, name, counted(name))
    monkeypatch.setattr(compiled, 'ENABLED', True)
    run(batch_normalization.batch_normalization,
        *inputs((2, 3, 4, 4), np.float32), (None, None))
    assert calls == ['channel_moments', 'channel_affine', 'channel_sums',
                     'channel_weighted_sum']
    calls.clear()
    monkeypatch.setattr(compiled, 'ENABLED', False)
    run(batch_normalization.batch_normalization,
        *inputs((2, 3, 4, 4), np.float32), (None, None))
    assert calls == []


@pytest.mark.skipif(compiled.numba is None, reason='the numba extra')
def test_kernels_compiled_0_turns_the_loops_off():
    def enabled(value):
        env = dict(os.environ, KERNELS_COMPILED=value)
        out = subprocess.run(
            [sys.executable, '-c',
             'from kernels import compiled; print(compiled.enabled())'],
            env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    assert (enabled('0'), enabled('1')) == ('False', 'True')
