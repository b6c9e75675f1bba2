#!/usr/bin/env python
"""Classify images with a trained run: the top-k classes and their softmax
probabilities, and, with --threshold, which predictions to leave to a
person (the blog's way of using a model that is only ~80% right).

    python predict.py --run result IMAGE... [--top-k 3] [--threshold 0.9]

A multi-label run (train_imagenet.py --multi-label) prints every label
whose sigmoid probability is at least --threshold (default 0.5), highest
first, or says that none is; --top-k does not apply there.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import sys

import chainer
import chainer.functions as F
import numpy

from imagedata import presets
from imagedata.reader import ImageReadError
from models import sizing
from results import summary
from results.run import WHICH_MODELS, Run
from trainer import device as devices
from trainer.errors import UsageError

MULTI_LABEL_THRESHOLD = 0.5  # a multi-label run's default --threshold


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Top-k classes with probabilities for each image, '
                    'using a model trained by train_imagenet.py.')
    parser.add_argument('images', nargs='+', metavar='IMAGE')
    parser.add_argument('--run', required=True, metavar='RUN_DIR',
                        help='--out directory of train_imagenet.py')
    parser.add_argument('--model', choices=WHICH_MODELS, default='best',
                        help='model_best.npz or the final model.npz '
                             '(default %(default)s)')
    parser.add_argument('--top-k', '-k', type=int, default=3,
                        help='classes to show per image (default '
                             '%(default)s)')
    parser.add_argument('--threshold', type=float, default=None,
                        help='mark a prediction whose top probability is '
                             'below this as unsure; a multi-label run '
                             'prints the labels whose probability reaches '
                             'it (default there 0.5)')
    parser.add_argument('--insize', type=int, default=None, metavar='N',
                        help="resize images to N x N (default: the run's "
                             'input size); networks that average their last '
                             'map (NIN, GoogLeNet, DenseNet) also classify '
                             'other sizes, AlexNet only its own')
    devices.add_device_options(parser)
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error('--top-k must be at least 1')
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        parser.error('--threshold must be between 0 and 1')
    return args


def load_example(path, preset, mean):
    """One image as the run's validation examples were made: float32
    (3, insize, insize)."""
    crop = preset.crop_file(path, train=False, rng=None)
    return presets.normalise(crop, mean)


def check_insize(insize, run, model, mean):
    """The input size to classify at: the run's unless --insize says
    otherwise and the network can take it."""
    if insize is None or insize == run.insize:
        return run.insize
    if mean is not None:
        raise UsageError(
            '--insize {}: this run subtracts a {}x{} mean image, so it '
            'classifies only at that size'.format(insize, *mean.shape[1:]))
    if insize < 1 or not sizing.accepts(model.predict, insize):
        raise UsageError(
            '--insize {}: this {} run was built for {}x{} images and cannot '
            'classify {}x{} ones'.format(insize, run.arch, run.insize,
                                         run.insize, insize, insize))
    return insize


def print_labels(path, probs, names, threshold=None):
    """A multi-label answer: the labels at or above the threshold, highest
    first, or a line saying none is (with the closest one)."""
    threshold = MULTI_LABEL_THRESHOLD if threshold is None else threshold
    order = numpy.argsort(-probs, kind='stable')
    given = [k for k in order if probs[k] >= threshold]
    if not given:
        print('{}  [no label reaches {:.3f}; highest: {} {:.3f}]'.format(
            path, threshold, names[order[0]], probs[order[0]]))
        return
    print('{}  [{} label(s) at or above {:.3f}]'.format(path, len(given),
                                                        threshold))
    width = max(len(names[k]) for k in given)
    for k in given:
        print('  {:<{w}}  {:.3f}'.format(names[k], probs[k], w=width))


def main(argv=None):
    args = parse_args(argv)
    try:
        run = Run(args.run)
        device = devices.get_device(args)
        cpu_kernels = devices.choose_kernels(args, device)
        model = run.load_model(args.model)
        mean = run.mean()
        insize = check_insize(args.insize, run, model, mean)
    except (summary.SummaryError, UsageError, OSError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2
    print(devices.KERNEL_LINES[cpu_kernels], file=sys.stderr)
    model.to_device(device)
    device.use()
    preset = presets.Preset(run.preprocess, insize)
    top_k = min(args.top_k, run.n_class)
    width = max(len(name) for name in run.class_names)

    failed = 0
    for path in args.images:
        try:
            x = load_example(path, preset, mean)
        except ImageReadError as e:
            print('skipped {}'.format(e), file=sys.stderr)
            failed += 1
            continue
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            y = (F.sigmoid if run.multi_label else F.softmax)(
                model.predict(device.send(x[None])))
        probs = chainer.backend.CpuDevice().send(y.array)[0]
        if run.multi_label:
            print_labels(path, probs, run.class_names, args.threshold)
            continue
        order = numpy.argsort(-probs)[:top_k]
        unsure = args.threshold is not None and probs[order[0]] < \
            args.threshold
        print('{}{}'.format(path, '  [unsure: top probability {:.3f} < '
                                  '{:.3f}]'.format(probs[order[0]],
                                                   args.threshold)
                            if unsure else ''))
        for rank, k in enumerate(order, 1):
            print('  {}. {:<{w}}  {:.3f}'.format(
                rank, run.class_names[k], probs[k], w=width))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
