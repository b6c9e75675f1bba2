"""One live run per --out: a second run there stops at once naming the
owner, an earlier run is neither joined nor replaced without being asked,
and nothing of the other run changes."""
import os
import shutil
import time

import pytest

import tiny_runs
import train_imagenet
from fault_runs import one_line, start_paused, tree_digest
from tiny_runs import read_summary
from trainer import rundir, safety


def copy_of(run_dir, tmp_path, name='copy'):
    out = str(tmp_path / name)
    shutil.copytree(run_dir, out)
    return out


def test_a_second_run_on_a_live_out_stops_at_once_naming_the_owner(
        data, tmp_path, capsys):
    out = str(tmp_path / 'live')
    ready, gate = str(tmp_path / 'ready'), str(tmp_path / 'gate')
    first = start_paused(tiny_runs.train_args(data, out, '--epoch', '2'),
                         ready, gate)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(ready) and first.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(ready), first.communicate()[1][-2000:]
        # A save the live run has under way, as --resume auto would see it.
        os.makedirs(os.path.join(out, 'tmpsnapshot_epoch_1abc'))
        for extra in ([], ['--resume', 'auto'], ['--overwrite']):
            capsys.readouterr()
            started = time.monotonic()
            status = train_imagenet.main(
                tiny_runs.train_args(data, out, '--epoch', '2', *extra))
            took = time.monotonic() - started
            err = one_line(capsys.readouterr().err)
            assert status == 2 and took < 1.0, (extra, took)
            assert err == (
                'error: --out {0}: in use by the training run of process {1} '
                '(lock {0}/.run.lock); wait for it to end, or choose another '
                '--out'.format(out, first.pid))
        assert os.path.isdir(os.path.join(out, 'tmpsnapshot_epoch_1abc'))
    finally:
        open(gate, 'w').close()
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr[-2000:]
    summary = read_summary(out)
    assert summary['finished'] and summary['iteration'] == 6
    for name in ('model.npz', 'model_best.npz', 'snapshot_epoch_2'):
        assert safety.npz_problem(os.path.join(out, name)) is None
    assert [e['epoch'] for e in tiny_runs.read_log(out)] == [1, 2]


@pytest.mark.parametrize('finished', [True, False])
def test_a_new_run_into_an_earlier_run_is_refused_unchanged(
        finished, data, run, tmp_path, capsys):
    out = copy_of(run, tmp_path)
    if not finished:  # killed in epoch 2: a snapshot and its log only
        for name in ('model.npz', 'summary.json'):
            os.remove(os.path.join(out, name))
    before = tree_digest(out, data)
    status = train_imagenet.main(tiny_runs.train_args(data, out, '--test'))
    err = one_line(capsys.readouterr().err)
    assert status == 2
    assert err.startswith('error: --out {} already holds {} run ('.format(
        out, 'a finished' if finished else 'an unfinished'))
    assert err.endswith('continue it with --resume auto, replace it with '
                        '--overwrite, or choose another --out')
    assert tree_digest(out, data) == before


def test_overwrite_replaces_every_file_of_the_earlier_run(
        data, run, tmp_path, capsys):
    out = copy_of(run, tmp_path)
    os.makedirs(os.path.join(out, 'eval'))
    assert os.path.isfile(os.path.join(out, 'snapshot_epoch_2'))
    assert train_imagenet.main(tiny_runs.train_args(
        data, out, '--test', '--overwrite')) == 0
    assert 'removed the earlier run in {}'.format(out) in \
        capsys.readouterr().err
    assert read_summary(out)['test_run'] is True
    # --test ends in epoch 1: the old run's epoch 2 must be gone.
    left = set(os.listdir(out))
    assert not {'snapshot_epoch_2', 'eval'} & left
    assert read_summary(out)['iteration'] == train_imagenet.TEST_ITERATIONS


def test_overwrite_and_resume_together_are_refused(data, tmp_path):
    with pytest.raises(SystemExit) as stop:
        train_imagenet.main(tiny_runs.train_args(
            data, str(tmp_path / 'o'), '--overwrite', '--resume', 'auto'))
    assert stop.value.code == 2


def test_out_that_is_a_file_is_one_line(data, tmp_path, capsys):
    out = tmp_path / 'out'
    out.write_text('mine')
    assert train_imagenet.main(tiny_runs.train_args(data, str(out))) == 2
    assert one_line(capsys.readouterr().err) == \
        'error: --out {}: a file, not a folder'.format(out)
    assert out.read_text() == 'mine'


def test_leftover_saves_are_removed_only_by_the_lock_holder(tmp_path):
    out = str(tmp_path)
    os.makedirs(os.path.join(out, 'tmpsnapshot_epoch_3xyz'))
    with pytest.raises(RuntimeError, match='not claimed'):
        rundir.remove_writer_leftovers(out)
    rundir.claim(out, resume=True)
    try:
        assert not os.path.exists(os.path.join(out,
                                               'tmpsnapshot_epoch_3xyz'))
        with pytest.raises(ValueError, match='in use by the training run '
                           'of process {}'.format(os.getpid())):
            rundir.claim(out, resume=True)
    finally:
        rundir.release(out)
    with open(os.path.join(out, rundir.LOCK_FILE)) as f:
        assert f.read() == '{}\n'.format(os.getpid())
