#!/usr/bin/env python
"""Training speed of each network on a GPU, in Chainer and in PyTorch.

    python bench/gpu_check.py --gpu 0 [--out results/gpu/table.md]
    python bench/gpu_check.py --dry-run      # CPU, tiny: checks the script

For each architecture: a short training at the blog's batch size (32) on
random images of the network's input size, MomentumSGD as in
train_imagenet.py; after --warmup iterations, --iterations are timed and
images/s of forward + backward + update printed with the GPU memory CuPy
holds. When PyTorch is importable, the same network (bench/torch_twin.py:
read off the Chainer graph, same weights) is timed the same way in the same
run; the Chainer / PyTorch ratio comes last. No data is read: this measures
the networks, not the image loader (bench/feeder.py does that).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import time  # noqa: E402

import chainer  # noqa: E402
import numpy  # noqa: E402

import models  # noqa: E402
import training_extras  # noqa: E402

N_CLASS = 34  # the blog's categories
# --dry-run: a shallow DenseNet and 2 images, enough to run every line.
DRY = {'batchsize': 2, 'iterations': 2, 'warmup': 1}
DRY_OPTIONS = {'densenet': dict(n_layer=2, growth_rate=4, in_ch=8)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=sorted(models.ARCHS),
                        help='network (repeatable; default: each one)')
    parser.add_argument('--gpu', '-g', type=int, default=0,
                        help='GPU id (default %(default)s)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--iterations', type=int, default=30,
                        help='timed iterations (default %(default)s)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed iterations first (default %(default)s)')
    parser.add_argument('--no-torch', action='store_true',
                        help='skip PyTorch even when it is installed')
    parser.add_argument('--out', default=None,
                        help='also write the table (Markdown) here')
    parser.add_argument('--dry-run', action='store_true',
                        help='on the CPU with {batchsize} images, {warmup}+'
                             '{iterations} iterations and a shallow DenseNet'
                             .format(**DRY))
    args = parser.parse_args(argv)
    if args.dry_run:
        vars(args).update(DRY)
    if not args.arch:  # googlenet and googlenetbn are one class
        classes = {}
        for name in sorted(models.ARCHS):
            classes.setdefault(models.ARCHS[name], name)
        args.arch = sorted(classes.values())
    return args


def build(arch, dry_run):
    options = DRY_OPTIONS.get(arch, {}) if dry_run else {}
    return models.get_model(arch, N_CLASS, **options)


def random_batch(model, batchsize, xp):
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, (batchsize, 3, model.insize, model.insize))
    t = rng.randint(0, N_CLASS, batchsize)
    return xp.asarray(x.astype(numpy.float32)), xp.asarray(t.astype(
        numpy.int32))


def time_chainer(model, device, args):
    """(images/s, MiB held by CuPy's memory pool or None on the CPU)."""
    model.to_device(device)
    optimizer = chainer.optimizers.MomentumSGD(lr=0.01, momentum=0.9)
    optimizer.setup(model)
    x, t = random_batch(model, args.batchsize, device.xp)
    sync = device.device.synchronize if device.xp is not numpy else \
        (lambda: None)
    with chainer.using_device(device):
        for i in range(args.warmup + args.iterations):
            if i == args.warmup:
                sync()
                start = time.perf_counter()
            optimizer.update(model, x, t)
        sync()
        seconds = time.perf_counter() - start
    memory = None
    if device.xp is not numpy:
        memory = device.xp.get_default_memory_pool().total_bytes() / 2 ** 20
    return args.batchsize * args.iterations / seconds, memory


def time_torch(model, device, args):
    """images/s of the PyTorch twin of `model` (on the same GPU)."""
    import torch
    from torch_twin import TorchTwin
    x, t = random_batch(model, args.batchsize, numpy)
    model.to_cpu()
    twin = TorchTwin(model, x, t)
    where = 'cpu' if device.xp is numpy else 'cuda:{}'.format(args.gpu)
    twin.to(where)
    x, t = torch.from_numpy(x).to(where), torch.from_numpy(t).to(where)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)
    sync = torch.cuda.synchronize if where != 'cpu' else (lambda: None)
    for i in range(args.warmup + args.iterations):
        if i == args.warmup:
            sync()
            start = time.perf_counter()
        optimizer.zero_grad()
        twin(x, t).backward()
        optimizer.step()
    sync()
    return args.batchsize * args.iterations / (time.perf_counter() - start)


def torch_available(args):
    if args.no_torch:
        return False
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, HERE)  # torch_twin
    device = chainer.get_device('@numpy' if args.dry_run else
                                '@cupy:{}'.format(args.gpu))
    device.use()
    with_torch = torch_available(args)
    print(describe(device, with_torch, args))
    print(HEADER)
    print(RULE)
    rows = []
    for arch in args.arch:
        model = build(arch, args.dry_run)
        speed, memory = time_chainer(model, device, args)
        torch_speed = time_torch(model, device, args) if with_torch else None
        rows.append((arch, model.__class__.__name__, speed, memory,
                     torch_speed))
        print(format_row(rows[-1]), flush=True)
    table = '\n'.join([HEADER, RULE] + [format_row(r) for r in rows])
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)),
                    exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write('{}\n\n{}\n'.format(
                describe(device, with_torch, args), table))
        print('wrote', args.out)
    return 0


HEADER = ('| arch | model | Chainer images/s | GPU memory MiB | '
          'PyTorch images/s | Chainer / PyTorch |')
RULE = '|---|---|---:|---:|---:|---:|'


def format_row(row):
    arch, name, speed, memory, torch_speed = row
    return '| {} | {} | {:.1f} | {} | {} | {} |'.format(
        arch, name, speed, '-' if memory is None else '{:.0f}'.format(memory),
        '-' if torch_speed is None else '{:.1f}'.format(torch_speed),
        '-' if torch_speed is None else '{:.2f}'.format(speed / torch_speed))


def describe(device, with_torch, args):
    versions = 'Chainer {}, NumPy {}'.format(chainer.__version__,
                                             numpy.__version__)
    if device.xp is not numpy:
        import cupy
        name = cupy.cuda.runtime.getDeviceProperties(args.gpu)['name']
        versions += ', CuPy {}; {}'.format(
            cupy.__version__, training_extras.cudnn_status(device))
        where = name.decode() if isinstance(name, bytes) else name
    else:
        where = 'CPU (dry run: tiny, not a measurement)'
    if with_torch:
        import torch
        versions += ', PyTorch {}'.format(torch.__version__)
    return '{}; batch {}, {} timed iterations after {}; {}'.format(
        where, args.batchsize, args.iterations, args.warmup, versions)


if __name__ == '__main__':
    sys.exit(main())
