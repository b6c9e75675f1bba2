"""One training step of a network on two devices, from the same weights,
on the same batch, with the same dropout masks: the loss and every
gradient side by side (tools/gpu_smoke.py).

The reference side is the CPU with Chainer's own functions in float32.
The other side is the device under test: a GPU (CuPy), or, for the dry
run on a machine without one, the CPU with kernels/.
"""
import contextlib
import copy

import chainer
import chainer.functions as F
import numpy

import kernels

RTOL = 1e-3
FLOOR = 1e-3  # of the network's largest gradient (gradient_errors)
# How much further from float64 the device's float32 gradient may be than
# the CPU's: two float32 implementations differ by their rounding, not by
# a factor of many.
FLOAT32_FACTOR = 3.0


class HostDropout(object):
    """F.dropout whose masks come from a host random stream, so that two
    devices drop the same units (CuPy and NumPy draw differently). Each
    call takes the next mask of the stream."""

    def __init__(self, original, seed):
        self.original = original
        self.random = numpy.random.RandomState(seed)

    def __call__(self, x, ratio=.5, **kwargs):
        if not chainer.config.train or not ratio or 'mask' in kwargs:
            return self.original(x, ratio, **kwargs)
        array = getattr(x, 'array', x)
        keep = self.random.uniform(size=array.shape) >= ratio
        mask = (keep / (1.0 - ratio)).astype(array.dtype)
        device = chainer.backend.get_device_from_array(array)
        return self.original(x, ratio, mask=device.send(mask), **kwargs)


@contextlib.contextmanager
def host_dropout(seed):
    """Models call F.dropout through the module, so swapping the attribute
    reaches every network."""
    original = F.dropout
    F.dropout = HostDropout(original, seed)
    try:
        yield
    finally:
        F.dropout = original


def training_step(model, x, t, device, use_kernels, seed=0):
    """(loss, {parameter name: gradient as a host array}) of one forward
    and backward pass in training mode; `model` is moved to `device`."""
    model.to_device(device)
    model.cleargrads()
    was_installed = kernels.installed()
    kernels.use(use_kernels)
    try:
        with chainer.using_device(device), \
                chainer.using_config('train', True), host_dropout(seed):
            loss = model(device.send(x), device.send(t))
            loss.backward()
    finally:
        kernels.use(was_installed)
    check_on_device(model, device)
    grads = {name: chainer.backend.CpuDevice().send(param.grad)
             for name, param in sorted(model.namedparams())}
    return float(chainer.backend.CpuDevice().send(loss.array)), grads


def check_on_device(model, device):
    """Every parameter and gradient lives on `device` (on a GPU: CuPy
    arrays, so the step really ran there)."""
    for name, param in model.namedparams():
        for what, array in (('weights', param.array), ('gradient',
                                                        param.grad)):
            if not isinstance(array, device.xp.ndarray):
                raise AssertionError('{} of {} are a {}, not on {}'.format(
                    what, name, type(array).__name__, device))


def as_float64(model):
    """A float64 copy of `model` (weights and batch-norm statistics)."""
    model = copy.deepcopy(model)
    for param in model.params():
        if param.array is not None:  # else made at first use, in float64
            param.array = param.array.astype(numpy.float64)
    for link in model.links():
        for name in link._persistent:
            value = getattr(link, name)
            if isinstance(value, numpy.ndarray) and value.dtype.kind == 'f':
                setattr(link, name, value.astype(numpy.float64))
    return model


def concatenated(grads):
    return numpy.concatenate([grads[name].ravel().astype(numpy.float64)
                              for name in sorted(grads)])


def distance(expected, got):
    """|got - expected| / |expected| (Euclidean norms)."""
    norm = numpy.linalg.norm(expected)
    return float(numpy.linalg.norm(got - expected) / norm) if norm else \
        float(numpy.any(got != expected)) * float('inf')


def gradient_errors(expected, got):
    """{name: largest difference / largest magnitude} per parameter. The
    magnitude has a floor, FLOOR x the network's largest gradient, so that
    a gradient that is zero in exact arithmetic (a bias before batch
    normalization) compares its rounding noise with the network's scale."""
    floor = FLOOR * max(float(numpy.max(numpy.abs(g)))
                        for g in expected.values() if g.size)
    errors = {}
    for name, want in expected.items():
        if not want.size:
            continue
        scale = max(float(numpy.max(numpy.abs(want))), floor)
        difference = float(numpy.max(numpy.abs(
            got[name].astype(numpy.float64) - want)))
        errors[name] = difference / scale if scale else (
            0.0 if difference == 0.0 else float('inf'))
    return errors


def compare(model, x, t, device, seed=0, rtol=RTOL):
    """The CPU's and the device's training step from the same weights.

    float64: the loss and every gradient agree within `rtol`; in exact
    arithmetic they are equal, and float64 leaves rounding far below it.
    float32 (what training uses): the loss agrees within `rtol`. Its
    gradients cannot: batch normalization's backward pass cancels, and two
    float32 implementations of a BN network (Chainer's and kernels/ on the
    same CPU) already differ by ~0.5% at initialisation. So the device's
    float32 gradient, all parameters at once, must be as close to the
    float64 one as the CPU's float32 gradient is (within FLOAT32_FACTOR).
    """
    cpu = chainer.get_device('@numpy')
    on_cpu = device.xp is numpy
    x64 = x.astype(numpy.float64)
    with chainer.using_config('dtype', numpy.float64):
        loss64, truth = training_step(as_float64(model), x64, t, cpu,
                                      use_kernels=False, seed=seed)
        device_loss64, device64 = training_step(
            as_float64(model), x64, t, device, use_kernels=on_cpu, seed=seed)
    loss32, cpu32 = training_step(copy.deepcopy(model), x, t, cpu,
                                  use_kernels=False, seed=seed)
    device_loss32, device32 = training_step(model, x, t, device,
                                            use_kernels=on_cpu, seed=seed)

    errors = gradient_errors(truth, device64)
    worst = max(errors, key=errors.get)
    exact = concatenated(truth)
    cpu_distance = distance(exact, concatenated(cpu32))
    device_distance = distance(exact, concatenated(device32))
    result = {
        'rtol': rtol,
        'parameters': len(errors),
        'float64_loss_rel_error': _relative(loss64, device_loss64),
        'float64_worst_gradient': worst,
        'float64_worst_gradient_rel_error': errors[worst],
        'float64_gradients_over_rtol': sorted(
            n for n, e in errors.items() if not e <= rtol),
        'float32_loss_cpu': loss32,
        'float32_loss_device': device_loss32,
        'float32_loss_rel_error': _relative(loss32, device_loss32),
        'float32_cpu_gradient_distance': cpu_distance,
        'float32_device_gradient_distance': device_distance,
    }
    result['agree'] = bool(
        result['float64_loss_rel_error'] <= rtol
        and not result['float64_gradients_over_rtol']
        and result['float32_loss_rel_error'] <= rtol
        and device_distance <= max(rtol, FLOAT32_FACTOR * cpu_distance))
    return result


def _relative(expected, got):
    return abs(got - expected) / max(abs(expected), 1e-300)
