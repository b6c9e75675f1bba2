#!/usr/bin/env python
"""The blog's recipe against label smoothing + random erasing + cosine
annealing: one network, the same Fashion-MNIST subset, the same budget.

    python tools/compare_recipes.py                 # NIN 39x39 on the CPU
    python tools/compare_recipes.py --arch alex --per-class 500 --epoch 3

Exports Fashion-MNIST if needed (python -m labeling.fashion_mnist), takes
--per-class training images of each class and a stratified 200 per class
of the official test images for validation, trains each recipe with
train_imagenet.py (each command printed first; an interrupted comparison
resumes), and keeps the summaries, logs, curves and the table (python -m
results, which names each run's recipe) in --results.
"""
import argparse
import os
import sys

from budgets import BUDGETS
from steps import (REPO, SUBSET_SEED, export_fashion_mnist, finished,
                   keep_files, run, write_subset)

RECIPES = (
    ('blog', []),
    ('smoothing-erasing-cosine', ['--label-smoothing', '0.1',
                                  '--random-erase', '0.5',
                                  '--lr-schedule', 'cosine']),
)
KEPT = ('summary.json', 'log', 'loss.png', 'accuracy.png', 'lr.png')
# Validated as the cpu reproduction is: a stratified share of the test list.
VAL_PER_CLASS = BUDGETS['cpu'].val_per_class


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', default='nin')
    parser.add_argument('--insize', type=int, default=39)
    parser.add_argument('--per-class', type=int, default=1000, metavar='N',
                        help='training images per class (default '
                             '%(default)s)')
    parser.add_argument('--epoch', '-E', type=int, default=4)
    parser.add_argument('--lr', type=float, default=0.004,
                        help='initial lr of both recipes (default '
                             '%(default)s: the rate NIN trains at here)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--gpu', '-g', type=int, default=-1)
    parser.add_argument('--loaderjob', '-j', type=int,
                        default=os.cpu_count() or 1)
    parser.add_argument('--data', default='data/fashion-mnist',
                        help='where Fashion-MNIST is (exported if absent)')
    parser.add_argument('--runs', default='result/fashion-mnist/recipes')
    parser.add_argument('--results', default='results/fashion-mnist/recipes')
    return parser.parse_args(argv)


def make_lists(args):
    export_fashion_mnist(args.data)
    lists = os.path.join(REPO, args.runs, 'lists')
    train = os.path.join(lists, 'train-{}.txt'.format(args.per_class))
    val = os.path.join(lists, 'val.txt')
    write_subset(os.path.join(REPO, args.data, 'train.txt'), train,
                 args.per_class, SUBSET_SEED)
    write_subset(os.path.join(REPO, args.data, 'test.txt'), val,
                 VAL_PER_CLASS, SUBSET_SEED)
    return train, val


def main(argv=None):
    args = parse_args(argv)
    train, val = make_lists(args)
    runs = []
    for name, flags in RECIPES:
        out = os.path.join(args.runs, '{}-{}'.format(args.arch, name))
        runs.append(out)
        if finished(os.path.join(REPO, out)):
            continue
        run(['python', 'train_imagenet.py', train, val, '--root', args.data,
             '--arch', args.arch, '--insize', str(args.insize), '--epoch',
             str(args.epoch), '--lr', str(args.lr), '--lr-drop-epoch',
             str(max(1, args.epoch - 1)), '--batchsize', str(args.batchsize),
             '--gpu', str(args.gpu), '--loaderjob', str(args.loaderjob),
             '--seed', '0', '--out', out, '--resume', 'auto'] + flags)
    results = os.path.join(REPO, args.results)
    os.makedirs(results, exist_ok=True)
    for out in runs:
        keep_files(os.path.join(REPO, out), results, KEPT, missing_ok=True)
    run(['python', '-m', 'results'] + runs +
        ['--markdown', os.path.join(args.results, 'table.md')])
    return 0


if __name__ == '__main__':
    sys.exit(main())
