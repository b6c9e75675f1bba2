"""kernels.install() / uninstall() / reference() and the command-line flag."""
import argparse
import copy
import importlib

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.functions.connection import convolution_2d as chainer_conv
import numpy as np
import pytest

import kernels
from kernels import convolution

# (Chainer module, name, our module), from the one list install() uses:
# ours is getattr(our module, name), Chainer's own its reference_<name>.
NAMES = [(importlib.import_module(module), name,
          importlib.import_module(ours))
         for module, name, ours, _ in kernels.REPLACEMENTS]


def assert_installed(expected):
    """Every name, and L.Convolution2D, on ours (True) or Chainer's."""
    for module, name, ours in NAMES:
        original = getattr(ours, 'reference_' + name)
        assert original.__module__.startswith('chainer.functions.'), name
        assert getattr(module, name) is (
            getattr(ours, name) if expected else original), name
    assert kernels.installed() == expected
    x = np.zeros((1, 2, 5, 5), np.float32)
    assert type(L.Convolution2D(2, 3, 3)(x).creator) is (
        convolution.Convolution2D if expected
        else chainer_conv.Convolution2DFunction)


def test_install_uninstall():
    kernels.uninstall()
    assert_installed(False)
    kernels.install()
    assert_installed(True)
    kernels.uninstall()
    assert_installed(False)
    kernels.uninstall()  # twice is harmless
    assert_installed(False)
    kernels.install()
    kernels.install()  # twice must not record ours as the original
    assert_installed(True)
    kernels.uninstall()
    assert_installed(False)


def test_reference_block():
    kernels.install()
    with kernels.reference():
        assert_installed(False)
    assert_installed(True)
    with pytest.raises(RuntimeError):
        with kernels.reference():
            raise RuntimeError
    assert_installed(True)
    kernels.uninstall()
    with kernels.reference():
        assert_installed(False)
    assert_installed(False)


def test_one_decision_recorded_as_it_is():
    kernels.uninstall()
    assert kernels.select(on_cpu=True) == 'kernels/'
    assert_installed(True)
    assert kernels.select(on_cpu=True, reference=True) == 'chainer'
    assert_installed(False)
    kernels.install()
    # A GPU run: CuPy computes everything, so nothing is installed.
    assert kernels.select(on_cpu=False) == 'none'
    assert_installed(False)
    kernels.install()


def test_the_entry_points_choice_follows_the_flag():
    from trainer import device as devices
    parser = argparse.ArgumentParser()
    devices.add_device_options(parser)
    cpu = chainer.get_device('@numpy')
    choice = devices.choose_kernels(
        parser.parse_args(['--reference-kernels']), cpu)
    assert devices.KERNEL_LINES[choice] == (
        "CPU kernels: Chainer's own (--reference-kernels)")
    assert_installed(False)
    assert devices.choose_kernels(parser.parse_args([]), cpu) == 'kernels/'
    assert_installed(True)


class TinyAlex(chainer.Chain):
    def __init__(self, rng):
        super().__init__()
        w = chainer.initializers.HeNormal(rng=rng)
        with self.init_scope():
            self.conv1 = L.Convolution2D(3, 8, 5, stride=2, initialW=w)
            self.conv2 = L.Convolution2D(8, 8, 3, pad=1, initialW=w)
            self.fc = L.Linear(8 * 2 * 2, 5, initialW=w)

    def forward(self, x):
        h = F.relu(self.conv1(x))                          # 10x10
        h = F.max_pooling_2d(F.local_response_normalization(h), 3, 2)
        h = F.max_pooling_2d(F.relu(self.conv2(h)), 3, 2)  # 5x5 -> 2x2
        return self.fc(h)


def train_two_steps(initial, x, t, fast):
    """Losses and parameters after two MomentumSGD steps from `initial`."""
    kernels.use(fast)
    model = copy.deepcopy(initial)
    optimizer = chainer.optimizers.MomentumSGD(lr=0.05)
    optimizer.setup(model)
    losses = []
    for _ in range(2):
        losses.append(F.softmax_cross_entropy(model(x), t))
        optimizer.update(lambda: losses[-1])
    return ([float(loss.array) for loss in losses],
            {name: p.array for name, p in model.namedparams()})


@pytest.mark.parametrize('chunked', [False, True],
                         ids=['default-chunks', 'one-image-chunks'])
def test_training_matches_chainer(chunked, monkeypatch):
    if chunked:
        monkeypatch.setattr(convolution, 'TARGET_COLUMNS', 1)
    rng = np.random.RandomState(0)
    x = rng.randn(4, 3, 23, 23).astype(np.float32)
    t = rng.randint(0, 5, 4).astype(np.int32)
    initial = TinyAlex(rng)
    ours = train_two_steps(initial, x, t, fast=True)
    reference = train_two_steps(initial, x, t, fast=False)
    np.testing.assert_allclose(ours[0], reference[0], rtol=1e-5)
    for name, start in initial.namedparams():
        value = reference[1][name]
        assert not np.array_equal(value, start.array), name  # it trained
        np.testing.assert_allclose(ours[1][name], value, rtol=1e-5,
                                   atol=1e-5 * np.abs(value).max(),
                                   err_msg=name)
