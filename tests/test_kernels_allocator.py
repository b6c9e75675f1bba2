"""kernels/allocator.py: a CPU run keeps the memory its steps free, so the
next step's arrays cost no page faults."""
import os
import subprocess
import sys
import textwrap

import pytest

import kernels
from kernels import allocator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Page faults of filling a 64 MiB array allocated where one was just freed
# (NumPy's huge-page advice off, so that a fault is a 4 KiB page).
REALLOCATE = textwrap.dedent('''
    import resource, sys
    sys.path.insert(0, {repo!r})
    import numpy
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _set_madvise_hugepage
    from kernels import allocator
    kept = allocator.keep_freed_memory() if sys.argv[1] == 'keep' else False
    _set_madvise_hugepage(False)
    a = numpy.ones(16 << 20, numpy.float32)
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = numpy.ones(16 << 20, numpy.float32)
    print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
''').format(repo=REPO)


def reallocate(mode):
    env = {k: v for k, v in os.environ.items()
           if k not in allocator.USER_SETTINGS}
    out = subprocess.run([sys.executable, '-c', REALLOCATE, mode], env=env,
                         capture_output=True, text=True, check=True).stdout
    kept, faults = out.split()
    return kept == 'True', int(faults)


def huge_pages_always():
    try:
        with open('/sys/kernel/mm/transparent_hugepage/enabled') as f:
            return '[always]' in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='glibc and getrusage page faults: Linux')
def test_a_freed_block_is_reused_without_page_faults():
    kept, faults = reallocate('keep')
    assert kept
    assert faults < 1000  # 16384 pages if the block went back
    if not huge_pages_always():  # else the kernel maps 2 MiB at a time
        kept, faults = reallocate('default')
        assert not kept and faults > 8000


def test_glibc_environment_variables_are_left_to_rule(monkeypatch):
    monkeypatch.setattr(allocator, '_kept', False)
    monkeypatch.setenv('MALLOC_TOP_PAD_', '1048576')
    assert allocator.keep_freed_memory() is False


def test_without_glibc_nothing_is_set(monkeypatch):
    monkeypatch.setattr(allocator, '_kept', False)
    monkeypatch.setattr(allocator, '_mallopt', lambda: None)
    for name in allocator.USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    assert allocator.keep_freed_memory() is False


def test_a_cpu_run_keeps_memory_and_a_gpu_run_does_not(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, 'keep_freed_memory',
                        lambda: calls.append(1))
    was_installed = kernels.installed()
    try:
        kernels.select(on_cpu=False)
        assert calls == []
        kernels.select(on_cpu=True, reference=True)
        assert calls == [1]
    finally:
        kernels.use(was_installed)
