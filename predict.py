#!/usr/bin/env python
"""Classify images with a trained run: the top-k classes and their softmax
probabilities, and, with --threshold, which predictions to leave to a
person (the blog's way of using a model that is only ~80% right).

    python predict.py --run result IMAGE... [--top-k 3] [--threshold 0.9]
    python predict.py --run result --list val.txt --root IMAGES --jsonl
    python predict.py --onnx model.onnx FOLDER/ --csv -o predictions.csv

IMAGE may be a folder (every image under it) and --list adds the images of
a list file (its labels, if any, are ignored). The model is loaded once and
the images go through it --batchsize at a time. --jsonl writes one object
per image ("path", "label": the top-1 class, "probability", "top_k"),
--csv one row; the default is text for reading.

--onnx runs a model written by export_onnx.py through onnxruntime instead
of Chainer, with the same preprocessing (the model carries its class
names, input size and preset): it needs only onnxruntime, NumPy and Pillow.

A multi-label run (train_imagenet.py --multi-label) gives every label
whose sigmoid probability is at least --threshold (default 0.5), highest
first; --top-k does not apply there.
"""
import kernels.openblas  # noqa: F401  (before NumPy loads)
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import csv
import json
import os
import sys

import numpy

from imagedata.reader import ImageReadError
from labeling.scan import is_image_name
from trainer.errors import UsageError, storage_error, storage_failures

MULTI_LABEL_THRESHOLD = 0.5  # a multi-label run's default --threshold


class InputError(Exception):
    """A list or folder of images that cannot be read."""


def parse_args(argv):
    argv = sys.argv[1:] if argv is None else list(argv)
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument('--onnx')
    onnx = probe.parse_known_args(argv)[0].onnx is not None
    parser = argparse.ArgumentParser(
        description='Top-k classes with probabilities for each image, '
                    'using a model trained by train_imagenet.py (or its '
                    'export_onnx.py export).')
    parser.add_argument('images', nargs='*', metavar='IMAGE',
                        help='image files or folders of images')
    parser.add_argument('--list', action='append', default=[],
                        metavar='FILE', help='a list file of images, one '
                        'path a line (repeatable)')
    parser.add_argument('--root', default='.', help='folder the --list '
                        'paths are relative to (default: the current one)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--run', metavar='RUN_DIR',
                        help='--out directory of train_imagenet.py')
    source.add_argument('--onnx', metavar='MODEL',
                        help='an ONNX model of export_onnx.py, run by '
                             'onnxruntime')
    parser.add_argument('--top-k', '-k', type=int, default=3,
                        help='classes to show per image (default '
                             '%(default)s)')
    parser.add_argument('--threshold', type=float, default=None,
                        help='mark a prediction whose top probability is '
                             'below this as unsure; a multi-label run '
                             'gives the labels whose probability reaches '
                             'it (default there 0.5)')
    parser.add_argument('--insize', type=int, default=None, metavar='N',
                        help="with --run: resize images to N x N (default: "
                             "the run's input size); networks that average "
                             'their last map (NIN, GoogLeNet, DenseNet) also '
                             'classify other sizes, AlexNet only its own')
    parser.add_argument('--batchsize', '-B', type=int, default=32,
                        help='images per forward pass (default '
                             '%(default)s)')
    output = parser.add_mutually_exclusive_group()
    output.add_argument('--jsonl', action='store_true',
                        help='one JSON object per image')
    output.add_argument('--csv', action='store_true',
                        help='one CSV row per image')
    parser.add_argument('--output', '-o', metavar='FILE', default=None,
                        help='write the predictions here (default: stdout)')
    if not onnx:  # the run's options need Chainer; --onnx runs without
        from results.run import WHICH_MODELS
        from trainer import device as devices
        parser.add_argument('--model', choices=WHICH_MODELS, default='best',
                            help='model_best.npz or the final model.npz '
                                 '(default %(default)s)')
        devices.add_device_options(parser)
    args = parser.parse_args(argv)
    if not args.images and not args.list:
        parser.error('give images, folders or --list')
    if args.top_k < 1:
        parser.error('--top-k must be at least 1')
    if args.batchsize < 1:
        parser.error('--batchsize must be at least 1')
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        parser.error('--threshold must be between 0 and 1')
    return args


def list_paths(path, root):
    """The image paths of a list file (a trailing label is dropped)."""
    from imagedata.listfile import parse_labels, parse_line, read_text_lines
    try:
        lines = read_text_lines(path)  # not UTF-8: a ListError, one line
    except OSError as e:
        raise InputError('{}: cannot read the list ({})'.format(path, e))
    paths = []
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        image, field = parsed
        try:
            parse_labels(field) if field is not None else None
        except ValueError:  # no label: the whole line is the path
            image = line.strip()
        paths.append(os.path.join(root, image))
    return paths


def image_paths(args):
    paths = []
    for item in args.images:
        if os.path.isdir(item):
            for folder, dirs, files in os.walk(item):
                dirs.sort()
                paths += [os.path.join(folder, name) for name in sorted(files)
                          if is_image_name(name)]
        else:
            paths.append(item)
    for path in args.list:
        paths += list_paths(path, args.root)
    return paths


