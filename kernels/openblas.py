"""Let OpenBLAS's threads sleep as soon as a matrix product ends.

After each product, OpenBLAS's worker threads keep spinning for about
2**28 cycles (~0.1 s) waiting for the next one. A training step starts a
product every few milliseconds, so one core always holds a spinning
thread, and every compiled loop of kernels/compiled.py (batch
normalization, Winograd's transforms) runs one of its two threads on that
core. A Winograd layer's forward pass took 1.4-1.7x as long as its pieces
timed apart; with OPENBLAS_THREAD_TIMEOUT=4 (2**4 cycles, its least) as
long, and GoogLeNet-BN's step went from 0.71-0.74 to 0.83-0.85 of
PyTorch's (results/speed-history.md, round 7). Each product then wakes
its threads again, a few microseconds.

OpenBLAS reads the variable once, as NumPy loads it: entry points import
this module before anything imports NumPy. A value the user has set is
left alone.
"""
import os
import sys

VARIABLE = 'OPENBLAS_THREAD_TIMEOUT'
SLEEP_AT_ONCE = '4'

if VARIABLE not in os.environ and 'numpy' not in sys.modules:
    os.environ[VARIABLE] = SLEEP_AT_ONCE
# What OpenBLAS runs with: None when NumPy came first (its default).
TIMEOUT = os.environ.get(VARIABLE)
