#!/usr/bin/env python
"""Train one of the blog's networks on lists of images.

    python train_imagenet.py train.txt val.txt --arch googlenet --gpu 0

The defaults are the blog's protocol, the same for every network:
MomentumSGD (momentum 0.9), lr 0.01 lowered to 0.001 after epoch 30, 50
epochs, batch 32, images resized to the network's input with no crop and no
mean ('blog' preprocessing). Chainer's ImageNet example preprocessing (mean
subtraction, random crop and flip) is --preprocess example --mean mean.npy.

The class count is that of labels.txt beside the training list (written by
`python -m labeling`), else --n-class, else the largest label + 1. One run
owns --out (trainer/rundir.py): a second one there stops at once, and a
directory holding an earlier run needs --resume auto or --overwrite.
Everything goes to --out:
log, loss.png, accuracy.png, lr.png, cg.dot, a trainer snapshot per epoch
(the last two kept, for --resume auto), model.npz (final), model_best.npz
(best validation accuracy) and summary.json (read by `python -m results`).
"""
import kernels.openblas  # noqa: F401  (before NumPy loads)
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import functools
import os
import sys

import chainer
from chainer import training
from chainer.training import extensions, triggers
import numpy as np

import models
from imagedata import erasing
from imagedata.dataset import ImageDataset, make_iterator
from results import summary
from trainer import device as devices
from trainer import (finetune, inputs, losses, multilabel, multinode, rundir,
                     safety, schedules)
from trainer.errors import TrainingStopped, UsageError, storage_failures
from trainer.extensions import BatchStatistics, TimedUpdater

