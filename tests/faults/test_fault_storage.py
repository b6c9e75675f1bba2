"""A full disk, a read-only place: one line naming the path and what was
kept, at every entry point; nothing else of the run or the lists lost."""
import errno
import os
import shutil
import subprocess

import chainer
import pytest

import compute_mean
import tiny_runs
import train_imagenet
from fault_runs import make_read_only, one_line, tree_digest
from imagedata import listfile
from labeling import __main__ as labeling
from results import __main__ as results_main
from results import evaluate
from tiny_runs import read_summary
from trainer import safety

NO_SPACE = os.strerror(errno.ENOSPC)


def no_space(path=None):
    return OSError(errno.ENOSPC, NO_SPACE, *([path] if path else []))


def three_epochs(data, out, *extra):
    return tiny_runs.train_args(data, out, '--epoch', '3', *extra)


def expect_kept_snapshot(err, out, where):
    assert err == (
        'error: {}: no space left on device; the last good snapshot {} is '
        'kept: --resume auto continues from it once there is room'.format(
            where, os.path.join(out, 'snapshot_epoch_1')))


def test_disk_full_while_saving_a_snapshot(data, tmp_path, monkeypatch,
                                           capsys):
    out = str(tmp_path / 'full')
    save = safety.save_npz_durably

    def save_half_then_fill_up(path, target):
        if os.path.basename(path) == 'snapshot_epoch_2':
            with open(path, 'wb') as f:
                f.write(b'PK\x03\x04 half of it')
            raise no_space()  # as numpy's write into a full disk
        save(path, target)
    monkeypatch.setattr(safety, 'save_npz_durably', save_half_then_fill_up)
    lists = tree_digest(os.path.join(data, 'train.txt'))
    assert train_imagenet.main(three_epochs(data, out)) == 2
    expect_kept_snapshot(one_line(capsys.readouterr().err),
                         out, out)
    assert safety.snapshots_newest_first(out) == [
        os.path.join(out, 'snapshot_epoch_1')]
    assert not [n for n in os.listdir(out) if n.startswith('tmp')]
    monkeypatch.undo()
    assert train_imagenet.main(three_epochs(data, out, '--resume',
                                            'auto')) == 0
    assert read_summary(out)['iteration'] == 9
    assert tree_digest(os.path.join(data, 'train.txt')) == lists


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 MB tmpfs (root with the right to mount one), else a skip."""
    disk = str(tmp_path / 'disk')
    os.makedirs(disk)
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m',
                              'tmpfs', disk], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here (needs root and '
                    'CAP_SYS_ADMIN); the monkeypatched test stands in')
    yield disk
    subprocess.run(['umount', '-l', disk], check=False)


def test_a_real_disk_filling_up_in_epoch_two(data, tiny_disk, monkeypatch,
                                             capsys):
    out = os.path.join(tiny_disk, 'run')
    filler = os.path.join(tiny_disk, 'filler')

    def fill_the_disk(trainer):
        with open(filler, 'ab') as f:
            try:
                while True:
                    f.write(b'\0' * 65536)
                    f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
    run = chainer.training.Trainer.run

    def run_filling(trainer, *args, **kwargs):
        trainer.extend(fill_the_disk, name='fill',
                       trigger=chainer.training.triggers.ManualScheduleTrigger(
                           4, 'iteration'))  # in epoch 2, before its saves
        return run(trainer, *args, **kwargs)
    monkeypatch.setattr(chainer.training.Trainer, 'run', run_filling)
    assert train_imagenet.main(three_epochs(data, out)) == 2
    err = one_line(capsys.readouterr().err)
    assert ': no space left on device; the last good snapshot {} is ' \
        'kept'.format(os.path.join(out, 'snapshot_epoch_1')) in err
    assert err.split(':')[1].strip().startswith(out)
    assert safety.npz_problem(os.path.join(out, 'snapshot_epoch_1')) is None
    monkeypatch.undo()
    os.remove(filler)
    assert train_imagenet.main(three_epochs(data, out, '--resume',
                                            'auto')) == 0
    assert read_summary(out)['iteration'] == 9


def test_read_only_place_for_a_new_out(data, tmp_path, monkeypatch,
                                       capsys):
    parent = str(tmp_path / 'ro')
    os.makedirs(parent)
    code = make_read_only(parent, monkeypatch)
    out = os.path.join(parent, 'run')
    assert train_imagenet.main(tiny_runs.train_args(data, out)) == 2
    assert one_line(capsys.readouterr().err) == \
        'error: {}: {}; nothing was written'.format(
            out, os.strerror(code)[:1].lower() + os.strerror(code)[1:])
    assert os.listdir(parent) == []


def test_read_only_out_holding_a_run_is_left_as_it_was(
        data, run, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'copy')
    shutil.copytree(run, out)
    os.remove(os.path.join(out, '.run.lock'))  # from before locks
    before = tree_digest(out)
    make_read_only(out, monkeypatch)
    args = tiny_runs.train_args(data, out, '--resume', 'auto')
    assert train_imagenet.main(args) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith('error: {}: '.format(
        os.path.join(out, '.run.lock')))
    assert err.endswith('; nothing was written')
    assert tree_digest(out) == before


def test_compute_mean_on_a_full_disk_names_what_was_written(
        data, tmp_path, monkeypatch, capsys):
    output = str(tmp_path / 'mean.npy')
    clean = str(tmp_path / 'train_clean.txt')
    lists = tree_digest(os.path.join(data, 'train.txt'))

    def fill_up(path, lines):
        raise no_space()
    monkeypatch.setattr(listfile, '_write_whole', fill_up)
    assert compute_mean.main([
        os.path.join(data, 'train.txt'), '--root',
        os.path.join(data, 'images'), '--insize', '8', '--output', output,
        '--clean-list', clean, '--loaderjob', '1']) == 2
    stderr = capsys.readouterr().err  # a progress bar, then the one line
    assert 'Traceback' not in stderr
    err = one_line(stderr.splitlines()[-1])
    assert err == 'error: {}: no space left on device; written before it: ' \
        '{}, {}'.format(clean, output, str(tmp_path / 'mean.png'))
    assert not os.path.exists(clean)
    assert tree_digest(os.path.join(data, 'train.txt')) == lists


def test_labeling_into_a_read_only_place(data, tmp_path, monkeypatch,
                                         capsys):
    parent = str(tmp_path / 'ro')
    os.makedirs(parent)
    make_read_only(parent, monkeypatch)
    out = os.path.join(parent, 'lists')
    assert labeling.main([os.path.join(data, 'images'), '--out', out]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith('error: {}: '.format(out))
    assert err.endswith('; nothing was written')


def test_evaluation_into_a_read_only_place(run, tmp_path, monkeypatch,
                                           capsys):
    parent = str(tmp_path / 'ro')
    os.makedirs(parent)
    make_read_only(parent, monkeypatch)
    before = tree_digest(run)
    out = os.path.join(parent, 'eval')
    assert evaluate.main([run, '--out', out]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith('error: {}: '.format(out))
    assert err.endswith('; the run itself is unchanged')
    assert tree_digest(run) == before


def test_results_table_on_a_full_disk(run, tmp_path, monkeypatch, capsys):
    markdown = str(tmp_path / 'table.md')

    def full_disk_open(path, *args, **kwargs):
        raise no_space(path)
    monkeypatch.setattr(results_main, 'open', full_disk_open, raising=False)
    assert results_main.main([run, '--markdown', markdown]) == 2
    assert one_line(capsys.readouterr().err) == \
        'error: {}: no space left on device; the tables are printed ' \
        'above'.format(markdown)
