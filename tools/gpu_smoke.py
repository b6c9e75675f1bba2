#!/usr/bin/env python
"""The GPU check: the GPU is used, it computes what the CPU computes,
train_imagenet.py trains every network on it, and how fast, next to
PyTorch on the same GPU.

    make gpu-smoke                  # GPU 0; writes results/gpu/
    make gpu-smoke GPU=-1           # dry run on the CPU: tiny, quick
    python tools/gpu_smoke.py --gpu 0 [--out DIR] [--arch alex ...]

1. same step: per network, one fixed batch through a forward and backward
   pass on the CPU (Chainer's own functions, float32) and on the GPU, from
   the same weights with the same dropout masks; the loss and every
   gradient must agree within rtol 1e-3 (largest difference over the
   largest magnitude, per parameter). TF32 is off (NVIDIA_TF32_OVERRIDE=0,
   CUPY_TF32=0) so that cuDNN and cuBLAS multiply in full float32.
2. training: train_imagenet.py --gpu N on the embedded Fashion-MNIST
   sample (labelled by `python -m labeling`), each network at its own
   input size for a short schedule; its summary must name the GPU.
3. speed: bench/train_speed.py --gpu N (Chainer against PyTorch, when
   torch is importable).

Writes smoke.md (the tables), smoke.json, speed.md and the runs into
--out. Needs no network. The dry run (--gpu -1) puts kernels/ on the
CPU in the GPU's place, with the smallest inputs and a shallow DenseNet.
"""
import os
import sys

# Before CUDA is loaded: cuDNN and cuBLAS read it once.
os.environ.setdefault('NVIDIA_TF32_OVERRIDE', '0')
os.environ.setdefault('CUPY_TF32', '0')

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, os.path.join(REPO, 'bench')]

import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import chainer  # noqa: E402
import numpy  # noqa: E402

import models  # noqa: E402
import same_step  # noqa: E402
import train_speed  # noqa: E402
from imagedata import listfile  # noqa: E402
from results import summary  # noqa: E402
from steps import per_class_subset  # noqa: E402
from trainer.device import cudnn_status  # noqa: E402
from trainer.safety import remove_snapshots  # noqa: E402

SAMPLE = 'sample/fashion-mnist'
ARCHS = models.BLOG_ARCHS
COMPARE_BATCH = 8  # batch normalization needs a few images per batch
COMPARE_CLASSES = 10  # as many as the sample's, which step 2 trains on
# Step 2 on a GPU: the blog's input sizes and batch, a short schedule.
TRAIN_EPOCHS, TRAIN_BATCH = 2, 32
DRY_SIZES = {'alex': 39, 'nin': 39, 'googlenet': 59, 'densenet': 8}
DRY_OPTIONS = train_speed.DRY_OPTIONS
DRY_TRAIN = (1, 2, 4)  # epochs, images per class, batch


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='Dry run (--gpu -1): the CPU with kernels/ stands in for '
               'the GPU, at the smallest input sizes.')
    parser.add_argument('--gpu', '-g', type=int, default=0,
                        help='GPU id; -1: dry run on the CPU (default '
                             '%(default)s)')
    parser.add_argument('--arch', '-a', action='append', choices=ARCHS,
                        help='only these networks (repeatable)')
    parser.add_argument('--out', '-o', default=None,
                        help='output folder (default results/gpu, or '
                             'result/gpu-smoke-dry for the dry run)')
    parser.add_argument('--loaderjob', '-j', type=int,
                        default=min(os.cpu_count() or 1, 8),
                        help='image loading processes of the training runs')
    parser.add_argument('--skip-speed', action='store_true',
                        help='leave out step 3')
    args = parser.parse_args(argv)
    args.dry = args.gpu < 0
    args.arch = args.arch or list(ARCHS)
    if args.out is None:
        args.out = os.path.join(REPO, 'result/gpu-smoke-dry' if args.dry
                                else 'results/gpu')
    return args


def get_device(args):
    """The GPU, made current; one line and exit 2 when there is none."""
    if args.dry:
        return chainer.get_device('@numpy')
    from chainer.backends import cuda
    if not cuda.available:
        sys.exit('error: CuPy cannot load CUDA here (chainer.backends.cuda.'
                 'available is False); install the gpu extra: pip install '
                 '--no-build-isolation -e ".[gpu]"')
    device = chainer.get_device('@cupy:{}'.format(args.gpu))
    try:
        device.use()
    except Exception as e:  # no driver, no such device
        sys.exit('error: GPU {}: {}'.format(args.gpu, ' '.join(
            str(e).split())))
    return device


