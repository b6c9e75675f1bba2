"""One live run per --out: the run directory is claimed before anything is
written into it.

The claim is an advisory lock (fcntl, POSIX record lock) on OUT/.run.lock,
which holds the owner's process id. POSIX locks belong to the process: the
loader processes it forks do not hold it, and it is gone the moment the
owner exits or is killed, so a killed run's directory can be resumed at
once. A second run on a held --out stops at once naming the owner; a new
run in a directory that holds an earlier run (finished or not) is refused
unless it resumes it (--resume) or replaces it (--overwrite). The
temporary folders of interrupted snapshot saves are removed only by the
holder of the lock, so never from under a live run.
"""
import contextlib
import errno
import fcntl
import functools
import os
import shutil
import sys
import time

from results import summary
from trainer import safety
from trainer.errors import UsageError, storage_failures

LOCK_FILE = '.run.lock'
# What a run writes into --out besides its snapshots; --overwrite removes
# them with the snapshots, so nothing of the replaced run stays to mislead.
RUN_FILES = (summary.SUMMARY_FILE, 'log', summary.MODEL_FILE,
             summary.BEST_MODEL_FILE, summary.MEAN_FILE, 'cg.dot',
             'loss.png', 'accuracy.png', 'lr.png')
EVAL_DIR = 'eval'  # python -m results.evaluate's default output
OWNER_WAIT_S = 0.5  # for a claimant to write its process id

_held = {}  # realpath of --out: the open lock file of this process


def add_arguments(parser):
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the run already in --out (its log, '
                             'summary, snapshots and models are deleted); '
                             'without it (or --resume) such an --out is '
                             'refused')


def check_args(parser, args):
    if args.overwrite and args.resume:
        parser.error('--overwrite replaces the run in --out and --resume '
                     'continues it: give one of them')


def run_files(out):
    """The files (and folders) of an earlier run in `out`."""
    if not os.path.isdir(out):
        return []
    found = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        if (name in RUN_FILES or safety.SNAPSHOT_NAME.match(name)
                or safety.WRITER_LEFTOVER.match(name)
                or (name == EVAL_DIR and os.path.isdir(path))
                or '.tmp' in name and name.split('.tmp')[0] in RUN_FILES):
            found.append(path)
    return found


def _open_lock(path, create):
    flags = os.O_RDWR | getattr(os, 'O_CLOEXEC', 0)
    try:
        return os.open(path, flags | (os.O_CREAT if create else 0), 0o644)
    except FileNotFoundError:
        if create:
            raise
        return None


def _owner(path):
    """The process id written in a held lock file ('?' if none yet)."""
    deadline = time.monotonic() + OWNER_WAIT_S
    while True:
        try:
            with open(path, encoding='ascii', errors='replace') as f:
                pid = f.read().strip()
        except OSError:
            pid = ''
        if pid or time.monotonic() > deadline:
            return pid or '?'
        time.sleep(0.05)


def _busy(out, pid):
    return UsageError(
        '--out {}: in use by the training run of process {} (lock {}); '
        'wait for it to end, or choose another --out'.format(
            out, pid, os.path.join(out, LOCK_FILE)))


def _lock(fd, out):
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP):
            _say('warning: --out {}: this file system has no locks; '
                 'nothing stops a second run there'.format(out))
            return
        if e.errno not in (errno.EACCES, errno.EAGAIN):
            raise
        os.close(fd)
        raise _busy(out, _owner(os.path.join(out, LOCK_FILE)))


def _refusal(out, found):
    try:
        finished = summary.load(out).get('finished', False)
    except summary.SummaryError:
        finished = False
    return UsageError(
        '--out {} already holds {} run ({}); continue it with --resume '
        'auto, replace it with --overwrite, or choose another --out'.format(
            out, 'a finished' if finished else 'an unfinished',
            ', '.join(os.path.basename(p) for p in found[:4]) +
            (', ...' if len(found) > 4 else '')))


def claim(out, resume=False, overwrite=False):
    """Makes this process the one run of `out`, before anything is written
    there: a UsageError when another live run holds it, or when it holds
    an earlier run and neither `resume` nor `overwrite` is given (nothing
    in `out` is changed then). With `overwrite` the earlier run's files
    are deleted; with `resume` the leftovers of interrupted saves."""
    key = os.path.realpath(out)
    if key in _held:
        raise _busy(out, os.getpid())
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError('--out {}: a file, not a folder'.format(out))
    lock_path = os.path.join(out, LOCK_FILE)
    with storage_failures(out, 'nothing was written'):
        fd = _open_lock(lock_path, create=False)
        if fd is not None:
            _lock(fd, out)
        found = run_files(out)
        if found and not (resume or overwrite):
            if fd is not None:
                os.close(fd)  # and with it the lock
            raise _refusal(out, found)
        created = not os.path.exists(out)
        if fd is None:
            os.makedirs(out, exist_ok=True)
            fd = _open_lock(lock_path, create=True)
            _lock(fd, out)
        _held[key] = (fd, created)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, '{}\n'.format(os.getpid()).encode('ascii'))
        except OSError:
            release(out)
            raise
    if overwrite and found:
        for path in found:
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        _say('--overwrite: removed the earlier run in {} ({} files)'.format(
            out, len(found)))
    if resume:
        remove_writer_leftovers(out)


@contextlib.contextmanager
def owned(out, resume, overwrite, workers):
    """claim() on rank 0 (where everything is written; its refusal stops
    every rank), released when the block ends."""
    workers.read_on_root(functools.partial(claim, out, bool(resume),
                                           overwrite))
    try:
        yield
    finally:
        if workers.is_root:
            release(out)


def release(out):
    """Ends this process's claim on `out` (exiting ends it too); a folder
    the claim created and nothing else was written to (bad input found
    before training) is removed again."""
    fd, created = _held.pop(os.path.realpath(out), (None, False))
    if fd is None:
        return
    try:
        if created and os.listdir(out) == [LOCK_FILE]:
            os.remove(os.path.join(out, LOCK_FILE))  # still locked
            os.rmdir(out)
    except OSError:
        pass  # only tidying up
    finally:
        os.close(fd)


def remove_writer_leftovers(out):
    """Removes the temporary folders of snapshot saves that were
    interrupted; only the holder of `out`'s lock calls this."""
    if os.path.realpath(out) not in _held:
        raise RuntimeError('{}: not claimed by this process'.format(out))
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        if safety.WRITER_LEFTOVER.match(name) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            _say('removed {}, left by a save that was interrupted'
                 .format(path))


def what_was_kept(out):
    """For a run stopped by a full or read-only disk at `path`: the snapshot
    it can resume from (None when `path` is not in `out`)."""
    top = os.path.realpath(out)

    def kept(path):
        where = os.path.realpath(path)
        if where != top and not where.startswith(top + os.sep):
            return None
        newest = safety.newest_valid_snapshot(out)
        if newest is None:
            return 'no snapshot of this run was written yet'
        return ('the last good snapshot {} is kept: --resume auto continues '
                'from it once there is room'.format(newest))
    return kept


def _say(message):
    print(message, file=sys.stderr)
