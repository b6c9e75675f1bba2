"""What train_imagenet.py, predict.py and the evaluation check before they
start: the lists, the images they name, the mean image, the model and its
options, weights to load. Each problem is one UsageError line naming the
file (and line)."""
import argparse
import ast
import inspect
import os
import sys

import chainer
import numpy

import models
from imagedata import listfile, presets
from trainer.errors import UsageError


def model_option(text):
    """KEY=VALUE for argparse; VALUE is a Python literal or a string."""
    key, sep, value = text.partition('=')
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            'expected KEY=VALUE, got {!r}'.format(text))
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def model_options(arch, pairs):
    """The --model-option pairs as constructor keywords of `arch`."""
    options = dict(pairs or ())
    if arch not in models.ARCHS:
        return options
    accepted = set(inspect.signature(models.ARCHS[arch]).parameters)
    accepted -= {'n_class', 'insize'}  # --insize has its own option
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise UsageError('--model-option {}: {} takes {}'.format(
            unknown[0], arch, ', '.join(sorted(accepted)) or 'no options'))
    return options


def build_model(arch, n_class, insize=None, options=None):
    """The network at ``insize`` (None: its own); a size it cannot take is
    a UsageError naming the nearest ones it can."""
    options = dict(options or {})
    if insize is not None:
        options['insize'] = insize
    try:
        return models.get_model(arch, n_class, **options)
    except models.InputSizeError as e:
        raise UsageError('--insize {}: {}'.format(insize, e))


def read_lists(train_path, val_path, multi_label=False):
    """(train pairs, val pairs, class names); the class count is that of
    labels.txt beside the training list, else the largest label + 1.
    multi_label: lists of "path l1,l2,..." lines, read into (path, labels
    tuple) pairs."""
    labels_path = listfile.labels_path_for(train_path)
    names = None
    if os.path.isfile(labels_path):
        names = listfile.read_labels(labels_path)
        if not names:
            raise UsageError('{}: no class names'.format(labels_path))
    n_class = len(names) if names else None
    read = listfile.reader(multi_label)
    try:
        train = read(train_path, n_class)
        val = read(val_path, n_class)
    except listfile.ListError as e:
        raise UsageError(str(e))
    if multi_label:
        return train, val, check_multi_labels(train_path, val_path, train,
                                              val, names)
    if names is None:
        top = max(label for _, label in train + val)
        names = [str(k) for k in range(top + 1)]
    check_val_classes(val_path, val, train, names)
    return train, val, names


def check_multi_labels(train_path, val_path, train, val, names):
    """The class names of multi-label lists (labels.txt's, else 0 to the
    largest label), after the checks that fit several labels per image:
    no label at all is an error; a label of validation images that no
    training image has, or lists where every image has exactly one label,
    are warnings (such a label only lowers its own recall; one label each
    may be a single-label list, which trains without --multi-label)."""
    used = sorted({k for _, labels in train + val for k in labels})
    if not used:
        raise UsageError('{}: no image has any label'.format(train_path))
    if names is None:
        names = [str(k) for k in range(used[-1] + 1)]
    trained = {k for _, labels in train for k in labels}
    unknown = [k for k, (_, labels) in enumerate(val)
               if not set(labels) <= trained]
    if unknown:
        absent = sorted({k for j in unknown for k in val[j][1]} - trained)
        print('warning: {}:{}: label {} ({}) has no training images; {} '
              'validation image(s) have labels absent from training: {}'
              .format(val_path, list_line_numbers(val_path)[unknown[0]],
                      absent[0], names[absent[0]], len(unknown),
                      ', '.join(map(str, absent))), file=sys.stderr)
    if all(len(labels) == 1 for _, labels in train + val):
        print('warning: {}: every image has exactly one label: if they are '
              'exclusive classes, train without --multi-label (softmax)'
              .format(train_path), file=sys.stderr)
    return names


def list_line_numbers(path):
    """The line number of each pair read_list returns (blank lines skip)."""
    with open(path, encoding='utf-8') as f:
        return [n for n, line in enumerate(f, 1)
                if listfile.parse_line(line) is not None]


def check_val_classes(val_path, val, train, names):
    """Validation images of a class with no training image would count as
    errors the network was never given a chance to avoid."""
    trained = {label for _, label in train}
    unknown = [k for k, (_, label) in enumerate(val) if label not in trained]
    if unknown:
        label = val[unknown[0]][1]
        classes = sorted({val[k][1] for k in unknown})
        raise UsageError(
            '{}:{}: label {} ({}) has no training images; {} validation '
            'image(s) are of classes absent from training: {}'.format(
                val_path, list_line_numbers(val_path)[unknown[0]], label,
                names[label], len(unknown), ', '.join(map(str, classes))))


def check_images(list_path, pairs, root):
    """The pairs whose image file exists under `root`. Missing ones are
    counted and reported now, naming the first list line, and left out;
    all missing is an error (most likely a wrong --root)."""
    missing = [k for k, (path, _) in enumerate(pairs)
               if not os.path.isfile(os.path.join(root, path))]
    if not missing:
        return pairs
    first = '{}:{}: {} not found'.format(
        list_path, list_line_numbers(list_path)[missing[0]],
        os.path.join(root, pairs[missing[0]][0]))
    if len(missing) == len(pairs):
        raise UsageError('{}, nor any of the {} listed images (list paths '
                         'are relative to --root, now {!r})'.format(
                             first, len(pairs), root))
    print('warning: {}; {} of {} listed images are missing and left out'
          .format(first, len(missing), len(pairs)), file=sys.stderr)
    gone = set(missing)
    return [pair for k, pair in enumerate(pairs) if k not in gone]


def load_mean(spec, preprocess):
    """The mean image for --mean (None for 'none'); the blog preset uses
    none, the example preset mean.npy unless told otherwise."""
    if spec is None:
        spec = 'mean.npy' if preprocess == 'example' else 'none'
    if spec.lower() == 'none':
        return None
    try:
        return numpy.load(spec).astype(numpy.float32)
    except (OSError, ValueError) as e:
        raise UsageError('--mean {}: {} (make one with compute_mean.py, or '
                         'pass --mean none)'.format(spec, e))


def check_mean(spec, mean, preprocess, insize):
    """A mean that the preset does not use or of another size than the
    model's input: one line naming the file."""
    try:
        presets.Preset(preprocess, insize).check_mean(mean)
    except ValueError as e:
        raise UsageError('--mean {}: {}'.format(spec or 'mean.npy', e))


def load_npz(path, target, flag):
    """serializers.load_npz with a one-line error for a missing file or one
    saved from another model or trainer."""
    try:
        chainer.serializers.load_npz(path, target)
    except (OSError, KeyError, ValueError) as e:
        raise UsageError('{} {}: cannot be loaded into this {} ({})'.format(
            flag, path, type(target).__name__, e))