def load_classifier(args):
    """(classifier, a line for stderr or None): OnnxClassifier or
    ChainerClassifier, both with crop() and probabilities()."""
    if args.onnx:
        from serving.onnx_runtime import OnnxClassifier
        return OnnxClassifier(args.onnx), None
    from serving.chainer_classifier import ChainerClassifier
    from results.run import Run
    from trainer import device as devices
    run = Run(args.run)
    device = devices.get_device(args)
    cpu_kernels = devices.choose_kernels(args, device)
    classifier = ChainerClassifier(run, run.load_model(args.model), device,
                                   args.insize)
    return classifier, devices.KERNEL_LINES[cpu_kernels]


def predictions(classifier, paths, batchsize, skipped):
    """(path, probabilities) in order; unreadable images are reported on
    stderr and appended to `skipped` instead."""
    batch = []
    for k, path in enumerate(paths):
        try:
            batch.append((path, classifier.crop(path)))
        except ImageReadError as e:
            print('skipped {}'.format(e), file=sys.stderr)
            skipped.append(path)
        if batch and (len(batch) == batchsize or k == len(paths) - 1):
            probs = classifier.probabilities(numpy.stack([c for _, c in
                                                          batch]))
            for (name, _), p in zip(batch, probs):
                yield name, p
            batch = []


def answer(path, probs, names, top_k, threshold, multi_label):
    """One image's prediction as a dict (what --jsonl writes)."""
    order = numpy.argsort(-probs, kind='stable')
    record = {'path': path, 'label': names[order[0]],
              'probability': round(float(probs[order[0]]), 6)}
    if multi_label:
        threshold = MULTI_LABEL_THRESHOLD if threshold is None else threshold
        record['labels'] = [names[k] for k in order if probs[k] >= threshold]
        record['threshold'] = threshold
    else:
        record['top_k'] = [{'label': names[k],
                            'probability': round(float(probs[k]), 6)}
                           for k in order[:top_k]]
        if threshold is not None:
            record['unsure'] = bool(probs[order[0]] < threshold)
            record['threshold'] = threshold
    return record


def write_text(out, record, probs, names):
    if 'labels' in record:
        if not record['labels']:
            out.write('{}  [no label reaches {:.3f}; highest: {} {:.3f}]\n'
                      .format(record['path'], record['threshold'],
                              record['label'], record['probability']))
            return
        out.write('{}  [{} label(s) at or above {:.3f}]\n'.format(
            record['path'], len(record['labels']), record['threshold']))
        width = max(len(name) for name in record['labels'])
        for name in record['labels']:
            out.write('  {:<{w}}  {:.3f}\n'.format(
                name, probs[names.index(name)], w=width))
        return
    unsure = ('  [unsure: top probability {:.3f} < {:.3f}]'.format(
        record['probability'], record['threshold'])
        if record.get('unsure') else '')
    out.write('{}{}\n'.format(record['path'], unsure))
    width = max(len(name) for name in names)
    for rank, top in enumerate(record['top_k'], 1):
        out.write('  {}. {:<{w}}  {:.3f}\n'.format(
            rank, top['label'], top['probability'], w=width))


def csv_row(record):
    row = [record['path'], record['label'], record['probability']]
    if 'labels' in record:
        return row + [';'.join(record['labels'])]
    for top in record['top_k'][1:]:
        row += [top['label'], top['probability']]
    return row + ([int(record['unsure'])] if 'unsure' in record else [])


def main(argv=None):
    args = parse_args(argv)
    try:
        paths = image_paths(args)
        classifier, kernel_line = load_classifier(args)
    except Exception as e:
        if not is_usage_error(e):
            raise
        print('error: {}'.format(e), file=sys.stderr)
        return 2
    if kernel_line:
        print(kernel_line, file=sys.stderr)
    try:
        with storage_failures(args.output or 'stdout',
                              'the predictions before it are kept'):
            failed = write_predictions(args, classifier, paths)
    except UsageError as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2
    return 1 if failed else 0


def write_predictions(args, classifier, paths):
    """Writes every prediction; returns the count of unreadable images."""
    names = list(classifier.class_names)
    top_k = min(args.top_k, len(names))
    try:
        out = (open(args.output, 'w', newline='', encoding='utf-8')
               if args.output else sys.stdout)
    except OSError as e:
        stop = storage_error(e, args.output)
        raise stop or UsageError('{}: cannot write the predictions ({})'
                                 .format(args.output, e.strerror or e))
    skipped = []
    try:
        writer = csv.writer(out) if args.csv else None
        if writer and not classifier.multi_label:
            writer.writerow(['path', 'label', 'probability'] + [
                '{}_{}'.format(field, rank) for rank in range(2, top_k + 1)
                for field in ('label', 'probability')] + (
                ['unsure'] if args.threshold is not None else []))
        elif writer:
            writer.writerow(['path', 'label', 'probability', 'labels'])
        for path, probs in predictions(classifier, paths, args.batchsize,
                                       skipped):
            record = answer(path, probs, names, top_k, args.threshold,
                            classifier.multi_label)
            if args.jsonl:
                out.write(json.dumps(record, ensure_ascii=False) + '\n')
            elif writer:
                writer.writerow(csv_row(record))
            else:
                write_text(out, record, probs, names)
    finally:
        if out is not sys.stdout:
            out.close()
    return len(skipped)


def is_usage_error(e):
    """The errors a user can fix from the message alone."""
    from imagedata.listfile import ListError
    from serving.onnx_runtime import OnnxError
    if isinstance(e, (InputError, ListError, OnnxError, OSError)):
        return True
    try:
        from results.summary import SummaryError
        from trainer.errors import UsageError
    except ImportError:  # --onnx without Chainer
        return False
    return isinstance(e, (SummaryError, UsageError))


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
