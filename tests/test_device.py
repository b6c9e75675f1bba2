"""Choosing the device: the GPU is made current before anything is seeded,
and a GPU that cannot be used is one line, not a CUDA traceback."""
import argparse
import types

import chainer
import numpy
import pytest

from trainer import device as devices, extensions
from trainer.errors import UsageError


class StandInGPU(object):
    """A device whose xp records what is called, in order."""

    def __init__(self, calls, broken=False):
        self.calls, self.broken = calls, broken
        self.xp = types.SimpleNamespace(random=types.SimpleNamespace(
            seed=lambda seed: calls.append(('seed', seed))))

    def use(self):
        if self.broken:
            raise RuntimeError('cudaErrorInsufficientDriver: CUDA driver '
                               'version is insufficient\nfor CUDA runtime')
        self.calls.append(('use',))


def test_the_device_is_current_before_it_is_seeded():
    calls = []
    devices.start_device(StandInGPU(calls), seed=3)
    assert calls == [('use',), ('seed', 3)]


def args_for(gpu):
    return argparse.Namespace(device=None, gpu=gpu, reference_kernels=False)


def test_an_unusable_gpu_is_one_line(monkeypatch):
    monkeypatch.setattr(chainer, 'get_device',
                        lambda spec: StandInGPU([], broken=True))
    with pytest.raises(UsageError) as error:
        devices.get_device(args_for(1))
    assert str(error.value) == (
        'device 1: no usable GPU (cudaErrorInsufficientDriver: CUDA driver '
        'version is insufficient for CUDA runtime)')


def test_a_usable_gpu_is_returned_current(monkeypatch):
    calls = []
    monkeypatch.setattr(chainer, 'get_device',
                        lambda spec: StandInGPU(calls))
    assert isinstance(devices.get_device(args_for(0)), StandInGPU)
    assert calls == [('use',)]


def timed_updater(device, calls, monkeypatch):
    """A TimedUpdater on `device` whose update only records itself."""
    monkeypatch.setattr(chainer.training.updaters.StandardUpdater,
                        'update_core', lambda self: calls.append('update'))
    ticks = iter(range(100))

    def clock():
        calls.append('clock')
        return float(next(ticks))
    monkeypatch.setattr(extensions.time, 'perf_counter', clock)
    iterator = chainer.iterators.SerialIterator([numpy.zeros(2)] * 4, 2)
    optimizer = chainer.optimizers.SGD()
    optimizer.setup(chainer.links.Linear(2, 2))
    updater = extensions.TimedUpdater(iterator, optimizer)
    updater._device = device  # StandardUpdater.device is read-only
    return updater


def test_images_per_second_counts_the_gpu_work_not_its_launch(monkeypatch):
    calls = []
    # A GpuDevice's .device is a cupy.cuda.Device.
    cupy_device = types.SimpleNamespace(
        synchronize=lambda: calls.append('synchronize'))
    gpu = types.SimpleNamespace(xp=types.SimpleNamespace(),
                                device=cupy_device)
    updater = timed_updater(gpu, calls, monkeypatch)
    updater.update_core()
    assert calls == ['clock', 'update', 'synchronize', 'clock']
    assert (updater.update_seconds, updater.images_seen) == (1.0, 2)


def test_the_cpu_is_not_synchronized(monkeypatch):
    calls = []
    updater = timed_updater(chainer.get_device('@numpy'), calls, monkeypatch)
    updater.update_core()
    assert calls == ['clock', 'update', 'clock']


@pytest.mark.parametrize('version, line', [
    ('14.0.1', 'cuDNN: not in use (CuPy 14.0.1 has no cuDNN, by design): '
               'convolutions use im2col + cuBLAS'),
    ('13.6.0', 'cuDNN: not in use (this CuPy has no cuDNN, or CHAINER_CUDNN'
               '=0): convolutions run on CuPy kernels, slower'),
], ids=['cupy14', 'cupy13'])
def test_cudnn_line_says_when_cupy_has_none_by_design(version, line,
                                                      monkeypatch):
    from chainer.backends import cuda
    monkeypatch.setattr(cuda, 'cudnn_enabled', False)
    monkeypatch.setattr(cuda, 'cupy', types.SimpleNamespace(
        __version__=version))
    assert devices.cudnn_status(StandInGPU([])) == line
