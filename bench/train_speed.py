#!/usr/bin/env python
"""Training speed of each network: Chainer (Chainer's own kernels and this
project's kernels/) against the same network in PyTorch, in one run.

    python bench/train_speed.py [--arch alex] [--batchsize 32]   # CPU
    python bench/train_speed.py --gpu 0 --out results/gpu/table.md
    python bench/train_speed.py --dry-run    # tiny and quick: checks the script

For each architecture at its input size, on random images: images/s of
one training step (forward + backward + MomentumSGD update, as in
train_imagenet.py) for each variant, the variants taking turns step by
step so that they share the machine's ups and downs; the median of the
timed steps after --warmup untimed ones. Variants:

  reference  Chainer with its own functions (--reference-kernels)
  kernels    Chainer with kernels/ (CPU only: on a GPU both are CuPy's),
             with kernels/compiled.py's loops when numba is installed
  kernels-numpy  the same without them (KERNELS_COMPILED=0)
  pytorch    bench/torch_twin.py: the same network read off the Chainer
             graph, same weights; checked to have the same parameter count
             and to compute the same loss before anything is timed

The ratios come last: kernels/reference (what kernels/ gains),
kernels/kernels-numpy (what numba gains) and Chainer/PyTorch (the gap
left). No data is read: this measures the
networks, not the image loader (bench/feeder.py does that).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import chainer  # noqa: E402
import numpy  # noqa: E402

import kernels  # noqa: E402
from kernels import allocator, compiled, openblas, stacked  # noqa: E402
import models  # noqa: E402
from results import summary  # noqa: E402
from trainer.device import cudnn_status  # noqa: E402

N_CLASS = models.N_CLASS
BLOG_ARCHS = models.BLOG_ARCHS
# --dry-run: a shallow DenseNet and 2 images, enough to run every line.
DRY = {'batchsize': 2, 'steps': 2, 'warmup': 1}
DRY_OPTIONS = {'densenet': dict(n_layer=2, growth_rate=4, in_ch=8)}
LOSS_TOLERANCE = 1e-3  # relative; float32 sums in another order


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=sorted(models.ARCHS),
                        help='network (repeatable; default: {})'.format(
                            ', '.join(BLOG_ARCHS)))
    parser.add_argument('--gpu', '-g', type=int, default=-1,
                        help='GPU id, or -1 for the CPU (default)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps per variant (default %(default)s)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps first (default %(default)s)')
    parser.add_argument('--variants', default='reference,kernels,pytorch',
                        help='which to time (default %(default)s; pytorch '
                             'only when it is importable)')
    parser.add_argument('--out', default=None,
                        help='also write the table (Markdown) here')
    parser.add_argument('--default-malloc', action='store_true',
                        help="leave glibc's allocator as it is instead of "
                             'keeping freed memory, as a CPU training run '
                             'does (kernels/allocator.py; it applies to '
                             'every variant of the process)')
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU, {batchsize} images, {warmup}+{steps} '
                             'steps, a shallow DenseNet'.format(**DRY))
    args = parser.parse_args(argv)
    if args.dry_run:
        vars(args).update(DRY, gpu=-1)
    args.arch = args.arch or list(BLOG_ARCHS)
    args.variants = [v for v in args.variants.split(',') if v]
    unknown = set(args.variants) - set(NAMES)
    if unknown:
        parser.error('unknown variant(s): {}'.format(', '.join(unknown)))
    cpu_only = [v for v in args.variants if v.startswith('kernels')]
    if args.gpu >= 0 and cpu_only:
        # kernels/ replaces CPU functions only: one Chainer row on a GPU.
        for variant in cpu_only:
            args.variants.remove(variant)
        if 'reference' not in args.variants:
            args.variants.insert(0, 'reference')
    if 'pytorch' in args.variants and not torch_available():
        args.variants.remove('pytorch')
    return args


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def build(arch, dry_run):
    options = DRY_OPTIONS.get(arch, {}) if dry_run else {}
    numpy.random.seed(0)  # the same initial weights for every variant
    return models.get_model(arch, N_CLASS, **options)


def random_batch(insize, batchsize, n_class=N_CLASS):
    """A fixed batch: images uniform in [-1, 1] and labels < n_class."""
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, (batchsize, 3, insize, insize))
    t = rng.randint(0, n_class, batchsize)
    return x.astype(numpy.float32), t.astype(numpy.int32)


class ChainerStep(object):
    """One MomentumSGD training step of a Chainer model."""

    def __init__(self, model, device, x, t, fast, compiled_loops=True):
        self.fast = fast
        self.compiled_loops = compiled_loops and compiled.enabled()
        model.to_device(device)
        self.model = model
        self.device = device
        self.optimizer = chainer.optimizers.MomentumSGD(lr=0.01,
                                                        momentum=0.9)
        self.optimizer.setup(model)
        self.x, self.t = device.send(x), device.send(t)

    def __call__(self):
        kernels.use(self.fast)
        compiled.ENABLED = self.compiled_loops
        with chainer.using_device(self.device):
            self.optimizer.update(self.model, self.x, self.t)
        if self.device.xp is not numpy:
            self.device.device.synchronize()


class TorchStep(object):
    """The same step in PyTorch, on the twin of a Chainer model."""

    def __init__(self, model, x, t, gpu):
        import torch
        from torch_twin import TorchTwin
        twin = TorchTwin(model, x, t)
        check_twin(model, twin, x, t)
        self.where = 'cpu' if gpu < 0 else 'cuda:{}'.format(gpu)
        self.twin = twin.to(self.where)
        self.x = torch.from_numpy(x).to(self.where)
        self.t = torch.from_numpy(t).to(self.where)
        self.optimizer = torch.optim.SGD(self.twin.parameters(), lr=0.01,
                                         momentum=0.9)
        self.sync = (torch.cuda.synchronize if gpu >= 0 else
                     (lambda: None))

    def __call__(self):
        self.optimizer.zero_grad()
        self.twin(self.x, self.t).backward()
        self.optimizer.step()
        self.sync()


def check_twin(model, twin, x, t):
    """Same parameter count and same loss (so same layer shapes and
    pooling rounding), in test mode, before anything is timed."""
    import torch
    ours = sum(p.size for p in model.params())
    theirs = sum(p.numel() for p in twin.parameters())
    assert ours == theirs, 'parameters: Chainer {}, PyTorch {}'.format(
        ours, theirs)
    with chainer.using_config('train', False), kernels.reference():
        expected = float(model(x, t).array)
    twin.eval()
    with torch.no_grad():
        got = float(twin(torch.from_numpy(x), torch.from_numpy(t)))
    twin.train()
    assert abs(got - expected) <= LOSS_TOLERANCE * max(1.0, abs(expected)), \
        'loss: Chainer {}, PyTorch {}'.format(expected, got)


def make_steps(arch, args, device):
    steps = {}
    for variant in args.variants:
        model = build(arch, args.dry_run)
        x, t = random_batch(model.insize, args.batchsize)
        if variant == 'pytorch':
            steps[variant] = TorchStep(model, x, t, args.gpu)
        else:
            steps[variant] = ChainerStep(
                model, device, x, t, fast=variant.startswith('kernels'),
                compiled_loops=variant == 'kernels')
    return steps


def time_alternately(steps, args):
    """{variant: median images/s}, the variants taking turns."""
    seconds = {name: [] for name in steps}
    for i in range(args.warmup + args.steps):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if i >= args.warmup:
                seconds[name].append(time.perf_counter() - start)
    return {name: args.batchsize / float(numpy.median(s))
            for name, s in seconds.items()}


def peak_mib(step):
    """MiB allocated at the peak of one more step above what was held
    before it (tracemalloc sees NumPy's buffers, not PyTorch's)."""
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        step()
        return (tracemalloc.get_traced_memory()[1] - held) / 2.0 ** 20
    finally:
        tracemalloc.stop()


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, HERE)  # torch_twin
    device = chainer.get_device('@numpy' if args.gpu < 0 else
                                '@cupy:{}'.format(args.gpu))
    device.use()
    # As train_imagenet.py does on the CPU; process-wide, so every variant
    # runs with it.
    args.kept_memory = (device.xp is numpy and not args.default_malloc
                        and allocator.keep_freed_memory())
    was_installed, was_compiled = kernels.installed(), compiled.ENABLED
    print(describe(device, args))
    header, rule = table_header(args.variants, device.xp is numpy)
    print(header)
    print(rule)
    rows = []
    try:
        for arch in args.arch:
            steps = make_steps(arch, args, device)
            rate = time_alternately(steps, args)
            memory = ({name: peak_mib(step) for name, step in steps.items()
                       if name != 'pytorch'} if device.xp is numpy else {})
            rows.append(format_row(arch, rate, args.variants, memory))
            print(rows[-1], flush=True)
    finally:
        kernels.use(was_installed)
        compiled.ENABLED = was_compiled
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)),
                    exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write('{}\n\n{}\n'.format(describe(device, args),
                                        '\n'.join([header, rule] + rows)))
        print('wrote', args.out)
    return 0


NAMES = {'reference': 'Chainer', 'kernels': 'Chainer + kernels/',
         'kernels-numpy': 'kernels/ without numba', 'pytorch': 'PyTorch'}


def memory_names(variants, on_cpu):
    """The Chainer variants whose peak memory is measured (CPU only)."""
    return [v for v in variants if on_cpu and v != 'pytorch']


def table_header(variants, on_cpu=False):
    columns = ['arch'] + ['{} images/s'.format(NAMES[v]) for v in variants]
    columns += [r[0] for r in ratio_names(variants)]
    measured = memory_names(variants, on_cpu)
    columns += ['{} peak MiB'.format(NAMES[v]) for v in measured]
    if {'kernels', 'reference'} <= set(measured):
        columns.append('memory kernels/ / Chainer')
    header = '| ' + ' | '.join(columns) + ' |'
    rule = '|---|' + '---:|' * (len(columns) - 1)
    return header, rule


def ratio_names(variants):
    """(title, numerator, denominator) of each ratio column."""
    ratios = []
    if 'kernels' in variants and 'reference' in variants:
        ratios.append(('kernels/ / Chainer', 'kernels', 'reference'))
    if 'kernels' in variants and 'kernels-numpy' in variants:
        ratios.append(('numba gain', 'kernels', 'kernels-numpy'))
    if 'pytorch' in variants:
        ours = 'kernels' if 'kernels' in variants else 'reference'
        if ours in variants:
            ratios.append(('{} / PyTorch'.format(NAMES[ours]), ours,
                           'pytorch'))
    return ratios


def format_row(arch, rate, variants, memory=None):
    """A table row; `memory`: {variant: peak MiB} of the Chainer variants
    on the CPU (empty on a GPU)."""
    memory = memory or {}
    cells = [arch] + ['{:.2f}'.format(rate[v]) for v in variants]
    cells += ['{:.2f}'.format(rate[a] / rate[b])
              for _, a, b in ratio_names(variants)]
    measured = [v for v in variants if v in memory]
    cells += ['{:.0f}'.format(memory[v]) for v in measured]
    if {'kernels', 'reference'} <= set(measured):
        cells.append('{:.2f}'.format(memory['kernels'] /
                                     max(memory['reference'], 1e-9)))
    return '| ' + ' | '.join(cells) + ' |'


def describe(device, args):
    versions = 'Python {}, Chainer {}, NumPy {}'.format(
        platform.python_version(), chainer.__version__, numpy.__version__)
    where = summary.describe_device(device)
    if device.xp is not numpy:
        import cupy
        versions += ', CuPy {}; {}'.format(
            cupy.__version__, cudnn_status(device))
    else:
        versions += ', glibc malloc {}, {}'.format(
            'keeping freed memory (kernels/allocator.py)'
            if args.kept_memory else 'as it is',
            'numba {} ({} threads)'.format(compiled.numba.__version__,
                                           compiled.numba.get_num_threads())
            if compiled.enabled() else 'no numba')
        versions += ', OpenBLAS threads {}'.format(
            'spinning between products (its default)'
            if openblas.TIMEOUT is None else
            'waiting 2**{} cycles after a product (kernels/openblas.py)'
            .format(openblas.TIMEOUT))
        share = stacked.parts(1 << 20)
        versions += (', products and chunks in {} parts, one a core '
                     '(kernels/stacked.py)'.format(share) if share > 1 else
                     ", products and chunks on OpenBLAS's threads")
        if args.dry_run:
            where += ' (dry run: tiny, not a measurement)'
    if 'pytorch' in args.variants:
        import torch
        versions += ', PyTorch {} ({} threads)'.format(
            torch.__version__, torch.get_num_threads())
    return '{}; batch {}, median of {} steps after {}; {}'.format(
        where, args.batchsize, args.steps, args.warmup, versions)


if __name__ == '__main__':
    sys.exit(main())
