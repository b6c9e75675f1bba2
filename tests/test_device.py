"""Choosing the device: the GPU is made current before anything is seeded,
and a GPU that cannot be used is one line, not a CUDA traceback."""
import argparse
import types

import chainer
import pytest

import training_extras as extras


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
    extras.start_device(StandInGPU(calls), seed=3)
    assert calls == [('use',), ('seed', 3)]


def args_for(gpu):
    return argparse.Namespace(device=None, gpu=gpu, reference_kernels=False)


def test_an_unusable_gpu_is_one_line(monkeypatch):
    monkeypatch.setattr(chainer, 'get_device',
                        lambda spec: StandInGPU([], broken=True))
    with pytest.raises(extras.UsageError) as error:
        extras.get_device(args_for(1))
    assert str(error.value) == (
        'device 1: no usable GPU (cudaErrorInsufficientDriver: CUDA driver '
        'version is insufficient for CUDA runtime)')


def test_a_usable_gpu_is_returned_current(monkeypatch):
    calls = []
    monkeypatch.setattr(chainer, 'get_device',
                        lambda spec: StandInGPU(calls))
    assert isinstance(extras.get_device(args_for(0)), StandInGPU)
    assert calls == [('use',)]