TEST_ITERATIONS = 3  # --test: a smoke run of a few small batches
TEST_BATCH = 4
SNAPSHOTS_KEPT = 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Train AlexNet, NIN, GoogLeNet-BN or DenseNet on '
                    '"path label" lists with the blog\'s protocol.')
    parser.add_argument('train', help='training list ("path label" lines)')
    parser.add_argument('val', help='validation list')
    parser.add_argument('--arch', '-a', choices=sorted(models.ARCHS),
                        default='googlenet', help='network (default '
                        '%(default)s)')
    parser.add_argument('--insize', type=int, default=None, metavar='N',
                        help="input width and height (default: the "
                             "network's, the blog's 227/227/224/32); python "
                             '-m shapes --valid-sizes lists others')
    devices.add_device_options(parser)
    parser.add_argument('--communicator', choices=multinode.COMMUNICATORS,
                        default=None, help='train data-parallel over MPI '
                        '(mpiexec -n N ...) with this ChainerMN communicator: '
                        'naive on CPUs, pure_nccl on GPUs (it and '
                        'non_cuda_aware need NCCL, from the gpu extra; flat '
                        'does not); --batchsize is then per process')
    parser.add_argument('--root', '-R', default='.',
                        help='folder the list paths are relative to')
    parser.add_argument('--mean', '-m', default=None,
                        help="mean image (.npy) or 'none' (default: none for "
                             'blog preprocessing, mean.npy for example)')
    parser.add_argument('--preprocess', choices=('blog', 'example'),
                        default='blog', help="'blog': resize, no crop, no "
                        "mean; 'example': Chainer's ImageNet example")
    multilabel.add_arguments(parser)  # --multi-label
    inputs.add_arguments(parser)  # --n-class, --max-pixels
    parser.add_argument('--batchsize', '-B', type=int, default=32,
                        help='training minibatch size (default %(default)s)')
    parser.add_argument('--val_batchsize', '-b', type=int, default=250,
                        help='validation minibatch size (default '
                             '%(default)s)')
    parser.add_argument('--epoch', '-E', type=int, default=50,
                        help='epochs to train (default %(default)s)')
    parser.add_argument('--lr', type=float, default=0.01,
                        help='initial learning rate (default %(default)s)')
    parser.add_argument('--lr-drop-epoch', type=int, default=30,
                        help='multiply the lr by --lr-drop after this epoch '
                             '(default %(default)s)')
    parser.add_argument('--lr-drop', type=float, default=0.1,
                        help='lr factor at --lr-drop-epoch (default '
                             '%(default)s)')
    schedules.add_arguments(parser)  # --lr-schedule and its options
    losses.add_arguments(parser)  # --label-smoothing
    parser.add_argument('--weight-decay', type=float, default=0.0,
                        help='L2 weight decay (default 0, as the blog)')
    parser.add_argument('--bn-reestimate', type=int, default=0,
                        metavar='IMAGES',
                        help='before each validation, recompute the batch '
                             'normalization statistics from this many '
                             'training images with dropout off (default 0: '
                             "keep the running averages, as the blog)")
    parser.add_argument('--loaderjob', '-j', type=int, default=None,
                        help='image loading processes (0: in the main '
                             'process; default: one per core)')
    parser.add_argument('--cache', default=None, metavar='DIR',
                        help='decoded-image cache from compute_mean.py '
                             '--cache')
    parser.add_argument('--out', '-o', default='result',
                        help='output directory (default %(default)s)')
    parser.add_argument('--resume', '-r', default='',
                        help="trainer snapshot to resume from, or 'auto': "
                             'the newest valid one in --out')
    rundir.add_arguments(parser)  # --overwrite
    finetune.add_arguments(parser)  # --initmodel, --freeze-features
    erasing.add_arguments(parser)  # --random-erase, --random-erase-fill
    parser.add_argument('--seed', type=int, default=None,
                        help='random seed (weights, shuffling, dropout)')
    parser.add_argument('--model-option', type=inputs.model_option,
                        action='append', metavar='KEY=VALUE',
                        help='constructor argument of the model, e.g. '
                             'n_layer=12 for a shallower DenseNet '
                             '(repeatable; recorded in summary.json)')
    parser.add_argument('--test', action='store_true',
                        help='smoke run: {} iterations of {} images'
                        .format(TEST_ITERATIONS, TEST_BATCH))
    args = parser.parse_args(argv)
    for flag in ('--batchsize', '--val_batchsize', '--epoch',
                 '--lr-drop-epoch', '--insize'):
        value = getattr(args, flag[2:].replace('-', '_'))
        if value is not None and value < 1:
            parser.error('{} must be at least 1'.format(flag))
    if args.bn_reestimate < 0:
        parser.error('--bn-reestimate must not be negative')
    schedules.check_args(parser, args)
    losses.check_args(parser, args)
    inputs.check_args(parser, args)
    rundir.check_args(parser, args)
    if args.loaderjob is None:
        args.loaderjob = os.cpu_count() or 1
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        # A full or read-only disk, wherever met: one line, what was kept.
        with storage_failures(args.out, rundir.what_was_kept(args.out)):
            workers = multinode.Workers(args.communicator,
                                        devices.get_device(args),
                                        args.loaderjob)
            with rundir.owned(args.out, args.resume, args.overwrite,
                              workers):
                return train(args, workers)
    except UsageError as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2
    except TrainingStopped as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1


def read_checked_lists(args):
    train_pairs, val_pairs, class_names = inputs.read_lists(
        args.train, args.val, multi_label=args.multi_label,
        n_class=args.n_class)
    train_pairs = inputs.check_images(args.train, train_pairs, args.root)
    val_pairs = inputs.check_images(args.val, val_pairs, args.root)
    return train_pairs, val_pairs, class_names


