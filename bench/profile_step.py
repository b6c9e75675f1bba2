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
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

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
    args = parser.parse_args(argv)
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
