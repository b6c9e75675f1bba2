"""Which device a run uses, and what goes with the choice: the GPU made
current before anything is seeded, cuDNN's state, and whether this
project's CPU kernels (kernels/) compute the run."""
import random
import re

import chainer
import numpy

import kernels
from trainer.errors import UsageError

# What Chainer says when CuPy is missing or fails to load, and the
# installation link it adds (not what to do on this project).
CUDA_NOT_SET_UP = 'CUDA environment is not correctly set up'
CUPY_LINK = re.compile(r'\s*\(see https?://\S+\)\.?')


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
    """The device the options name, made current (a GPU that cannot be
    used is a UsageError)."""
    spec = args.device if args.device is not None else args.gpu
    if spec is None:
        spec = '@numpy'
    try:
        device = chainer.get_device(spec)
    except Exception as e:  # Chainer raises several types for a bad spec
        reason = ' '.join(str(e).split())
        if CUDA_NOT_SET_UP in reason:  # no CuPy, or one that cannot start
            reason = CUPY_LINK.sub('; ', reason).strip('; ')
            raise UsageError(
                'device {!r}: Chainer cannot use CUDA here ({}): install the '
                'gpu extra (pip install -e ".[gpu]"), or run on the CPU with '
                '--gpu -1'.format(spec, reason))
        raise UsageError('device {!r}: {}'.format(spec, reason))
    if device.xp is not numpy:
        try:  # CuPy reports a missing driver or device only when used
            device.use()
        except Exception as e:
            raise UsageError('device {!r}: no usable GPU ({})'.format(
                spec, ' '.join(str(e).split())))
    return device


KERNEL_LINES = {
    'kernels/': "CPU kernels: this project's (kernels/); --reference-kernels "
                "for Chainer's own",
    'chainer': "CPU kernels: Chainer's own (--reference-kernels)",
    'none': 'CPU kernels: none (on a GPU CuPy computes everything)',
}


def choose_kernels(args, device):
    """The run's one decision on kernels/ (kernels.select); returns what
    the run records, and the entry point says KERNEL_LINES[it] once."""
    return kernels.select(device.xp is numpy, args.reference_kernels)


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


