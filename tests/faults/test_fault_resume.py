"""Kills, interrupted saves and damaged snapshots: --resume auto carries on
from the newest snapshot that reads back whole."""
import os

import numpy
import pytest

import tiny_runs
import train_imagenet
from trainer import safety
from fault_runs import run_killed
from tiny_runs import read_log, read_summary



def three_epochs(data, out, *extra):
    return tiny_runs.train_args(data, out, '--epoch', '3',
                                '--lr-drop-epoch', '2', *extra)


@pytest.fixture(scope='module')
def reference(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('uninterrupted'))
    assert train_imagenet.main(three_epochs(data, out)) == 0
    return out


def parameters(run_dir):
    with numpy.load(os.path.join(run_dir, 'model.npz')) as archive:
        return {key: archive[key] for key in archive.files}


def test_sigkill_mid_epoch_then_resume_auto_equals_uninterrupted(
        data, reference, tmp_path):
    out = str(tmp_path / 'killed')
    child = run_killed(three_epochs(data, out), kill_at_iteration=5)
    assert child.returncode == -9  # SIGKILL, in epoch 2 (iterations 4-6)
    assert safety.snapshots_newest_first(out) == [
        os.path.join(out, 'snapshot_epoch_1')]
    assert train_imagenet.main(three_epochs(data, out, '--resume',
                                            'auto')) == 0
    assert read_summary(out)['iteration'] == \
        read_summary(reference)['iteration'] == 9
    assert [e['iteration'] for e in read_log(out)] == [3, 6, 9]
    # CPU, --seed, --loaderjob 0, 'blog' preprocessing: bit for bit.
    resumed, uninterrupted = parameters(out), parameters(reference)
    assert sorted(resumed) == sorted(uninterrupted)
    for key in uninterrupted:
        numpy.testing.assert_array_equal(resumed[key], uninterrupted[key])


def test_sigkill_while_saving_keeps_the_previous_snapshot(data, tmp_path,
                                                          capsys):
    out = str(tmp_path / 'killed_saving')
    child = run_killed(three_epochs(data, out),
                       kill_saving='snapshot_epoch_2')
    assert child.returncode == -9
    # The half-written file never got its real name.
    assert safety.snapshots_newest_first(out) == [
        os.path.join(out, 'snapshot_epoch_1')]
    assert any(name.startswith('tmpsnapshot_epoch_2')
               for name in os.listdir(out))
    assert train_imagenet.main(three_epochs(data, out, '--resume',
                                            'auto')) == 0
    err = capsys.readouterr().err
    assert 'resumed from {}'.format(os.path.join(out, 'snapshot_epoch_1')) \
        in err
    assert not any(name.startswith('tmp') for name in os.listdir(out))
    assert read_summary(out)['iteration'] == 9


@pytest.mark.parametrize('damage', ['truncated', 'bit_flips', 'empty'])
def test_resume_auto_skips_a_damaged_newest_snapshot(
        damage, data, reference, tmp_path, capsys):
    out = str(tmp_path / damage)
    os.makedirs(out)
    for epoch in (2, 3):  # the two the run kept
        name = 'snapshot_epoch_{}'.format(epoch)
        with open(os.path.join(reference, name), 'rb') as f:
            content = bytearray(f.read())
        if epoch == 3 and damage == 'truncated':
            content = content[:len(content) * 2 // 3]
        elif epoch == 3 and damage == 'bit_flips':
            rng = numpy.random.default_rng(0)
            for at in rng.integers(len(content) // 4, len(content) // 2, 8):
                content[at] ^= 0x10
        elif epoch == 3:
            content = b''
        with open(os.path.join(out, name), 'wb') as f:
            f.write(content)
    newest = os.path.join(out, 'snapshot_epoch_3')
    assert safety.npz_problem(newest) is not None
    assert safety.newest_valid_snapshot(out) == os.path.join(
        out, 'snapshot_epoch_2')
    capsys.readouterr()
    assert train_imagenet.main(three_epochs(data, out, '--resume',
                                            'auto')) == 0
    err = capsys.readouterr().err
    assert 'skipping damaged snapshot {}'.format(newest) in err
    assert 'resumed from {} (iteration 6)'.format(
        os.path.join(out, 'snapshot_epoch_2')) in err
    assert read_summary(out)['iteration'] == 9


def test_resume_auto_in_an_empty_out_starts_from_the_beginning(
        data, tmp_path, capsys):
    out = str(tmp_path / 'fresh')
    args = tiny_runs.train_args(data, out, '--test', '--resume', 'auto')
    assert train_imagenet.main(args) == 0
    assert 'no snapshot in' in capsys.readouterr().err
    assert read_summary(out)['iteration'] == train_imagenet.TEST_ITERATIONS


def test_resume_given_a_model_file_says_to_use_initmodel(
        data, reference, tmp_path, capsys):
    model = os.path.join(reference, 'model.npz')
    args = tiny_runs.train_args(data, str(tmp_path / 'o'), '--resume', model)
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0
    assert model in err and 'not a trainer snapshot' in err
    assert '--initmodel' in err


def test_resume_given_a_damaged_file_is_one_line(data, tmp_path, capsys):
    broken = tmp_path / 'snapshot_epoch_7'
    broken.write_bytes(b'PK\x03\x04 not really a zip')
    args = tiny_runs.train_args(data, str(tmp_path / 'o'), '--resume',
                                str(broken))
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and str(broken) in err


def test_final_model_is_written_atomically(reference):
    assert not [name for name in os.listdir(reference) if '.tmp' in name]
    assert safety.npz_problem(
        os.path.join(reference, 'model.npz')) is None
