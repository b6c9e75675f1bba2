"""bench/torch_twin.py: the PyTorch copy computes what the Chainer model
does (runs only where PyTorch is installed; CI has none)."""
import os
import sys

import chainer
import numpy
import pytest

import models

torch = pytest.importorskip('torch')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bench'))
from torch_twin import TorchTwin  # noqa: E402


@pytest.mark.parametrize('arch,options', [
    ('densenet', dict(n_layer=2, growth_rate=4, in_ch=8)),  # BN, concat
    ('nin', {}),  # max pooling with cover_all, average pooling
])
def test_twin_loss_equals_chainer_loss(arch, options):
    model = models.get_model(arch, 5, **options)
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, (2, 3, model.insize, model.insize)).astype(
        numpy.float32)
    t = rng.randint(0, 5, 2).astype(numpy.int32)
    twin = TorchTwin(model, x, t).eval()  # no dropout, stored BN statistics
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        expected = float(model(x, t).array)
    with torch.no_grad():
        got = float(twin(torch.from_numpy(x), torch.from_numpy(t)))
    assert got == pytest.approx(expected, rel=1e-5)
    assert len(list(twin.parameters())) == len(list(model.params()))


@pytest.mark.parametrize('arch,options', [
    ('densenet', dict(n_layer=2, growth_rate=4, in_ch=8)),
    ('googlenet', {}),  # fixed batch normalization, inception concat
])
def test_inference_twin_scores_equal_chainer_predict(arch, options):
    model = models.get_model(arch, 5, **options)
    for link in model.links():  # statistics other than the initial 0 / 1
        if isinstance(link, chainer.links.BatchNormalization):
            link.avg_mean[:] = numpy.random.uniform(-0.5, 0.5,
                                                    link.avg_mean.shape)
            link.avg_var[:] = numpy.random.uniform(0.5, 2, link.avg_var.shape)
    x = numpy.random.RandomState(1).uniform(
        -1, 1, (2, 3, model.insize, model.insize)).astype(numpy.float32)
    twin = TorchTwin(model, x).eval()
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        expected = model.predict(x).array
    with torch.no_grad():
        got = twin(torch.from_numpy(x)).numpy()
    numpy.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
