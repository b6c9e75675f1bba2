"""Keep the memory a training step frees for the next step.

glibc hands every block over its mmap threshold (128 KiB, rising to at most
32 MiB as big blocks are freed) straight back to the system, and gives
memory at the top of its heap back too. A CPU training step allocates and
frees the same big arrays every time, so each step asks the kernel for
them afresh: page faults, and pages zeroed again, on one core while the
other waits. DenseNet-120 at batch 32 spent 4-7 of its 19-22 seconds a
step there (results/speed-history.md, round 4). Raising the thresholds
keeps freed blocks in the heap for the next step; the process then holds
on to its peak, which a training run reaches on its first step anyway.
"""
import ctypes
import ctypes.util
import os

# mallopt(3) parameters
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

SETTINGS = (
    (M_MMAP_THRESHOLD, 2 ** 31 - 1),  # the largest int mallopt takes
    (M_TRIM_THRESHOLD, 2 ** 31 - 1),
    (M_TOP_PAD, 512 << 20),  # grow the heap in large steps
)
# glibc's own environment variables: a user who sets one has chosen.
USER_SETTINGS = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_',
                 'MALLOC_TOP_PAD_', 'GLIBC_TUNABLES')

_kept = False


def _mallopt():
    """glibc's mallopt, or None (another C library, another system)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def keep_freed_memory():
    """Have glibc keep freed blocks for reuse (once per process). Returns
    whether it is in effect: False without glibc, or when the user set
    glibc's malloc environment variables, which are left to rule."""
    global _kept
    if _kept:
        return True
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    _kept = all(mallopt(param, value) == 1 for param, value in SETTINGS)
    return _kept
