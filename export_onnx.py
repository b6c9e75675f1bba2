#!/usr/bin/env python
"""Export a trained run's network to ONNX, and check it with onnxruntime.

    python export_onnx.py RUN_DIR -o model.onnx [--model best|final]
        [--check IMAGE...]

The model takes the run's crops as they are (float32 RGB 0-255, N x 3 x
insize x insize) and applies the mean and the scale itself; it returns
"scores" and "probabilities", and carries the class names, input size and
preset as metadata (serving/onnx_export.py). predict.py --onnx uses it
without Chainer.

When onnxruntime is installed the export is checked: onnxruntime's
probabilities against Chainer's on random crops and on the --check
images, at most --tolerance apart (max abs difference), else exit 1.
Needs the onnx extra: pip install -e ".[onnx]".
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import os
import sys

import chainer
import numpy

from imagedata.reader import ImageReadError
from results import summary
from results.run import WHICH_MODELS, Run
from serving.chainer_classifier import ChainerClassifier
from trainer.errors import UsageError, storage_failures

TOLERANCE = 1e-4  # max abs difference of the probabilities
RANDOM_CROPS = 4


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Export a run of train_imagenet.py to ONNX and check '
                    'it with onnxruntime.')
    parser.add_argument('run', metavar='RUN_DIR',
                        help='--out directory of train_imagenet.py')
    parser.add_argument('--output', '-o', metavar='FILE', default=None,
                        help='the .onnx file (default RUN_DIR/model.onnx)')
    parser.add_argument('--model', choices=WHICH_MODELS, default='best',
                        help='model_best.npz or the final model.npz '
                             '(default %(default)s)')
    parser.add_argument('--check', nargs='*', default=[], metavar='IMAGE',
                        help='images to compare onnxruntime and Chainer '
                             'on, besides random crops')
    parser.add_argument('--tolerance', type=float, default=TOLERANCE,
                        help='largest accepted difference of a probability '
                             '(default %(default)s)')
    parser.add_argument('--no-check', action='store_true',
                        help='do not run onnxruntime on the export')
    return parser.parse_args(argv)


def largest_difference(reference, classifier, crops):
    """Max abs difference of two classifiers' probabilities on `crops`."""
    return float(numpy.abs(classifier.probabilities(crops) -
                           reference.probabilities(crops)).max())


def random_crops(insize, count, seed=0):
    rng = numpy.random.RandomState(seed)
    return rng.randint(0, 256, (count, 3, insize, insize)).astype(
        numpy.uint8)


def check(run, model, path, images, tolerance):
    """Prints the comparison; returns whether it held."""
    from serving.onnx_runtime import OnnxClassifier
    classifier = OnnxClassifier(path)
    reference = ChainerClassifier(run, model, chainer.get_device('@numpy'))
    sets = [('{} random crops'.format(RANDOM_CROPS),
             random_crops(run.insize, RANDOM_CROPS))]
    crops = []
    for image in images:
        try:
            crops.append(classifier.crop(image))
        except ImageReadError as e:
            print('skipped {}'.format(e), file=sys.stderr)
    if crops:
        sets.append(('{} image(s)'.format(len(crops)), numpy.stack(crops)))
    held = True
    for name, batch in sets:
        difference = largest_difference(reference, classifier, batch)
        ok = difference <= tolerance
        held = held and ok
        print('onnxruntime vs Chainer on {}: max abs difference of the '
              'probabilities {:.2e} ({} {:g})'.format(
                  name, difference, 'within' if ok else 'OVER', tolerance))
    return held


def main(argv=None):
    args = parse_args(argv)
    output = args.output or os.path.join(args.run, 'model.onnx')
    try:
        from serving import onnx_export
    except ImportError as e:
        print('error: export needs the onnx package ({}): pip install -e '
              '".[onnx]"'.format(e), file=sys.stderr)
        return 2
    try:
        run = Run(args.run)
        model = run.load_model(args.model)
        proto = onnx_export.export(
            model, mean=run.mean(), class_names=run.class_names,
            arch=run.arch, preprocess=run.preprocess,
            multi_label=run.multi_label)
        with storage_failures(output, 'the run is unchanged'), \
                open(output, 'wb') as f:
            f.write(proto.SerializeToString())
    except (summary.SummaryError, UsageError, OSError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2
    except onnx_export.UnsupportedFunction as e:
        print('error: {}: cannot export function {}'.format(args.run, e),
              file=sys.stderr)
        return 2
    print('wrote {} ({}, {}x{}, {} classes, {:.1f} MB)'.format(
        output, run.arch, run.insize, run.insize, run.n_class,
        os.path.getsize(output) / 1e6))
    if args.no_check:
        return 0
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('not checked: onnxruntime is not installed', file=sys.stderr)
        return 0
    return 0 if check(run, model, output, args.check, args.tolerance) else 1


if __name__ == '__main__':
    sys.exit(main())
