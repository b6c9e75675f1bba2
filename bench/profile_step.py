#!/usr/bin/env python
"""Where a training step's time goes, function by function.

    python bench/profile_step.py --arch googlenet          # kernels/
    python bench/profile_step.py --arch nin --reference-kernels

One MomentumSGD training step of the network on random images at its
input size (as bench/train_speed.py times it), after --warmup untimed
steps: each Chainer function's forward and backward time, exclusive of
the functions it calls itself (a backward pass runs its gradient
functions as functions of their own), the optimizer's update, and what is
left (Python between the functions, graph bookkeeping). Times are the sum
over --steps steps, divided by the steps.

--pytorch profiles the same network in PyTorch instead (bench/torch_twin.py,
torch.profiler): each operator's own CPU time per step, for comparison
(make torch-venv; run it with .venv-torch/bin/python).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import collections  # noqa: E402
import time  # noqa: E402

import chainer  # noqa: E402

import kernels  # noqa: E402
import models  # noqa: E402
from train_speed import random_batch  # noqa: E402


class ExclusiveTimer(chainer.FunctionHook):
    """Seconds per (function, 'forward'|'backward'), each excluding the
    functions it called: a stack of [start, time spent in children]."""

    name = 'ExclusiveTimer'

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self.calls = collections.defaultdict(int)
        self._stack = []

    def _start(self):
        self._stack.append([time.perf_counter(), 0.0])

    def _stop(self, function, phase):
        start, children = self._stack.pop()
        elapsed = time.perf_counter() - start
        key = (function.label, phase)
        self.seconds[key] += elapsed - children
        self.calls[key] += 1
        if self._stack:
            self._stack[-1][1] += elapsed

    def forward_preprocess(self, function, in_data):
        self._start()

    def forward_postprocess(self, function, in_data):
        self._stop(function, 'forward')

    def backward_preprocess(self, function, in_data, out_grad):
        self._start()

    def backward_postprocess(self, function, in_data, out_grad):
        self._stop(function, 'backward')


def profile(model, x, t, steps, warmup):
    """(ExclusiveTimer, seconds of the optimizer's updates, seconds of the
    whole steps), summed over `steps`."""
    optimizer = chainer.optimizers.MomentumSGD(lr=0.01, momentum=0.9)
    optimizer.setup(model)
    for _ in range(warmup):
        optimizer.update(model, x, t)
    timer, update_seconds = ExclusiveTimer(), 0.0
    start = time.perf_counter()
    for _ in range(steps):
        model.cleargrads()
        with timer:
            loss = model(x, t)
            loss.backward()
        # As Chainer's optimizer.update does: a graph kept alive into the
        # next step's forward would double its memory (and page faults).
        del loss
        before = time.perf_counter()
        optimizer.update()
        update_seconds += time.perf_counter() - before
    return timer, update_seconds, time.perf_counter() - start


def report(timer, update_seconds, total, steps, batchsize):
    """The table: one row a function (forward and backward), largest
    first, then the update, the rest and the whole step."""
    names = sorted({name for name, _ in timer.seconds},
                   key=lambda n: -(timer.seconds[(n, 'forward')] +
                                   timer.seconds[(n, 'backward')]))
    lines = ['| function | calls | forward ms | backward ms | share |',
             '|---|---:|---:|---:|---:|']
    functions = 0.0
    for name in names:
        forward = timer.seconds[(name, 'forward')] / steps
        backward = timer.seconds[(name, 'backward')] / steps
        functions += forward + backward
        lines.append('| {} | {} | {:.1f} | {:.1f} | {:.1%} |'.format(
            name, timer.calls[(name, 'forward')] // steps, forward * 1e3,
            backward * 1e3, (forward + backward) / (total / steps)))
    step = total / steps
    update = update_seconds / steps
    rest = step - functions - update
    lines += ['| optimizer update | | {:.1f} | | {:.1%} |'.format(
        update * 1e3, update / step),
        '| rest (Python, graph) | | {:.1f} | | {:.1%} |'.format(
            rest * 1e3, rest / step),
        '| **step** | | **{:.1f}** | | {:.1f} images/s |'.format(
            step * 1e3, batchsize / step)]
    return '\n'.join(lines)


def pytorch_training_step(model, x, t):
    """One MomentumSGD step of the PyTorch twin on (x, t), as a callable."""
    import torch
    from torch_twin import TorchTwin
    twin = TorchTwin(model, x, t)
    x, t = torch.from_numpy(x), torch.from_numpy(t)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        twin(x, t).backward()
        optimizer.step()
    return step


def profile_pytorch(model, x, t, steps, warmup, top=16):
    """The PyTorch twin's step: (operator, self ms per step) rows, largest
    first, and the step's seconds."""
    from torch.profiler import ProfilerActivity, profile as torch_profile
    step = pytorch_training_step(model, x, t)
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    total = (time.perf_counter() - start) / steps
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    rows = [(e.key, e.count // steps, e.self_cpu_time_total / 1e3 / steps)
            for e in events[:top]]
    return rows, total


def report_pytorch(rows, total, batchsize):
    lines = ['| PyTorch operator | calls | self ms | share |',
             '|---|---:|---:|---:|']
    for name, calls, ms in rows:
        lines.append('| {} | {} | {:.1f} | {:.1%} |'.format(
            name, calls, ms, ms / 1e3 / total))
    lines.append('| **step** (profiler on) | | **{:.1f}** | {:.1f} '
                 'images/s |'.format(total * 1e3, batchsize / total))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', choices=sorted(models.ARCHS),
                        default='googlenet')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--insize', type=int, default=None)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--reference-kernels', action='store_true',
                        help="Chainer's own functions instead of kernels/")
    parser.add_argument('--pytorch', action='store_true',
                        help='profile the PyTorch twin instead')
    args = parser.parse_args(argv)
    if args.pytorch:
        sys.path.insert(0, HERE)  # torch_twin
        options = {} if args.insize is None else {'insize': args.insize}
        model = models.get_model(args.arch, models.N_CLASS, **options)
        x, t = random_batch(model.insize, args.batchsize)
        rows, total = profile_pytorch(model, x, t, args.steps, args.warmup)
        print('{} at {}x{}, batch {}, PyTorch; mean of {} steps after {}:'
              '\n'.format(args.arch, model.insize, model.insize,
                          args.batchsize, args.steps, args.warmup))
        print(report_pytorch(rows, total, args.batchsize))
        return 0
    was_installed = kernels.installed()
    kernels.select(on_cpu=True, reference=args.reference_kernels)
    try:
        options = {} if args.insize is None else {'insize': args.insize}
        model = models.get_model(args.arch, models.N_CLASS, **options)
        x, t = random_batch(model.insize, args.batchsize)
        timer, update, total = profile(model, x, t, args.steps, args.warmup)
    finally:
        kernels.use(was_installed)
    print('{} at {}x{}, batch {}, {}; mean of {} steps after {}:\n'.format(
        args.arch, model.insize, model.insize, args.batchsize,
        "Chainer's own functions" if args.reference_kernels else 'kernels/',
        args.steps, args.warmup))
    print(report(timer, update, total, args.steps, args.batchsize))
    return 0


if __name__ == '__main__':
    sys.exit(main())