def environment(device):
    """The lines saying where this ran."""
    versions = summary.versions()
    lines = ['device: {}'.format(summary.describe_device(device)),
             'versions: {}'.format(', '.join(
                 '{} {}'.format(k, v) for k, v in versions.items()
                 if v is not None))]
    if device.xp is not numpy:
        lines.append(cudnn_status(device))
        lines.append('TF32: NVIDIA_TF32_OVERRIDE={}, CUPY_TF32={}'.format(
            os.environ['NVIDIA_TF32_OVERRIDE'], os.environ['CUPY_TF32']))
    else:
        lines.append('dry run: the CPU with kernels/ stands in for the GPU; '
                     'tiny sizes, not a measurement')
    return lines


def compare_all(args, device):
    """Step 1: {arch: same_step.compare(...)}."""
    results = {}
    for arch in args.arch:
        numpy.random.seed(0)
        options = dict(DRY_OPTIONS.get(arch, {})) if args.dry else {}
        if args.dry:
            options['insize'] = DRY_SIZES[arch]
        model = models.get_model(arch, COMPARE_CLASSES, **options)
        x, t = train_speed.random_batch(model.insize, COMPARE_BATCH,
                                        COMPARE_CLASSES)
        start = time.time()
        result = same_step.compare(model, x, t, device)
        result['seconds'] = round(time.time() - start, 1)
        results[arch] = result
        print('same step {:<10} float64: worst gradient {} {:.1e}; float32: '
              'loss {:.6f} / {:.6f}, gradient {:.1e} from float64 (CPU '
              '{:.1e})  {}'.format(
                  arch, result['float64_worst_gradient'],
                  result['float64_worst_gradient_rel_error'],
                  result['float32_loss_cpu'], result['float32_loss_device'],
                  result['float32_device_gradient_distance'],
                  result['float32_cpu_gradient_distance'],
                  'ok' if result['agree'] else 'DIFFERENT'), flush=True)
    return results


def make_lists(args):
    """labeling on the embedded sample; (train list, val list)."""
    lists = os.path.join(args.out, 'lists')
    run_command(['-m', 'labeling', SAMPLE, '--out', lists])
    train, val = (os.path.join(lists, name) for name in ('train.txt',
                                                         'val.txt'))
    if args.dry:
        _, per_class, _ = DRY_TRAIN
        for path in (train, val):
            listfile.write_list(path, per_class_subset(
                listfile.read_list(path), per_class))
    return train, val


def run_command(arguments):
    command = [sys.executable] + arguments
    print('\n$ python ' + ' '.join(arguments), flush=True)
    return subprocess.run(command, cwd=REPO).returncode


def train_all(args, lists):
    """Step 2: {arch: what train_imagenet.py's summary says}."""
    results = {}
    for arch in args.arch:
        insize, epochs, batch, options = None, TRAIN_EPOCHS, TRAIN_BATCH, {}
        if args.dry:
            epochs, _, batch = DRY_TRAIN
            insize, options = DRY_SIZES[arch], DRY_OPTIONS.get(arch, {})
        out = os.path.join(args.out, 'runs', arch)
        shutil.rmtree(out, ignore_errors=True)
        command = ['train_imagenet.py', lists[0], lists[1], '--root', SAMPLE,
                   '--arch', arch, '--gpu', str(args.gpu), '--epoch',
                   str(epochs), '--batchsize', str(batch), '--val_batchsize',
                   '100', '--seed', '0', '--loaderjob',
                   str(0 if args.dry else args.loaderjob), '--out', out]
        if insize:
            command += ['--insize', str(insize)]
        for key, value in sorted(options.items()):
            command += ['--model-option', '{}={}'.format(key, value)]
        start = time.time()
        code = run_command(command)
        results[arch] = read_run(out, code, time.time() - start, args)
    return results


def read_run(out, code, seconds, args):
    result = {'exit_code': code, 'seconds': round(seconds, 1)}
    path = os.path.join(out, summary.SUMMARY_FILE)
    if code == 0 and os.path.isfile(path):
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        result.update({key: data.get(key) for key in (
            'device', 'insize', 'epoch', 'images_seen', 'train_images_per_s',
            'train_loss', 'test_accuracy', 'cpu_kernels', 'versions')})
    wanted = 'cpu' if args.dry else 'gpu {}'.format(args.gpu)
    result['ok'] = (code == 0 and str(result.get('device', '')).startswith(
        wanted) and math.isfinite(result.get('train_loss') or math.nan))
    remove_snapshots(out)
    return result


