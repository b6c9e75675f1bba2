"""tools/gpu_smoke.py and its CPU-against-device comparison, in the dry
mode that runs here (the CPU with kernels/ in the GPU's place)."""
import json
import os
import sys

import chainer
import chainer.functions as F
import chainer.links as L
import numpy
import pytest

import kernels

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tools'))

import gpu_smoke  # noqa: E402
import same_step  # noqa: E402

CPU = chainer.get_device('@numpy')


class TinyNet(chainer.Chain):
    """conv - BN - ReLU - dropout - fc, with an optional error that only
    the 'device' side (kernels/ installed) makes."""

    def __init__(self, device_error=0.0):
        super(TinyNet, self).__init__()
        self.device_error = device_error
        with self.init_scope():
            self.conv = L.Convolution2D(3, 4, 3)
            self.norm = L.BatchNormalization(4)
            self.fc = L.Linear(4 * 4 * 4, 3)

    def forward(self, x, t):
        h = F.dropout(F.relu(self.norm(self.conv(x))), 0.5)
        if self.device_error and kernels.installed():
            h = h * (1 + self.device_error)
        return F.softmax_cross_entropy(self.fc(h), t)


def tiny_batch():
    rng = numpy.random.RandomState(1)
    return (rng.uniform(-1, 1, (4, 3, 6, 6)).astype(numpy.float32),
            numpy.array([0, 1, 2, 1], numpy.int32))


def test_host_dropout_gives_both_passes_the_same_masks():
    x = numpy.ones((2, 50), numpy.float32)
    original = F.dropout
    outputs = []
    for _ in range(2):
        with chainer.using_config('train', True), same_step.host_dropout(3):
            outputs.append(F.dropout(x, 0.5).array)
    assert F.dropout is original
    numpy.testing.assert_array_equal(outputs[0], outputs[1])
    assert set(numpy.unique(outputs[0])) == {0.0, 2.0}  # dropped, scaled
    with chainer.using_config('train', False), same_step.host_dropout(3):
        numpy.testing.assert_array_equal(F.dropout(x, 0.5).array, x)


def test_the_same_network_agrees():
    numpy.random.seed(0)
    result = same_step.compare(TinyNet(), *tiny_batch(), device=CPU)
    assert result['agree'], result
    assert result['parameters'] == 6
    assert result['float64_worst_gradient_rel_error'] < 1e-12
    assert result['float32_loss_rel_error'] < 1e-6


def test_a_device_that_computes_otherwise_is_caught():
    numpy.random.seed(0)
    result = same_step.compare(TinyNet(device_error=1e-2), *tiny_batch(),
                               device=CPU)
    assert not result['agree']
    assert '/fc/W' in result['float64_gradients_over_rtol']


def test_a_gradient_that_is_zero_exactly_compares_with_the_network_scale():
    expected = {'/b': numpy.zeros(3), '/W': numpy.array([1.0, -2.0])}
    noisy = {'/b': numpy.full(3, 1e-9), '/W': numpy.array([1.0, -2.0])}
    errors = same_step.gradient_errors(expected, noisy)
    assert errors['/b'] == pytest.approx(1e-9 / (same_step.FLOOR * 2.0))
    wrong = {'/b': numpy.zeros(3), '/W': numpy.array([1.0, -2.01])}
    assert same_step.gradient_errors(expected, wrong)['/W'] == \
        pytest.approx(0.005)


def test_a_parameter_left_on_the_host_is_reported():
    model = TinyNet()
    model.cleargrads()
    x, t = tiny_batch()
    model(x, t).backward()

    class FakeGpu(object):
        class xp(object):
            class ndarray(object):
                pass

        def __str__(self):
            return '@cupy:0'

    with pytest.raises(AssertionError, match='not on @cupy:0'):
        same_step.check_on_device(model, FakeGpu())


def test_dry_run_writes_its_tables(tmp_path):
    out = str(tmp_path / 'smoke')
    assert gpu_smoke.main(['--gpu', '-1', '--arch', 'nin', '--skip-speed',
                           '--out', out]) == 0
    with open(os.path.join(out, 'smoke.json'), encoding='utf-8') as f:
        data = json.load(f)
    assert data['ok'] is True
    assert data['same_step']['nin']['agree'] is True
    run = data['training']['nin']
    assert run['exit_code'] == 0 and run['device'].startswith('cpu')
    assert run['insize'] == gpu_smoke.DRY_SIZES['nin']
    assert run['images_seen'] == 20  # 2 per class, one epoch
    with open(os.path.join(out, 'smoke.md'), encoding='utf-8') as f:
        text = f.read()
    assert '| nin | 24 |' in text and 'all checks passed' in text
    assert not [n for n in os.listdir(os.path.join(out, 'runs', 'nin'))
                if n.startswith('snapshot_epoch_')]
