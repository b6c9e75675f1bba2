"""A loss that turns NaN or infinite, and a device out of memory: one line
naming the iteration, the snapshots before it kept."""
import os
import types

import chainer
import chainer.functions as F
import numpy
import pytest

import tiny_runs
import train_imagenet
from trainer import safety

# The injected NaN and inf spread through numpy, which warns about them.
pytestmark = pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')



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
    assert safety.snapshots_newest_first(out) == [last_good]
    assert safety.npz_problem(last_good) is None
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


class CountingArray(numpy.ndarray):
    """A NumPy array that counts its conversions to Python values: on a GPU
    each one is a device-to-host transfer and a synchronisation."""
    conversions = 0

    def _count(self):
        CountingArray.conversions += 1

    def __bool__(self):
        self._count()
        return super(CountingArray, self).__bool__()

    def __float__(self):
        self._count()
        return super(CountingArray, self).__float__()

    def item(self, *args):
        self._count()
        return super(CountingArray, self).item(*args)


def stand_in_trainer(out, loss, params, iteration=7):
    """What StopOnNonFiniteLoss reads of a trainer: the reported loss (a
    Variable's array, or None) and the parameters' arrays."""
    target = types.SimpleNamespace(params=lambda: [
        types.SimpleNamespace(array=a) for a in params])
    updater = types.SimpleNamespace(
        iteration=iteration, get_all_optimizers=lambda: {
            'main': types.SimpleNamespace(target=target)})
    observation = {} if loss is None else {
        'main/loss': types.SimpleNamespace(array=loss)}
    return types.SimpleNamespace(out=str(out), updater=updater,
                                 observation=observation)


def counting(value):
    return numpy.asarray(value, numpy.float32).view(CountingArray)


@pytest.mark.parametrize('loss', [1.5, None])
def test_the_finiteness_check_reads_the_device_once(loss, tmp_path,
                                                    monkeypatch):
    # FailOnNonNumber converted each parameter (and the loss) on its own.
    monkeypatch.setattr(CountingArray, 'conversions', 0)
    params = [counting(numpy.full((3, 2), k)) for k in range(40)]
    trainer = stand_in_trainer(
        tmp_path, None if loss is None else counting(loss), params)
    safety.StopOnNonFiniteLoss()(trainer)
    assert CountingArray.conversions == 1


class DeviceArray(object):
    """Stands in for a cupy.ndarray: it refuses implicit conversion, so the
    only way to the host is the transfer helper, counted below."""

    def __init__(self, value):
        self.value = numpy.asarray(value)

    def __bool__(self):
        raise AssertionError('an implicit device-to-host transfer')

    def all(self):
        return DeviceArray(self.value.all())

    def __and__(self, other):
        return DeviceArray(self.value & other.value)


stand_in_cupy = types.SimpleNamespace(
    isfinite=lambda a: DeviceArray(numpy.isfinite(a.value)))


@pytest.mark.parametrize('broken, message', [
    (None, None),
    ('loss', 'iteration 7: the training loss is nan; training stopped (no '
             'snapshot was written yet; a lower --lr usually helps)'),
    ('param', 'iteration 7: the parameters hold NaN or inf; training '
              'stopped (no snapshot was written yet; a lower --lr usually '
              'helps)'),
])
def test_on_a_device_one_transfer_then_the_culprit(broken, message,
                                                   tmp_path, monkeypatch):
    monkeypatch.setattr(chainer.backend, 'get_array_module', lambda a: (
        stand_in_cupy if isinstance(a, DeviceArray) else numpy))
    transfers = []

    def to_host_bool(flag):
        transfers.append(flag)
        return bool(flag.value)
    monkeypatch.setattr(safety, 'to_host_bool', to_host_bool)
    params = [DeviceArray(numpy.ones(4)) for _ in range(30)]
    if broken == 'param':
        params[17].value[2] = float('inf')
    loss = DeviceArray(float('nan') if broken == 'loss' else 0.5)
    trainer = stand_in_trainer(tmp_path, loss, params)
    if broken is None:
        safety.StopOnNonFiniteLoss()(trainer)
        assert len(transfers) == 1
        return
    monkeypatch.setattr(chainer.backend.CpuDevice, 'send',
                        lambda self, a: a.value)
    with pytest.raises(safety.TrainingStopped) as stopped:
        safety.StopOnNonFiniteLoss()(trainer)
    assert str(stopped.value) == message


def test_the_check_runs_before_the_snapshot_writers():
    assert safety.StopOnNonFiniteLoss.priority > \
        chainer.training.PRIORITY_WRITER


class CuDNNError(RuntimeError):
    """Named as cupy_backends.cuda.libs.cudnn's; str() as CuPy 13's."""


class CUBLASError(RuntimeError):
    pass


class CURANDError(RuntimeError):
    pass


class CUDARuntimeError(RuntimeError):
    pass


class CUDADriverError(RuntimeError):
    pass


@pytest.mark.parametrize('error', [
    MemoryError(),
    CuDNNError('cuDNN Error: CUDNN_STATUS_ALLOC_FAILED'),
    CUBLASError('CUBLAS_STATUS_ALLOC_FAILED'),
    CURANDError('CURAND_STATUS_ALLOCATION_FAILED'),
    CUDARuntimeError('cudaErrorMemoryAllocation: out of memory'),
    CUDADriverError('CUDA_ERROR_OUT_OF_MEMORY: out of memory'),
])
def test_every_kind_of_gpu_allocation_failure_is_out_of_memory(error):
    assert safety.is_out_of_memory(error)


@pytest.mark.parametrize('error', [
    CuDNNError('cuDNN Error: CUDNN_STATUS_BAD_PARAM'),
    CUDARuntimeError('cudaErrorIllegalAddress: an illegal memory access '
                     'was encountered'),
    RuntimeError('out of memory'),  # not one of CuPy's types
    ValueError('bad'),
])
def test_other_cuda_errors_are_not(error):
    assert not safety.is_out_of_memory(error)


def _raised(make):
    try:
        make()
    except Exception as e:
        return e


def _reraise_from_cause():
    try:
        raise CuDNNError('cuDNN Error: CUDNN_STATUS_ALLOC_FAILED')
    except CuDNNError as e:
        raise RuntimeError('convolution failed') from e


def _reraise_while_handling():
    try:
        raise CUBLASError('CUBLAS_STATUS_ALLOC_FAILED')
    except CUBLASError:
        raise TypeError('while cleaning up')


def test_allocation_failure_found_through_cause_and_context():
    assert safety.is_out_of_memory(_raised(_reraise_from_cause))
    assert safety.is_out_of_memory(
        _raised(_reraise_while_handling))
    looped = ValueError('a')
    looped.__context__ = ValueError('b')
    looped.__context__.__context__ = looped
    assert not safety.is_out_of_memory(looped)


def test_a_cudnn_allocation_failure_is_the_one_line_advice():
    def run(show_loop_exception_msg):
        _reraise_from_cause()
    trainer = types.SimpleNamespace(
        run=run, updater=types.SimpleNamespace(iteration=12))
    with pytest.raises(safety.TrainingStopped,
                       match=r'^out of memory after 12 iteration\(s\) with '
                             r'--batchsize 64: try --batchsize 32'):
        safety.run(trainer, 64)
