"""kernels/stacked.py: work cut into parts, one a core, OpenBLAS on one
thread each."""
import os
import threading

import numpy as np
import pytest

from kernels import stacked

needs_control = pytest.mark.skipif(
    stacked._openblas_threads() is None,
    reason="OpenBLAS's thread count cannot be set here")


def record_parts(count):
    calls = []

    def work(index, part):
        get_threads = stacked._ready()[0][0] if stacked._ready() else None
        calls.append((index, part, threading.get_ident(),
                      get_threads() if get_threads else None))
    stacked.in_parts(count, work)
    return sorted(calls)


@pytest.mark.parametrize('count', [1, 2, 3, 7, 36])
def test_the_parts_cover_the_range_once(count):
    calls = record_parts(count)
    assert [index for index, *_ in calls] == list(range(
        stacked.parts(count)))
    covered = [i for _, part, *_ in calls for i in range(count)[part]]
    assert covered == list(range(count))


@needs_control
def test_each_part_runs_on_its_own_thread_with_one_openblas_thread():
    control, _ = stacked._ready()
    before = control[0]()
    if before < 2:
        pytest.skip('OpenBLAS runs one thread here')
    calls = record_parts(8)
    assert len(calls) == min(8, before)
    assert len({ident for _, _, ident, _ in calls}) == len(calls)
    assert {threads for *_, threads in calls} == {1}
    assert control[0]() == before


@needs_control
def test_openblas_threads_come_back_after_an_error():
    control, _ = stacked._ready()
    before = control[0]()

    def work(index, part):
        if index == 0:
            raise RuntimeError('part 0 failed')
    with pytest.raises(RuntimeError, match='part 0 failed'):
        stacked.in_parts(4, work)
    assert control[0]() == before


def test_switched_off_the_caller_does_it_all(monkeypatch):
    monkeypatch.setattr(stacked, 'ENABLED', False)
    calls = record_parts(6)
    assert [(index, part) for index, part, *_ in calls] == [
        (0, slice(0, 6))]
    assert calls[0][2] == threading.get_ident()


@pytest.mark.parametrize('count', [1, 3, 36])
def test_matmul_equals_numpys(count):
    rng = np.random.RandomState(0)
    a = rng.randn(count, 5, 7).astype(np.float32)
    b = rng.randn(count, 6, 7).astype(np.float32).transpose(0, 2, 1)
    out = np.empty((count, 5, 6), np.float32)
    assert stacked.matmul(a, b, out) is out
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-6)


@pytest.mark.parametrize('items, chunk, cores, expected', [
    (32, 13, 2, 8),     # 3 chunks of up to 13 -> 4 of 8
    (32, 32, 2, 16),    # one chunk -> one a core
    (32, 4, 2, 4),      # 8 chunks already
    (5, 2, 2, 2),       # 3 -> 4 chunks: 2, 2, 1
    (1, 1, 2, 1),
    (32, 13, 1, 11),    # one core: near-equal chunks only
])
def test_balanced_chunks_divide_among_the_cores(items, chunk, cores,
                                                expected, monkeypatch):
    monkeypatch.setattr(stacked, 'parts', lambda count: min(count, cores))
    assert stacked.balanced_chunk(items, chunk) == expected


@needs_control
def test_a_forked_child_makes_its_own_workers():
    stacked._ready()
    pid = os.fork()
    if pid == 0:  # the child: no worker threads came along
        os._exit(0 if stacked._state is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