def speed(args):
    """Step 3: bench/train_speed.py's table (speed.md)."""
    path = os.path.join(args.out, 'speed.md')
    bench_args = ['--out', path] + sum((['--arch', a] for a in args.arch),
                                       [])
    bench_args += ['--dry-run'] if args.dry else ['--gpu', str(args.gpu)]
    print('\n$ python bench/train_speed.py ' + ' '.join(bench_args),
          flush=True)
    train_speed.main(bench_args)
    with open(path, encoding='utf-8') as f:
        return f.read().strip()


def report(args, lines, compared, trained, speed_table, seconds):
    """smoke.md: the three steps' tables; True if every check passed."""
    ok = (all(r['agree'] for r in compared.values())
          and all(r['ok'] for r in trained.values()))
    text = ['# GPU check' + (' (dry run)' if args.dry else ''), '']
    text += ['- ' + line for line in lines]
    text += ['- {} in {:.0f} s: {}'.format(
        'tools/gpu_smoke.py --gpu {}'.format(args.gpu), seconds,
        'all checks passed' if ok else 'FAILED'), '']
    text += ['## 1. Same step on the CPU and the device', '',
             'One batch of {} random images, training mode, the same weights '
             'and dropout masks on both sides (tools/same_step.py). float64: '
             'loss and every gradient within rtol {} (per parameter: largest '
             'difference / largest magnitude). float32, as trained: loss '
             'within rtol {}; the whole gradient\'s distance from the float64 '
             'one (|g32 - g64| / |g64|) at most {}x the CPU\'s own.'.format(
                 COMPARE_BATCH, same_step.RTOL, same_step.RTOL,
                 same_step.FLOAT32_FACTOR), '',
             '| network | parameters | float64 loss rel. error | float64 '
             'worst gradient | its rel. error | float32 loss CPU | float32 '
             'loss device | float32 gradient vs float64: CPU | device | '
             'agree |',
             '|---|---:|---:|---|---:|---:|---:|---:|---:|---|']
    for arch, r in compared.items():
        text.append('| {} | {} | {:.1e} | {} | {:.1e} | {:.6f} | {:.6f} | '
                    '{:.1e} | {:.1e} | {} |'.format(
                        arch, r['parameters'], r['float64_loss_rel_error'],
                        r['float64_worst_gradient'],
                        r['float64_worst_gradient_rel_error'],
                        r['float32_loss_cpu'], r['float32_loss_device'],
                        r['float32_cpu_gradient_distance'],
                        r['float32_device_gradient_distance'],
                        'yes' if r['agree'] else '**no**'))
    text += ['', '## 2. train_imagenet.py on the device', '',
             'The embedded Fashion-MNIST sample ({}), validation on its '
             'held-out images.'.format(SAMPLE), '',
             '| network | input | epochs | images | training images/s | '
             'train loss | val. accuracy | wall s | device | ok |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---|---|']
    for arch, r in trained.items():
        text.append('| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} '
                    '|'.format(arch, r.get('insize'), r.get('epoch'),
                               r.get('images_seen'),
                               _number(r.get('train_images_per_s'), '{:.0f}'),
                               _number(r.get('train_loss'), '{:.3f}'),
                               _number(r.get('test_accuracy'), '{:.1%}'),
                               r['seconds'], r.get('device'),
                               'yes' if r['ok'] else '**no** (exit {})'.format(
                                   r['exit_code'])))
    if speed_table:
        text += ['', '## 3. Training speed (bench/train_speed.py)', '',
                 speed_table]
    with open(os.path.join(args.out, 'smoke.md'), 'w',
              encoding='utf-8') as f:
        f.write('\n'.join(text) + '\n')
    with open(os.path.join(args.out, 'smoke.json'), 'w',
              encoding='utf-8') as f:
        json.dump({'environment': lines, 'same_step': compared,
                   'training': trained, 'seconds': round(seconds, 1),
                   'ok': ok}, f, indent=1, sort_keys=True)
    return ok


def _number(value, form):
    return '-' if value is None else form.format(value)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    device = get_device(args)
    os.makedirs(args.out, exist_ok=True)
    lines = environment(device)
    print('\n'.join(lines), flush=True)
    compared = compare_all(args, device)
    trained = train_all(args, make_lists(args))
    speed_table = None if args.skip_speed else speed(args)
    ok = report(args, lines, compared, trained, speed_table,
                time.time() - start)
    print('\n{}: {}'.format(os.path.join(args.out, 'smoke.md'),
                            'all checks passed' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
