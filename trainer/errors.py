"""The ways an entry point stops on purpose, each shown as one line.

UsageError and its kinds end a command with exit status 2; every entry
point (train_imagenet.py, compute_mean.py, python -m labeling, predict.py,
python -m results[.evaluate]) catches them once. Undecodable list text is
imagedata.listfile.ListError, caught beside them.
"""
import contextlib
import errno
import os


class UsageError(ValueError):
    """Bad input found before training starts; str() is the one line."""


class TrainingStopped(RuntimeError):
    """Training stopped on purpose; str() is the one line to show."""


class StorageError(UsageError):
    """A full disk, a read-only file system or a permission refused: the
    path, why, and what was kept."""


class ModelFileError(UsageError):
    """A model file that is damaged or does not fit its run's summary."""


# The errors a full, read-only or forbidden place gives; other OSErrors
# (a missing file, a bad argument) are bugs or inputs, reported elsewhere.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                  errno.EPERM, errno.EFBIG}


def storage_error(error, path, kept=None):
    """The StorageError for an OSError of a full or read-only disk or a
    refused permission (None for other errors). path: what was being
    written when the error names no file; kept: a phrase, or a function
    of the failing path giving one (or None)."""
    if not isinstance(error, OSError) or error.errno not in STORAGE_ERRNOS:
        return None
    where = error.filename if error.filename is not None else path
    why = os.strerror(error.errno)
    message = '{}: {}'.format(where, why[:1].lower() + why[1:])
    said = kept(where) if callable(kept) else kept
    return StorageError(message + ('; ' + said if said else ''))


@contextlib.contextmanager
def storage_failures(path, kept=None):
    """Turns a full-disk, read-only or permission OSError raised inside
    into a StorageError (see storage_error); other errors pass."""
    try:
        yield
    except OSError as e:
        stop = storage_error(e, path, kept)
        if stop is None:
            raise
        raise stop from e


class WrittenInOrder(object):
    """Writes files one after another: write(path, save) calls save(path),
    and a full or read-only disk becomes a StorageError naming the file and
    the ones written before it."""

    def __init__(self):
        self.written = []

    def __call__(self, path, save):
        with storage_failures(path, lambda _: 'written before it: {}'.format(
                ', '.join(self.written) or 'nothing')):
            save(path)
        self.written.append(path)
