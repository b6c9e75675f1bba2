"""--label-smoothing: the loss, its gradient, every head, the flag."""

import chainer
import chainer.functions as F
import numpy
import pytest
from chainer import gradient_check

import models
import train_imagenet
from trainer import losses

# Label smoothing


def scores_and_labels(dtype=numpy.float32, n=5, k=4, seed=0):
    rng = numpy.random.RandomState(seed)
    return (rng.randn(n, k).astype(dtype),
            rng.randint(0, k, n).astype(numpy.int32))


def test_label_smoothing_zero_is_exactly_the_plain_loss():
    x, t = scores_and_labels()
    plain = F.softmax_cross_entropy(x, t).array
    assert losses.label_smoothing_cross_entropy(x, t, 0.0).array == plain
    assert losses.label_smoothing_cross_entropy(x, t).array == plain


def test_label_smoothing_is_the_cross_entropy_of_eps_over_k_targets():
    """PyTorch's convention: 1 - eps + eps/K on the true class, eps/K on
    each other one."""
    x, t = scores_and_labels(numpy.float64)
    eps, k = 0.2, x.shape[1]
    targets = numpy.full(x.shape, eps / k)
    targets[numpy.arange(len(t)), t] += 1 - eps
    log_p = x - numpy.log(numpy.exp(x).sum(axis=1, keepdims=True))
    expected = -(targets * log_p).sum(axis=1).mean()
    got = losses.label_smoothing_cross_entropy(x, t, eps).array
    assert got == pytest.approx(expected, rel=1e-12)


def test_label_smoothing_differs_by_the_closed_form_amount():
    """Scores a on one class, 0 on the K - 1 others: the smoothed loss is
    the plain one + eps (K - 1) a / K when that class is the true one, and
    - eps a / K when it is another (the log-sum-exp terms cancel)."""
    a, eps, k = 2.0, 0.1, 3
    x = numpy.array([[a, 0, 0], [0, a, 0]], numpy.float32)
    t = numpy.array([0, 0], numpy.int32)
    plain = F.softmax_cross_entropy(x, t).array
    smoothed = losses.label_smoothing_cross_entropy(x, t, eps).array
    expected = (eps * (k - 1) * a / k - eps * a / k) / 2  # batch mean
    assert smoothed - plain == pytest.approx(expected, abs=1e-6)
    assert smoothed.dtype == numpy.float32


def test_label_smoothing_leaves_out_ignored_labels():
    x, t = scores_and_labels(numpy.float64)
    kept = losses.label_smoothing_cross_entropy(x[1:], t[1:], 0.3).array
    t[0] = -1
    assert losses.label_smoothing_cross_entropy(x, t, 0.3).array == \
        pytest.approx(kept, rel=1e-12)


def test_label_smoothing_gradient():
    x, t = scores_and_labels(numpy.float64)
    gy = numpy.random.RandomState(1).randn()
    gradient_check.check_backward(
        lambda x: losses.label_smoothing_cross_entropy(x, t, 0.2),
        x, numpy.asarray(gy), dtype=numpy.float64, atol=1e-6, rtol=1e-6)


def test_label_smoothing_reaches_every_googlenet_head():
    """GoogLeNet-BN's two auxiliary classifiers and its main one all go
    through model.lossfun."""
    model = models.get_model('googlenet', 3, insize=59)
    x = numpy.random.RandomState(0).uniform(
        -1, 1, (2, 3, 59, 59)).astype(numpy.float32)
    t = numpy.array([0, 2], numpy.int32)

    reporter = chainer.Reporter()
    reporter.add_observer('main', model)

    def heads():
        observed = {}
        with reporter.scope(observed), chainer.no_backprop_mode():
            model(x, t)
        return [float(observed['main/' + key].array)
                for key in ('loss1', 'loss2', 'loss3')]

    plain = heads()
    losses.set_loss(model, 0.0)
    assert heads() == plain  # eps 0 changes nothing
    losses.set_loss(model, 0.2)
    smoothed = heads()
    assert all(s != p for s, p in zip(smoothed, plain))


def test_label_smoothing_flag_values(tmp_path, capsys):
    assert train_imagenet.parse_args(
        ['a', 'b', '--label-smoothing', '0.2']).label_smoothing == 0.2
    assert train_imagenet.parse_args(['a', 'b']).label_smoothing == 0.0
    for bad in ('1', '-0.1', 'x'):
        with pytest.raises(SystemExit):
            train_imagenet.parse_args(['a', 'b', '--label-smoothing', bad])
        assert '--label-smoothing' in capsys.readouterr().err


# Learning-rate schedules, driven by fake trainers
