"""What keeps a long train_imagenet.py run from being lost: durable
snapshots, --resume auto, the random state inside every snapshot, and a
one-line stop for a diverging loss or an exhausted GPU."""
import os
import re
import sys

import chainer
import numpy
from chainer import training

from trainer.errors import TrainingStopped, UsageError
from trainer.inputs import load_npz

# A trainer snapshot per epoch: the name, Chainer's filename template for
# it, and the pattern that finds them.
SNAPSHOT_PREFIX = 'snapshot_epoch_'
SNAPSHOT_FILE = SNAPSHOT_PREFIX + '{.updater.epoch}'
SNAPSHOT_NAME = re.compile(SNAPSHOT_PREFIX + r'(\d+)$')
# Folders Chainer's snapshot writers save into before the rename; a kill
# during a save leaves one behind.
WRITER_LEFTOVER = re.compile(r'tmp({}\d+|model\w*\.npz)'.format(
    SNAPSHOT_PREFIX))


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_npz_durably(path, target):
    """savefun for Chainer's snapshot extensions. Their writer saves into a
    temporary folder in --out and renames, so a kill never leaves a half
    file under the real name; the fsync before that rename makes the same
    hold for a power cut. Uncompressed: deflating AlexNet's 233 MB of
    weights takes 7.5 s, and random-looking floats hardly compress."""
    chainer.serializers.save_npz(path, target, compression=False)
    _fsync(path)


def save_npz_atomically(path, target):
    """save_npz to a temporary name beside `path`, then rename over it."""
    temporary = '{}.tmp{}'.format(path, os.getpid())
    try:
        save_npz_durably(temporary, target)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def npz_problem(path):
    """None if every array of the .npz reads back, else why not (a missing,
    truncated or corrupted file: reading a member checks its CRC)."""
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, 'files'):
                return 'a single array, not an .npz archive'
            for key in archive.files:
                archive[key]
    except Exception as e:  # numpy and zipfile raise many types
        return ' '.join(str(e).split()) or type(e).__name__
    return None


def snapshots_newest_first(out):
    found = []
    for name in os.listdir(out) if os.path.isdir(out) else ():
        match = SNAPSHOT_NAME.match(name)
        if match and os.path.isfile(os.path.join(out, name)):
            found.append((int(match.group(1)), os.path.join(out, name)))
    return [path for _, path in sorted(found, reverse=True)]


def remove_snapshots(out):
    """Deletes the trainer snapshots in `out` (only --resume reads them)."""
    for path in snapshots_newest_first(out):
        os.remove(path)


def newest_valid_snapshot(out):
    """The newest snapshot in `out` that reads back whole; damaged ones are
    reported (stderr) and skipped."""
    for path in snapshots_newest_first(out):
        problem = npz_problem(path)
        if problem is None:
            return path
        _say('skipping damaged snapshot {} ({})'.format(path, problem))
    return None


def resume(trainer, spec, out):
    """--resume: a trainer snapshot, or 'auto' for the newest valid one in
    `out` (none there: start from the beginning)."""
    if not spec:
        return None
    if spec == 'auto':  # (trainer.rundir.claim removed interrupted saves)
        path = newest_valid_snapshot(out)
        if path is None:
            _say('--resume auto: no snapshot in {}; starting from the '
                 'beginning'.format(out))
            return None
    else:
        path = spec
        problem = npz_problem(path)
        if problem is not None:
            raise UsageError('--resume {}: not a readable trainer snapshot '
                             '({})'.format(path, problem))
    with numpy.load(path, allow_pickle=False) as archive:
        is_trainer = any(key.startswith('updater/') for key in archive.files)
    if not is_trainer:
        raise UsageError(
            '--resume {0}: holds a model\'s weights, not a trainer snapshot '
            '({1}N in --out); start from the weights with '
            '--initmodel {0}, or resume with --resume auto'.format(
                path, SNAPSHOT_PREFIX))
    load_npz(path, trainer, '--resume')
    _say('resumed from {} (iteration {})'.format(
        path, trainer.updater.iteration))
    return path


class RandomStateInSnapshot(training.Extension):
    """Puts NumPy's global random state into trainer snapshots.

    The shuffling of every epoch after the snapshot's (Chainer's order
    sampler) and dropout on the CPU draw from it; without it a resumed run
    would draw differently from an uninterrupted one.
    """

    trigger = (1, 'epoch')
    name = 'numpy_random_state'

    def __call__(self, trainer):
        pass  # the state travels through serialize() alone

    def serialize(self, serializer):
        kind, keys, position, has_gauss, gauss = numpy.random.get_state()
        keys = serializer('keys', keys.copy())
        position = serializer('position', int(position))
        has_gauss = serializer('has_gauss', int(has_gauss))
        gauss = serializer('cached_gaussian', float(gauss))
        if isinstance(serializer, chainer.serializer.Deserializer):
            numpy.random.set_state((kind, numpy.asarray(keys), position,
                                    has_gauss, gauss))


