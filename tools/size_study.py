#!/usr/bin/env python
"""What input size does a network need? Trains one network at several
input sizes on the same lists, with the same small budget, and writes the
accuracy and the training speed against the size.

    python tools/size_study.py data/train.txt data/val.txt --arch alex \\
        --sizes 39,67,99,131 --per-class 200 --epoch 2

Each size is an ordinary train_imagenet.py run (printed before it runs)
into OUT/<arch>-<size>/; a size the network cannot take is refused before
anything trains, naming the nearest ones it can (python -m shapes --arch
ARCH --valid-sizes lists them). Writes OUT/table.md and OUT/size.png
(accuracy and images/s against the input size). Arguments after `--` go
to every train_imagenet.py run unchanged (e.g. -- --lr 0.02).
"""
import argparse
import os
import sys

from steps import run, write_subset

import models  # noqa: E402
from results import summary  # noqa: E402


def parse_args(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index('--') + 1:] if '--' in argv else []
    argv = argv[:argv.index('--')] if '--' in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='Arguments after -- go to train_imagenet.py.')
    parser.add_argument('train', help='training list')
    parser.add_argument('val', help='validation list')
    parser.add_argument('--arch', '-a', choices=sorted(models.ARCHS),
                        default='alex')
    parser.add_argument('--sizes', required=True,
                        help='input sizes, comma-separated (e.g. 39,67,99)')
    parser.add_argument('--root', '-R', default='.',
                        help='folder the list paths are relative to')
    parser.add_argument('--per-class', type=int, default=None, metavar='N',
                        help='train on the first N images of each class '
                             '(default: the whole list)')
    parser.add_argument('--epoch', '-E', type=int, default=2)
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--gpu', '-g', type=int, default=-1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', '-o', default=None,
                        help='output folder (default result/size-study-'
                             'ARCH)')
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(',') if s})
    except ValueError:
        parser.error('--sizes: integers separated by commas, got {!r}'
                     .format(args.sizes))
    if not args.sizes or min(args.sizes) < 1:
        parser.error('--sizes: at least one positive size')
    args.extra = extra
    # train_imagenet.py runs from the repository: absolute paths.
    args.out = os.path.abspath(args.out or os.path.join(
        'result', 'size-study-' + args.arch))
    args.train, args.val, args.root = (os.path.abspath(p) for p in (
        args.train, args.val, args.root))
    return args


def check_sizes(arch, sizes):
    """None, or the first size `arch` cannot take, with why (one line)."""
    for size in sizes:
        try:
            models.get_model(arch, 2, insize=size)
        except models.InputSizeError as e:
            return '--sizes {}: {}'.format(size, e)
    return None


def train_at(size, args, train_list):
    out = os.path.join(args.out, '{}-{}'.format(args.arch, size))
    run(['python', 'train_imagenet.py', train_list, args.val, '--root',
         args.root, '--arch', args.arch, '--insize', str(size), '--epoch',
         str(args.epoch), '--lr-drop-epoch', str(args.epoch + 1),
         '--batchsize', str(args.batchsize), '--gpu', str(args.gpu),
         '--seed', str(args.seed), '--out', out, '--overwrite'] +
        args.extra)  # a study run again replaces its runs
    data = summary.load(out)
    return {'insize': size, 'test_accuracy': data.get('test_accuracy'),
            'images_per_s': data.get('train_images_per_s'),
            'images_seen': data.get('images_seen'),
            'wall_time_s': data.get('wall_time_s'), 'device': data['device']}


def table(rows, args):
    lines = ['# Input size study: {}'.format(args.arch), '',
             '{} epoch(s) of {} on {}, batch {}, seed {}; one '
             'train_imagenet.py run per size{}.'.format(
                 args.epoch, 'the whole list' if args.per_class is None
                 else '{} images per class'.format(args.per_class),
                 rows[0]['device'] if rows else '?', args.batchsize,
                 args.seed, ' (also: {})'.format(' '.join(args.extra))
                 if args.extra else ''), '',
             '| input | val. accuracy | training images/s | images seen | '
             'wall time |', '|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append('| {0}x{0} | {1} | {2} | {3:,} | {4:.1f} min |'.format(
            r['insize'], '-' if r['test_accuracy'] is None else
            '{:.2%}'.format(r['test_accuracy']),
            '-' if r['images_per_s'] is None else
            '{:.1f}'.format(r['images_per_s']), r['images_seen'] or 0,
            (r['wall_time_s'] or 0) / 60))
    return '\n'.join(lines) + '\n'


def plot(path, rows, arch):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sizes = [r['insize'] for r in rows]
    figure, accuracy_axis = plt.subplots(figsize=(6, 4))
    accuracy_axis.plot(sizes, [100 * (r['test_accuracy'] or 0)
                               for r in rows], 'o-', color='tab:blue')
    accuracy_axis.set_xlabel('input size (pixels a side)')
    accuracy_axis.set_ylabel('validation accuracy (%)', color='tab:blue')
    speed_axis = accuracy_axis.twinx()
    speed_axis.plot(sizes, [r['images_per_s'] or 0 for r in rows], 's--',
                    color='tab:orange')
    speed_axis.set_ylabel('training images/s', color='tab:orange')
    accuracy_axis.set_title('{}: accuracy and speed against input size'
                            .format(arch))
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    problem = check_sizes(args.arch, args.sizes)
    if problem:
        print('error: ' + problem, file=sys.stderr)
        return 2
    os.makedirs(os.path.join(args.out), exist_ok=True)
    train_list = args.train
    if args.per_class is not None:
        train_list = os.path.join(args.out, 'train-subset.txt')
        write_subset(args.train, train_list, args.per_class)
    rows = [train_at(size, args, train_list) for size in args.sizes]
    with open(os.path.join(args.out, 'table.md'), 'w',
              encoding='utf-8') as f:
        f.write(table(rows, args))
    plot(os.path.join(args.out, 'size.png'), rows, args.arch)
    print('\n' + table(rows, args))
    print('wrote {0}/table.md and {0}/size.png'.format(args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
