"""Plumbing of train_imagenet.py (and of the tools that load its runs),
kept out of the script so that it reads top to bottom as Chainer wiring."""
import argparse
import ast
import inspect
import os
import random
import sys
import time

import chainer
import numpy
from chainer import training

import kernels
import models
from imagedata import listfile, presets


class UsageError(ValueError):
    """Bad input found before training starts; str() is the one line."""


def add_device_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--device', '-d', default=None, metavar='SPEC',
                       help="Chainer device: '@numpy' (CPU), '@cupy:0', or "
                            'an integer (negative: CPU)')
    group.add_argument('--gpu', '-g', type=int, default=None, metavar='N',
                       help='GPU id (negative: CPU); the CPU when neither '
                            '--gpu nor --device is given')
    kernels.add_argument(parser)


def get_device(args):
    """The device the options name; on the CPU, this project's kernels
    unless --reference-kernels."""
    kernels.use_from_args(args)
    spec = args.device if args.device is not None else args.gpu
    if spec is None:
        spec = '@numpy'
    try:
        device = chainer.get_device(spec)
    except Exception as e:  # Chainer raises several types for a bad spec
        raise UsageError('device {!r}: {}'.format(spec, ' '.join(
            str(e).split())))
    if device.xp is not numpy:
        try:  # CuPy reports a missing driver or device only when used
            device.use()
        except Exception as e:
            raise UsageError('device {!r}: no usable GPU ({})'.format(
                spec, ' '.join(str(e).split())))
    return device


def cudnn_status(device):
    """One line on cuDNN for the start of a GPU run; None on the CPU."""
    if device.xp is numpy:
        return None
    from chainer.backends import cuda
    if not cuda.cudnn_enabled:
        if int(cuda.cupy.__version__.split('.')[0]) >= 14:
            return ('cuDNN: not in use (CuPy {} has no cuDNN, by design): '
                    'convolutions use im2col + cuBLAS'.format(
                        cuda.cupy.__version__))
        return ('cuDNN: not in use (this CuPy has no cuDNN, or CHAINER_CUDNN'
                '=0): convolutions run on CuPy kernels, slower')
    with chainer.using_device(device):
        in_use = chainer.should_use_cudnn('>=auto')
    return 'cuDNN {}: {}'.format(
        cuda.cuda.cudnn.getVersion(),
        'in use' if in_use else 'found, but off (chainer.config.use_cudnn)')


def start_device(device, seed):
    """Makes ``device`` current, then seeds: CuPy seeds the current GPU, so
    the other order would seed GPU 0 for --gpu 1 and every MPI rank."""
    device.use()
    seed_everything(seed, device)


def seed_everything(seed, device):
    """Seeds the weights' initialisers, shuffling and dropout."""
    if seed is None:
        return
    random.seed(seed)
    numpy.random.seed(seed)
    if device.xp is not numpy:
        device.xp.random.seed(seed)


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


def read_lists(train_path, val_path):
    """(train pairs, val pairs, class names); the class count is that of
    labels.txt beside the training list, else the largest label + 1."""
    labels_path = listfile.labels_path_for(train_path)
    names = None
    if os.path.isfile(labels_path):
        names = listfile.read_labels(labels_path)
        if not names:
            raise UsageError('{}: no class names'.format(labels_path))
    n_class = len(names) if names else None
    try:
        train = listfile.read_list(train_path, n_class)
        val = listfile.read_list(val_path, n_class)
    except listfile.ListError as e:
        raise UsageError(str(e))
    if names is None:
        top = max(label for _, label in train + val)
        names = [str(k) for k in range(top + 1)]
    check_val_classes(val_path, val, train, names)
    return train, val, names


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


class TimedUpdater(training.updaters.StandardUpdater):
    """StandardUpdater that also measures training throughput.

    Chainer reports only the total elapsed time, which includes validation
    and snapshots; the blog's speed comparison needs images per second of
    the updates alone (loading, forward, backward, optimizer step).
    processes: data-parallel replicas advancing in step with this one
    (their images count too).
    """

    def __init__(self, *args, processes=1, **kwargs):
        super(TimedUpdater, self).__init__(*args, **kwargs)
        self.processes = processes
        self.update_seconds = 0.0
        self.images_seen = 0

    def update_core(self):
        start = time.perf_counter()
        super(TimedUpdater, self).update_core()
        self.synchronize()
        self.update_seconds += time.perf_counter() - start
        self.images_seen += self.get_iterator('main').batch_size

    def synchronize(self):
        """Waits for the GPU: its kernels run after their launch returns,
        so the clock would otherwise stop before the work is done."""
        device = self.device
        if device is None or device.xp is numpy:
            return
        synchronize = getattr(getattr(device, 'device', None),
                              'synchronize', None)
        if synchronize is not None:  # GpuDevice: a cupy.cuda.Device
            synchronize()

    @property
    def images_per_second(self):
        if not self.update_seconds:
            return None
        return self.images_seen * self.processes / self.update_seconds

    def serialize(self, serializer):
        super(TimedUpdater, self).serialize(serializer)
        self.update_seconds = float(
            serializer('update_seconds', self.update_seconds))
        self.images_seen = int(serializer('images_seen', self.images_seen))


class BatchStatistics(training.Extension):
    """Re-estimates every BatchNormalization's mean and variance, before
    each validation, from `images` training images run through the model
    as it now is, with dropout off.

    The running averages kept while training follow the weights of the
    last few hundred iterations, seen through dropout; a network with
    dropout before each of many batch normalizations (the blog's DenseNet)
    then evaluates with statistics of another input than it gets at test
    time. Each batch counts equally (a cumulative average, as Chainer's
    BatchNormalization does with finetune=True).
    """

    priority = training.PRIORITY_WRITER + 1  # before the Evaluator

    def __init__(self, iterator, model, converter, device, images):
        self.iterator, self.model = iterator, model
        self.converter, self.device, self.images = converter, device, images

    def __call__(self, trainer=None):
        norms = [link for link in self.model.links()
                 if isinstance(link, chainer.links.BatchNormalization)]
        if not norms:
            return
        dropouts = [link for link in self.model.links()
                    if getattr(link, 'dropout_ratio', None)]
        saved = ([link.decay for link in norms],
                 [link.dropout_ratio for link in dropouts])
        for link in dropouts:
            link.dropout_ratio = 0.0
        seen, batches = 0, 0
        try:
            with chainer.using_config('train', True), \
                    chainer.no_backprop_mode():
                while seen < self.images:
                    batch = self.iterator.next()
                    x, _ = self.converter(batch, self.device)
                    batches += 1
                    for link in norms:
                        link.decay = 1.0 - 1.0 / batches
                    self.model.predict(x)
                    seen += len(batch)
        finally:
            for link, decay in zip(norms, saved[0]):
                link.decay = decay
            for link, ratio in zip(dropouts, saved[1]):
                link.dropout_ratio = ratio