def all_finite(arrays):
    """One boolean per array module (normally the device's only), each an
    AND of ``isfinite(a).all()`` computed where the arrays are: nothing
    leaves the device here. None entries (no loss reported) are skipped."""
    flags = {}
    for a in arrays:
        if a is None:
            continue
        xp = chainer.backend.get_array_module(a)
        finite = xp.isfinite(a).all()
        key = id(xp)
        flags[key] = finite if key not in flags else flags[key] & finite
    return list(flags.values())


def to_host_bool(flag):
    """The one device-to-host transfer (a synchronisation on a GPU)."""
    return bool(chainer.backend.CpuDevice().send(flag))


class StopOnNonFiniteLoss(training.Extension):
    """Stops at the first iteration whose reported loss or any parameter
    is NaN or infinite, with a one-line message naming the iteration. It
    runs before every other extension, so no snapshot or best model is
    written from a diverged state.

    Chainer's FailOnNonNumber asks the host about each parameter in turn:
    on a GPU one synchronisation per parameter per iteration (~494 for
    DenseNet). Here the loss and every parameter make one device-side
    boolean, read once; which of them failed is worked out only then."""

    priority = training.PRIORITY_WRITER + 100

    def __call__(self, trainer):
        loss = trainer.observation.get('main/loss')
        loss = getattr(loss, 'array', loss)
        params = [param.array for optimizer in
                  trainer.updater.get_all_optimizers().values()
                  for param in optimizer.target.params()]
        if all(to_host_bool(flag) for flag in all_finite([loss] + params)):
            return
        # The failure path: extra transfers no longer matter.
        if loss is not None and not all(
                to_host_bool(flag) for flag in all_finite([loss])):
            value = float(chainer.backend.CpuDevice().send(loss))
            raise TrainingStopped(self._message(
                trainer, 'the training loss is {}'.format(value)))
        raise TrainingStopped(self._message(
            trainer, 'the parameters hold NaN or inf'))

    @staticmethod
    def _message(trainer, what):
        newest = snapshots_newest_first(trainer.out)
        kept = ('the last good snapshot is {}'.format(newest[0]) if newest
                else 'no snapshot was written yet')
        return ('iteration {}: {}; training stopped ({}; a lower --lr '
                'usually helps)'.format(trainer.updater.iteration, what,
                                        kept))


# CuPy's wrappers of CUDA libraries raise these, with the status's name as
# the message, for an allocation that failed inside the library (cuDNN's
# workspace, a cuBLAS handle, ...) rather than in CuPy's memory pool.
CUDA_ERROR_TYPES = ('CuDNNError', 'CUBLASError', 'CURANDError',
                    'CUSOLVERError', 'CUSPARSEError', 'CUDARuntimeError',
                    'CUDADriverError')
ALLOCATION_FAILED = ('CUDNN_STATUS_ALLOC_FAILED', 'CUBLAS_STATUS_ALLOC_FAILED',
                     'CURAND_STATUS_ALLOCATION_FAILED',
                     'CUSOLVER_STATUS_ALLOC_FAILED',
                     'CUSPARSE_STATUS_ALLOC_FAILED',
                     'cudaErrorMemoryAllocation', 'CUDA_ERROR_OUT_OF_MEMORY',
                     'out of memory')


def is_out_of_memory(error):
    """Whether `error`, or one it was raised from or while handling, is the
    host or a GPU running out of memory. By type name: cupy is not
    importable on a CPU-only install."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        name = type(error).__name__
        if isinstance(error, MemoryError) or name == 'OutOfMemoryError':
            return True
        if name in CUDA_ERROR_TYPES and any(
                text in str(error) for text in ALLOCATION_FAILED):
            return True
        error = error.__cause__ or error.__context__
    return False


def run(trainer, batchsize):
    """trainer.run(), with running out of memory as a one-line stop."""
    try:
        trainer.run(show_loop_exception_msg=False)
    except Exception as e:
        if not is_out_of_memory(e):
            raise
        raise TrainingStopped(
            'out of memory after {} iteration(s) with --batchsize {}: try '
            '--batchsize {} (or a smaller --val_batchsize if it happened '
            'in validation), then --resume auto'.format(
                trainer.updater.iteration, batchsize,
                max(1, batchsize // 2)))


def _say(message):
    print(message, file=sys.stderr)