def train(args, workers):
    device = workers.device
    cpu_kernels = devices.choose_kernels(args, device)
    if workers.is_root:
        print(devices.KERNEL_LINES[cpu_kernels])
    cudnn = devices.cudnn_status(device)
    if cudnn and workers.is_root:
        print(cudnn)
    # Over MPI, rank 0 reads the lists and each rank trains on its shard.
    train_pairs, val_pairs, class_names = workers.read_on_root(
        functools.partial(read_checked_lists, args))
    options = inputs.model_options(args.arch, args.model_option)
    mean = inputs.load_mean(args.mean, args.preprocess)
    if args.test:
        args.batchsize = args.val_batchsize = min(args.batchsize, TEST_BATCH)
        train_pairs = train_pairs[:TEST_ITERATIONS * args.batchsize]
        val_pairs = val_pairs[:args.val_batchsize]
    n_train, n_val = len(train_pairs), len(val_pairs)
    train_pairs = workers.scatter(train_pairs, shuffle=True, seed=args.seed)
    val_pairs = workers.scatter(val_pairs, shuffle=False, seed=args.seed)
    devices.start_device(device, args.seed)

    # Model
    model = inputs.build_model(args.arch, len(class_names), args.insize,
                               options)
    inputs.check_mean(args.mean, mean, args.preprocess, model.insize)
    losses.set_loss(model, args.label_smoothing)  # every head's loss
    initmodel = finetune.start_from(args.initmodel, model,
                                    args.freeze_features,
                                    finetune.sayer(workers.is_root))
    model.to_device(device)
    if args.multi_label:  # sigmoid outputs; images labelled by position
        train_pairs, val_pairs, targets = multilabel.prepare(
            model, train_pairs, val_pairs)

    # Data: uint8 crops travel from the loader processes; the converter
    # scales them (and subtracts the mean) on the device.
    try:
        train = ImageDataset(train_pairs, args.root, model.insize,
                             args.preprocess, mean, train=True,
                             cache=args.cache, dtype=np.uint8, seed=args.seed,
                             augment=erasing.from_args(args, mean),
                             max_pixels=args.max_pixels)
        val = ImageDataset(val_pairs, args.root, model.insize,
                           args.preprocess, mean, train=False,
                           cache=args.cache, dtype=np.uint8, seed=args.seed,
                           max_pixels=args.max_pixels)
    except ValueError as e:  # a mean or cache that does not fit the model
        raise UsageError(str(e))
    if args.multi_label:  # (image, multi-hot vector of n_class) examples
        train, val = multilabel.wrap(train, val, targets)
    train_iter = make_iterator(train, args.batchsize, args.loaderjob)
    val_iter = make_iterator(val, args.val_batchsize, args.loaderjob,
                             repeat=False, shuffle=False)

    # Optimizer: the blog's MomentumSGD
    optimizer = workers.optimizer(
        chainer.optimizers.MomentumSGD(lr=args.lr, momentum=0.9))
    optimizer.setup(model)
    if args.freeze_features:
        finetune.freeze_features(model, finetune.sayer(workers.is_root))
    if args.weight_decay:
        optimizer.add_hook(
            chainer.optimizer_hooks.WeightDecay(args.weight_decay))

    # Trainer
    updater = TimedUpdater(train_iter, optimizer,
                                  converter=train.converter, device=device,
                                  processes=workers.size)
    stop = (TEST_ITERATIONS, 'iteration') if args.test else (args.epoch,
                                                             'epoch')
    trainer = training.Trainer(updater, stop, args.out)
    os.makedirs(args.out, exist_ok=True)
    if mean is not None and workers.is_root:
        np.save(os.path.join(args.out, summary.MEAN_FILE), mean)

    interval = (1, 'iteration') if args.test else (1, 'epoch')
    save_npz = safety.save_npz_durably  # uncompressed, fsync'ed
    trainer.extend(safety.StopOnNonFiniteLoss())
    trainer.extend(safety.RandomStateInSnapshot())
    workers.average_statistics(trainer, model, trigger=interval)
    if args.bn_reestimate:
        trainer.extend(BatchStatistics(
            make_iterator(train, args.val_batchsize, args.loaderjob), model,
            train.converter, device, min(args.bn_reestimate, len(train))),
            trigger=interval)
    trainer.extend(workers.evaluator(extensions.Evaluator(
        val_iter, model, converter=train.converter, device=device)),
        trigger=interval)
    # --lr-schedule: the blog's one drop by default (every process)
    schedules.extend(trainer, args, interval)
    # What writes or prints runs on rank 0 only.
    on_root = workers.root_only(trainer.extend)
    on_root(extensions.DumpGraph('main/loss'))
    on_root(extensions.snapshot_object(
        model, summary.BEST_MODEL_FILE, savefun=save_npz),
        trigger=triggers.MaxValueTrigger('validation/main/accuracy',
                                         trigger=interval))
    on_root(extensions.LogReport(trigger=interval))
    on_root(extensions.observe_lr(), trigger=interval)
    on_root(extensions.PlotReport(
        ['main/loss', 'validation/main/loss'], 'epoch',
        trigger=interval, file_name='loss.png'))
    on_root(extensions.PlotReport(
        ['main/accuracy', 'validation/main/accuracy'], 'epoch',
        trigger=interval, file_name='accuracy.png'))
    on_root(extensions.PlotReport(['lr'], 'epoch', trigger=interval,
                                  file_name='lr.png'))
    on_root(extensions.PrintReport([
        'epoch', 'iteration', 'main/loss', 'validation/main/loss',
        'main/accuracy', 'validation/main/accuracy', 'lr', 'elapsed_time',
    ]), trigger=interval)
    on_root(extensions.ProgressBar(
        update_interval=1 if device.xp is np else 20))
    report = summary.SummaryReport({
        'arch': args.arch,
        'model_class': model.__class__.__name__,
        'model_options': options,
        'layers': model.n_layers,
        'input': summary.input_shape(model.insize),
        'insize': model.insize,
        'n_class': len(class_names),
        'class_names': class_names,
        'epochs_planned': args.epoch,
        'batchsize': args.batchsize,
        'optimizer': 'MomentumSGD(momentum=0.9)',
        'lr': args.lr,
        'lr_drop_epoch': args.lr_drop_epoch,
        'lr_drop': args.lr_drop,
        **schedules.summary_fields(args),  # lr_schedule and its parameters
        'label_smoothing': args.label_smoothing,
        'weight_decay': args.weight_decay,
        'bn_reestimate': args.bn_reestimate,
        'preprocess': args.preprocess,
        'mean': summary.MEAN_FILE if mean is not None else None,
        'seed': args.seed,
        'initmodel': initmodel,
        'freeze_features': args.freeze_features,
        'random_erase': args.random_erase,
        'random_erase_fill': args.random_erase_fill,
        'cpu_kernels': cpu_kernels,
        'train': os.path.abspath(args.train),
        'val': os.path.abspath(args.val),
        'root': os.path.abspath(args.root),
        'n_train': n_train,
        'n_val': n_val,
        'processes': workers.size,
        'communicator': args.communicator,
        'multi_label': args.multi_label,
        'test_run': args.test,
        'device': summary.describe_device(device),
        'versions': summary.versions(),
    })
    on_root(report, trigger=interval)
    # Last of all, so that it holds every other extension's state (the best
    # value trigger included) as it is after this epoch.
    on_root(extensions.snapshot(
        savefun=save_npz, filename=safety.SNAPSHOT_FILE,
        n_retains=SNAPSHOTS_KEPT), trigger=interval, priority=-200)

    safety.resume(trainer, args.resume, args.out)
    safety.run(trainer, args.batchsize)
    if not workers.is_root:
        return 0

    safety.save_npz_atomically(os.path.join(args.out, summary.MODEL_FILE),
                               model)
    report(trainer, finished=True)
    if train.broken_count or val.broken_count:
        print('{} unreadable image(s) were replaced by others while '
              'training'.format(train.broken_count + val.broken_count))
    print('wrote {}'.format(os.path.join(args.out, summary.SUMMARY_FILE)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
