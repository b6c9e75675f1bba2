#!/usr/bin/env python
"""How close to PyTorch a training step can come while its convolutions
are matrix products in NumPy's BLAS: the step's budget, measured.

    .venv-torch/bin/python bench/step_ceiling.py --arch nin --arch googlenet

For each network, in one process (make torch-venv first):

  ours      one training step with kernels/, timed, split by the share of
            the convolutions (Convolution2D and Convolution2DGrad) in a
            step under bench/profile_step.py's hook; everything else (the
            other functions, the update, Python) is the rest
  PyTorch   the same network's step (bench/torch_twin.py), timed without
            the profiler, split by its convolution operators' share of a
            step under torch.profiler
  floor     the convolutions' matrix products alone in NumPy's BLAS, every
            layer forward and backward (bench/conv_ceiling.py): no patch
            matrix, no copy, the least any convolution built on that BLAS
            can take (a layer that kernels/ already computes in less, as
            kernels/shifted.py does narrow ones, counts at its own time;
            and never more than the step's convolutions take now)

and two ceilings, PyTorch's step over a step that has not been reached:

  A  the convolutions at the floor, everything else as ours now: what
     perfect gathering and scattering (compiled, say) could bring at most
  B  the convolutions at the floor and everything else at the faster of
     ours and PyTorch's: about the most a convolution built on BLAS
     products can reach

Ceiling B under the goal means the goal needs a convolution faster than
the BLAS products it is made of (PyTorch's oneDNN computes convolutions
directly, with JIT-compiled kernels), whatever else is done.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402

import chainer  # noqa: E402

import kernels  # noqa: E402
import models  # noqa: E402
from conv_ceiling import (  # noqa: E402
    WAYS, blas_name, layer_times, median_seconds, torch_for_bench)
from profile_step import (  # noqa: E402
    profile, profile_pytorch, pytorch_training_step)
from train_speed import random_batch  # noqa: E402

GOALS = {'densenet': 0.8}  # issue 17's goals; 1.0 for the others
COLUMNS = ('network', 'ours ms', 'PyTorch ms', 'now',
           'ours conv ms', 'floor conv ms', 'PyTorch conv ms',
           'ours other ms', 'PyTorch other ms', 'ceiling A', 'ceiling B',
           'goal')


def our_step(arch, batchsize, steps, warmup):
    """(step s, the convolutions' part of it) of a kernels/ training step:
    the step timed without the profiling hook, split by the convolutions'
    share of a profiled one."""
    was_installed = kernels.installed()
    kernels.install()
    try:
        model = models.get_model(arch, models.N_CLASS)
        x, t = random_batch(model.insize, batchsize)
        timer, _, total = profile(model, x, t, steps, warmup)
        optimizer = chainer.optimizers.MomentumSGD(lr=0.01, momentum=0.9)
        optimizer.setup(model)
        step = median_seconds(lambda: optimizer.update(model, x, t), steps)
    finally:
        kernels.use(was_installed)
    conv = sum(seconds for (name, _), seconds in timer.seconds.items()
               if name.startswith('Convolution2D'))
    return step, step * conv / total


def pytorch_step(arch, batchsize, steps, warmup):
    """(step s without the profiler, the convolutions' part of it)."""
    model = models.get_model(arch, models.N_CLASS)
    x, t = random_batch(model.insize, batchsize)
    rows, profiled = profile_pytorch(model, x, t, steps, warmup, top=None)
    conv_share = sum(ms for name, _, ms in rows if 'conv' in name) / 1e3 \
        / profiled
    step = median_seconds(pytorch_training_step(model, x, t), steps)
    # The profiler slows the step: its convolutions' share, not their
    # time, carries over to the step timed without it.
    return step, step * conv_share


def floor_seconds(arch, batchsize, repeats):
    """The convolutions forward + backward, each layer at its bare NumPy
    products or at kernels/'s time where that is less (kernels/shifted.py
    computes narrow layers from products that need no patch matrix)."""
    ours, gemm = WAYS.index('kernels/'), WAYS.index('NumPy GEMM')
    total = 0.0
    for phase in ('forward', 'backward'):
        for calls, seconds, _ in layer_times(
                arch, batchsize, repeats, phase,
                ways=('kernels/', 'NumPy GEMM')):
            total += calls * min(seconds[ours], seconds[gemm])
    return total


def row(arch, batchsize, steps, warmup, repeats):
    ours, ours_conv = our_step(arch, batchsize, steps, warmup)
    theirs, theirs_conv = pytorch_step(arch, batchsize, steps, warmup)
    # Layers timed alone can come out slower than inside the step: no
    # floor above what the step's convolutions take now.
    floor = min(floor_seconds(arch, batchsize, repeats), ours_conv)
    ours_other, theirs_other = ours - ours_conv, theirs - theirs_conv
    ceiling_a = theirs / (floor + ours_other)
    ceiling_b = theirs / (floor + min(ours_other, theirs_other))
    values = [arch] + ['{:.0f}'.format(s * 1e3) for s in (ours, theirs)]
    values.append('{:.2f}'.format(theirs / ours))
    values += ['{:.0f}'.format(s * 1e3) for s in (
        ours_conv, floor, theirs_conv, ours_other, theirs_other)]
    values += ['{:.2f}'.format(ceiling_a), '**{:.2f}**'.format(ceiling_b),
               '{:.1f}'.format(GOALS.get(arch, 1.0))]
    return '| ' + ' | '.join(values) + ' |'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=sorted(models.ARCHS),
                        help='network (repeatable; default: {})'.format(
                            ', '.join(models.BLOG_ARCHS)))
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--steps', type=int, default=3,
                        help='timed steps of each framework')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed calls of each product (median)')
    parser.add_argument('--out', help='also write the table here')
    args = parser.parse_args(argv)
    torch = torch_for_bench(parser)
    lines = ['NumPy ({}) and PyTorch {}, {} threads; batch {}; steps: median '
             'of {} after {}\n'.format(
                 blas_name(), torch.__version__, torch.get_num_threads(),
                 args.batchsize, args.steps, args.warmup),
             '| ' + ' | '.join(COLUMNS) + ' |',
             '|---|' + '---:|' * (len(COLUMNS) - 1)]
    print('\n'.join(lines))
    for arch in args.arch or list(models.BLOG_ARCHS):
        lines.append(row(arch, args.batchsize, args.steps, args.warmup,
                         args.repeats))
        print(lines[-1])
        sys.stdout.flush()
    if args.out:
        with open(args.out, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
