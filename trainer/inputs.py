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
from imagedata import listfile, presets, reader
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


def add_arguments(parser):
    """--n-class, and --max-pixels for the images."""
    parser.add_argument('--n-class', type=int, default=None, metavar='N',
                        help='number of classes when no labels.txt lies '
                             'beside the training list (default: the '
                             'largest label + 1)')
    reader.add_argument(parser)


def check_args(parser, args):
    if args.n_class is not None and args.n_class < 1:
        parser.error('--n-class must be at least 1')
    reader.check_max_pixels(parser, args)


def read_lists(train_path, val_path, multi_label=False, n_class=None):
    """(train pairs, val pairs, class names); the class count is that of
    labels.txt beside the training list, else n_class, else the largest
    label + 1 (refused when most classes would have no image: a mistyped
    label). multi_label: lists of "path l1,l2,..." lines, read into (path,
    labels tuple) pairs."""
    labels_path = listfile.labels_path_for(train_path)
    names = None
    try:
        if os.path.isfile(labels_path):
            names = listfile.read_labels(labels_path)
            if not names:
                raise UsageError('{}: no class names'.format(labels_path))
            if n_class is not None and n_class != len(names):
                raise UsageError('--n-class {}: {} names {} classes'.format(
                    n_class, labels_path, len(names)))
        if names:
            n_class = len(names)
        read = listfile.reader(multi_label)
        train = read(train_path, n_class)
        val = read(val_path, n_class)
    except listfile.ListError as e:
        raise UsageError(str(e))
    if names is None:
        n_class = n_class or class_count(train_path, train, val_path, val)
        names = [str(k) for k in range(n_class)]
    if multi_label:
        return train, val, check_multi_labels(train_path, val_path, train,
                                              val, names)
    check_val_classes(val_path, val, train, names)
    return train, val, names


def _labels_of(pair):
    labels = pair[1]
    return labels if isinstance(labels, tuple) else (labels,)


def class_count(train_path, train, val_path, val):
    """The largest label + 1, the class count of lists without labels.txt;
    a UsageError naming the line of that label when more of the classes up
    to it would have no image than have one (a label far beyond the
    others is most likely a typo, and would train a model of that many
    classes)."""
    used = {k for pair in train + val for k in _labels_of(pair)}
    if not used:
        return 1  # multi-label lists with no label at all: refused later
    top = max(used)
    empty = top + 1 - len(used)
    if empty <= len(used):
        return top + 1
    for path, pairs in ((train_path, train), (val_path, val)):
        at = [k for k, pair in enumerate(pairs) if top in _labels_of(pair)]
        if at:
            break
    raise UsageError(
        '{}:{}: label {} would make {} classes, {} of them without any '
        'image: with no labels.txt beside {} the class count is the largest '
        'label + 1; correct the label, or give the count with --n-class N '
        '(or put labels.txt beside the list)'.format(
            path, listfile.line_numbers(path)[at[0]], top, top + 1, empty,
            os.path.basename(train_path)))


def check_multi_labels(train_path, val_path, train, val, names):
    """The class names of multi-label lists, after the checks that fit
    several labels per image:
    no label at all is an error; a label of validation images that no
    training image has, or lists where every image has exactly one label,
    are warnings (such a label only lowers its own recall; one label each
    may be a single-label list, which trains without --multi-label)."""
    if not any(labels for _, labels in train + val):
        raise UsageError('{}: no image has any label'.format(train_path))
    trained = {k for _, labels in train for k in labels}
    unknown = [k for k, (_, labels) in enumerate(val)
               if not set(labels) <= trained]
    if unknown:
        absent = sorted({k for j in unknown for k in val[j][1]} - trained)
        print('warning: {}:{}: label {} ({}) has no training images; {} '
              'validation image(s) have labels absent from training: {}'
              .format(val_path, listfile.line_numbers(val_path)[unknown[0]],
                      absent[0], names[absent[0]], len(unknown),
                      ', '.join(map(str, absent))), file=sys.stderr)
    if all(len(labels) == 1 for _, labels in train + val):
        print('warning: {}: every image has exactly one label: if they are '
              'exclusive classes, train without --multi-label (softmax)'
              .format(train_path), file=sys.stderr)
    return names


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
                val_path, listfile.line_numbers(val_path)[unknown[0]], label,
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
        list_path, listfile.line_numbers(list_path)[missing[0]],
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
    return read_mean(spec, '--mean {}'.format(spec),
                     ' (make one with compute_mean.py, or pass --mean none)')


def read_mean(path, what, advice=''):
    """A mean image file as float32: a UsageError (`what`: the option and
    file it names, then `advice`) for a file that is not one .npy array
    or holds NaN or infinite values, which would train to a NaN loss."""
    try:
        mean = numpy.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UsageError('{}: {}{}'.format(what, ' '.join(str(e).split()),
                                           advice))
    if not isinstance(mean, numpy.ndarray):
        mean.close()
        raise UsageError('{}: an .npz archive, not a mean image (.npy){}'
                         .format(what, advice))
    if not numpy.issubdtype(mean.dtype, numpy.number):
        raise UsageError('{}: holds {} values, not numbers{}'.format(
            what, mean.dtype, advice))
    mean = mean.astype(numpy.float32)
    bad = int(mean.size - numpy.count_nonzero(numpy.isfinite(mean)))
    if bad:
        raise UsageError('{}: {} of its {} values are NaN or infinite{}'
                         .format(what, bad, mean.size, advice))
    return mean


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
