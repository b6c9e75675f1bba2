#!/usr/bin/env python
"""Inference cost of each network: batch-1 latency and batch-32 throughput
in Chainer (its own functions and kernels/), PyTorch and onnxruntime.

    .venv-torch/bin/python bench/inference.py --out results/inference.md
    python bench/inference.py --dry-run     # tiny and quick: checks the script

For each architecture at its input size, with the same weights everywhere:
Chainer's model.predict under chainer.using_config('train', False) and
no_backprop_mode, once with Chainer's own functions ('chainer') and once
with kernels/; the PyTorch twin of the test-time graph (bench/torch_twin.py,
eval mode, torch.no_grad); and the export_onnx.py model in onnxruntime
(serving/onnx_export.py), every library on --threads threads. Batch 1: the
median and 95th percentile of --runs forward passes; batch --batchsize:
images/s of the median pass. The variants take turns in rounds, each
running its share of passes in a row (thread pools that keep spinning
after a call would otherwise slow the next library).

The variants that are not installed are left out (PyTorch and onnxruntime:
make torch-venv; onnxruntime alone: pip install -e ".[onnx]").
--json keeps the numbers for `python -m results --latency`.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import chainer  # noqa: E402
import numpy  # noqa: E402

import kernels  # noqa: E402
import models  # noqa: E402
from results import summary  # noqa: E402
from results.table import millions  # noqa: E402
from train_speed import (DRY_OPTIONS, N_CLASS, random_batch,  # noqa: E402
                         torch_available)

VARIANTS = ('chainer', 'kernels', 'pytorch', 'onnxruntime')
ROUNDS = 3


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=sorted(models.ARCHS),
                        help='network (repeatable; default: the four)')
    parser.add_argument('--runs', type=int, default=30,
                        help='batch-1 passes per variant (default '
                             '%(default)s)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--batch-runs', type=int, default=3,
                        help='timed passes of the large batch')
    parser.add_argument('--threads', type=int, default=2,
                        help='threads of PyTorch and onnxruntime (NumPy '
                             'takes OPENBLAS_NUM_THREADS)')
    parser.add_argument('--variants', default=','.join(VARIANTS),
                        help='comma-separated subset of ' +
                             ', '.join(VARIANTS))
    parser.add_argument('--out', metavar='FILE.md', default=None,
                        help='also write the table (with the machine) here')
    parser.add_argument('--json', metavar='FILE', default=None,
                        help='also write the numbers as JSON')
    parser.add_argument('--dry-run', action='store_true',
                        help='a shallow DenseNet and NIN, few passes')
    args = parser.parse_args(argv)
    args.variants = [v for v in args.variants.split(',') if v]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error('unknown variant(s): {}'.format(', '.join(unknown)))
    if args.dry_run:
        args.arch = args.arch or ['nin', 'densenet']
        args.runs, args.batchsize, args.batch_runs = 3, 2, 1
    args.arch = args.arch or list(models.BLOG_ARCHS)
    return args


def installed(variant):
    if variant == 'pytorch':
        return torch_available()
    if variant != 'onnxruntime':
        return True
    try:  # the export needs onnx, the session onnxruntime
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def chainer_forward(model, fast):
    def forward(x):
        kernels.use(fast)
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            model.predict(x)
    return forward


def torch_forward(model, x, threads):
    import torch
    from torch_twin import TorchTwin
    torch.set_num_threads(threads)
    twin = TorchTwin(model, x).eval()

    def forward(x):
        with torch.no_grad():
            twin(torch.from_numpy(x))
    return forward


def onnx_forward(model, threads):
    """onnxruntime on the model's export; the input is the crop before
    normalisation, which the export applies itself (an elementwise pass
    the Chainer variants do not time: it is under 1% of any network)."""
    import onnxruntime
    from serving import onnx_export
    proto = onnx_export.export(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(
        proto.SerializeToString(), options,
        providers=['CPUExecutionProvider'])

    def forward(x):
        session.run(['scores'], {'image': x})
    return forward


def build_forwards(arch, args):
    options = DRY_OPTIONS.get(arch, {}) if args.dry_run else {}
    numpy.random.seed(0)
    model = models.get_model(arch, N_CLASS, **options)
    x1, _ = random_batch(model.insize, 1)
    forwards = {}
    for variant in args.variants:
        if variant in ('chainer', 'kernels'):
            forwards[variant] = chainer_forward(model, variant == 'kernels')
        elif variant == 'pytorch':
            forwards[variant] = torch_forward(model, x1, args.threads)
        else:
            forwards[variant] = onnx_forward(model, args.threads)
    return model, forwards


def timed(forward, x, count, warm_up=True):
    """Seconds of `count` passes, after one untimed one if `warm_up`."""
    if warm_up:
        forward(x)
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        forward(x)
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(arch, args):
    """{variant: (median ms, p95 ms, images/s)} and the model."""
    model, forwards = build_forwards(arch, args)
    one, _ = random_batch(model.insize, 1)
    many, _ = random_batch(model.insize, args.batchsize)
    singles = {v: [] for v in forwards}
    batches = {v: [] for v in forwards}
    share = max(1, args.runs // ROUNDS)
    batch_share = max(1, args.batch_runs // ROUNDS)
    for round_ in range(ROUNDS):
        for variant, forward in forwards.items():
            singles[variant] += timed(forward, one, share)
            # A large batch's first pass warms up once: the seconds of a
            # pass dwarf another library's threads winding down.
            if len(batches[variant]) < args.batch_runs:
                batches[variant] += timed(forward, many, batch_share,
                                          warm_up=round_ == 0)
    numbers = {}
    for variant in forwards:
        ms = numpy.array(singles[variant]) * 1e3
        numbers[variant] = dict(
            median_ms=float(numpy.median(ms)),
            p95_ms=float(numpy.percentile(ms, 95)),
            images_per_s=args.batchsize / float(numpy.median(
                batches[variant])))
    return model, numbers


def table(results, variants, batchsize):
    lines = ['| network | input | params | ' + ' | '.join(
        '{} batch-1 ms (p95)'.format(v) for v in variants) + ' | ' +
        ' | '.join('{} batch-{} images/s'.format(v, batchsize)
                   for v in variants) + ratio_header(variants) + ' |',
        '|---|---|---:|' + '---:|' * (2 * len(variants) +
                                     len(ratio_names(variants)))]
    for arch, entry in results.items():
        numbers = entry['variants']
        cells = ['{:.1f} ({:.1f})'.format(numbers[v]['median_ms'],
                                          numbers[v]['p95_ms'])
                 for v in variants]
        cells += ['{:.1f}'.format(numbers[v]['images_per_s'])
                  for v in variants]
        cells += ['**{:.2f}**'.format(numbers[a]['median_ms'] /
                                      numbers[b]['median_ms'])
                  for a, b in ratio_names(variants)]
        lines.append('| {} | {}x{} | {} | {} |'.format(
            arch, entry['insize'], entry['insize'], millions(entry['params']),
            ' | '.join(cells)))
    return '\n'.join(lines)


def ratio_names(variants):
    """Batch-1 latency ratios: kernels/ against each other variant."""
    if 'kernels' not in variants:
        return []
    return [('kernels', v) for v in variants if v != 'kernels']


def ratio_header(variants):
    return ''.join(' | batch-1 {} / {}'.format(a, b)
                   for a, b in ratio_names(variants))


def describe(args):
    versions = ['Python {}'.format(platform.python_version()),
                'Chainer {}'.format(chainer.__version__),
                'NumPy {}'.format(numpy.__version__)]
    for name in ('torch', 'onnxruntime'):
        try:
            versions.append('{} {}'.format(name, __import__(name).__version__))
        except ImportError:
            pass
    where = summary.describe_device(chainer.get_device('@numpy'))
    if args.dry_run:
        where += ' (dry run: tiny, not a measurement)'
    return ('{}; {}; {} threads; batch 1: median and 95th percentile of {} '
            'passes; batch {}: median of {}.'.format(
                where, ', '.join(versions), args.threads, args.runs,
                args.batchsize, args.batch_runs))


def main(argv=None):
    args = parse_args(argv)
    missing = [v for v in args.variants if not installed(v)]
    if missing:
        print('left out (not installed): {}'.format(', '.join(missing)),
              file=sys.stderr)
    args.variants = [v for v in args.variants if v not in missing]
    results = {}
    was_installed = kernels.installed()
    for arch in args.arch:
        model, numbers = measure(arch, args)
        kernels.use(was_installed)
        results[arch] = dict(insize=int(model.insize),
                             params=int(model.count_params()),
                             variants=numbers)
        print('{}: {}'.format(arch, ', '.join(
            '{} {:.1f} ms'.format(v, n['median_ms'])
            for v, n in numbers.items())), file=sys.stderr)
    text = table(results, args.variants, args.batchsize)
    print(describe(args) + '\n\n' + text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write('# Inference cost per network\n\n{}\n\n{}\n'.format(
                describe(args), text))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(machine=describe(args), batchsize=args.batchsize,
                           networks=results), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
