"""A loss that turns NaN or infinite, and a device out of memory: one line
naming the iteration, the snapshots before it kept."""
import os

import chainer
import chainer.functions as F
import pytest

import tiny_runs
import train_imagenet
import training_safety

# The injected NaN and inf spread through numpy, which warns about them.
pytestmark = pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return tiny_runs.data_dir(tmp_path_factory)


def fail_from_training_call(monkeypatch, call, make_failure):
    """The training loss from the `call`-th training forward on (1-based)
    goes through make_failure(loss)."""
    real = F.softmax_cross_entropy
    calls = []

    def loss_function(*args, **kwargs):
        loss = real(*args, **kwargs)
        if chainer.config.train:
            calls.append(1)
            if len(calls) >= call:
                return make_failure(loss)
        return loss
    monkeypatch.setattr(F, 'softmax_cross_entropy', loss_function)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_loss_stops_naming_the_iteration(
        value, data, tmp_path, monkeypatch, capsys):
    # Iteration 5 is in epoch 2 (3 iterations an epoch).
    fail_from_training_call(monkeypatch, 5, lambda loss: loss * value)
    out = str(tmp_path / 'diverged')
    args = tiny_runs.train_args(data, out, '--epoch', '3')
    assert train_imagenet.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('error: iteration 5: the training loss is '
                              '{}'.format(value))
    last_good = os.path.join(out, 'snapshot_epoch_1')
    assert 'the last good snapshot is {}'.format(last_good) in err[-1]
    assert not any('Traceback' in line for line in err)
    assert training_safety.snapshots_newest_first(out) == [last_good]
    assert training_safety.npz_problem(last_good) is None
    assert not os.path.exists(os.path.join(out, 'model.npz'))


def test_non_finite_parameters_stop_too(data, tmp_path, monkeypatch,
                                        capsys):
    # FailOnNonNumber's part: a finite loss but broken weights.
    real_update = chainer.optimizers.MomentumSGD.update

    def update_then_break(optimizer, *args, **kwargs):
        real_update(optimizer, *args, **kwargs)
        if optimizer.t == 2:
            next(optimizer.target.params()).array[...] = float('nan')
    monkeypatch.setattr(chainer.optimizers.MomentumSGD, 'update',
                        update_then_break)
    args = tiny_runs.train_args(data, str(tmp_path / 'o'), '--epoch', '1')
    assert train_imagenet.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith('error: iteration 2: the parameters hold NaN or '
                          'inf')
    assert 'no snapshot was written yet' in err


def test_out_of_memory_suggests_a_smaller_batchsize(
        data, tmp_path, monkeypatch, capsys):
    # cupy's error is matched by name; cupy is not needed to raise one.
    class OutOfMemoryError(Exception):
        pass

    def exhaust(loss):
        raise OutOfMemoryError('Out of memory allocating 1,073,741,824 '
                               'bytes (allocated so far: 0 bytes).')
    fail_from_training_call(monkeypatch, 2, exhaust)
    args = tiny_runs.train_args(data, str(tmp_path / 'o'), '--epoch', '1')
    assert train_imagenet.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        'error: out of memory after 1 iteration(s) with --batchsize 8: try '
        '--batchsize 4 (or a smaller --val_batchsize if it happened in '
        'validation), then --resume auto')
    assert not any('Traceback' in line for line in err)


def test_other_errors_still_raise(data, tmp_path, monkeypatch):
    def fail(loss):
        raise ZeroDivisionError('not ours to hide')
    fail_from_training_call(monkeypatch, 1, fail)
    args = tiny_runs.train_args(data, str(tmp_path / 'o'), '--epoch', '1')
    with pytest.raises(ZeroDivisionError):
        train_imagenet.main(args)
