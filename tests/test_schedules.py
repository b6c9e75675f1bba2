"""--lr-schedule: step (the blog's), cosine with warm-up, plateau; their
flags, their state across --resume, and real tiny runs."""
import math
import os

import chainer
import numpy
import pytest
from chainer import serializers
from chainer.training import extensions

import tiny_runs
import train_imagenet
from results import recipes
from tiny_runs import read_log, read_summary, train_args
from trainer import schedules



class FakeIterator(object):
    def __init__(self, n, batch_size):
        self.dataset, self.batch_size = range(n), batch_size


class FakeUpdater(object):
    def __init__(self, n=24, batch_size=8):
        self.iteration = 0
        self.optimizer = chainer.optimizers.MomentumSGD(lr=0.1)
        self.iterator = FakeIterator(n, batch_size)

    def get_optimizer(self, name):
        return self.optimizer

    def get_iterator(self, name):
        return self.iterator


class FakeTrainer(object):
    """What the schedules read: the updater's iteration, optimizer and
    iterator, the observation, the stop trigger; extend() records."""

    def __init__(self, stop=(2, 'epoch'), **updater):
        self.updater = FakeUpdater(**updater)
        self.observation = {}
        self.stop_trigger = chainer.training.get_trigger(stop)
        self.extended = []

    def extend(self, extension, trigger=None, **kwargs):
        self.extended.append((extension, trigger))

    @property
    def lr(self):
        return self.updater.optimizer.lr


def schedule_args(*argv):
    return train_imagenet.parse_args(['train.txt', 'val.txt'] + list(argv))


def cosine(i, base, floor, total, warmup):
    if i < warmup:
        return base * (i + 1) / warmup
    return floor + (base - floor) * (1 + math.cos(
        math.pi * (i - warmup) / (total - warmup))) / 2


def test_cosine_lr_follows_the_formula():
    trainer = FakeTrainer()
    shift = schedules.CosineShift('lr', 0.1, 0.001, total=100)
    shift.initialize(trainer)
    assert trainer.lr == 0.1
    for i in (1, 25, 50, 99, 100, 130):
        trainer.updater.iteration = i
        shift(trainer)
        expected = cosine(min(i, 100), 0.1, 0.001, 100, 0)
        assert trainer.lr == pytest.approx(expected, rel=1e-12), i
    assert shift.value(50) == pytest.approx((0.1 + 0.001) / 2)
    assert shift.value(100) == pytest.approx(0.001)


def test_cosine_warm_up_rises_linearly_then_anneals():
    shift = schedules.CosineShift('lr', 0.1, 0.0, total=40, warmup=4)
    assert [shift.value(i) for i in range(5)] == pytest.approx(
        [0.025, 0.05, 0.075, 0.1, 0.1])
    for i in (5, 22, 39):
        assert shift.value(i) == pytest.approx(cosine(i, 0.1, 0, 40, 4))
    assert shift.value(40) == pytest.approx(0.0)
    # A fractional warm-up: 2.5 updates.
    shift = schedules.CosineShift('lr', 0.1, 0.0, total=40, warmup=2.5)
    assert [shift.value(i) for i in range(3)] == pytest.approx(
        [0.04, 0.08, 0.1])


def test_cosine_from_the_flags_counts_epochs_in_updates():
    """24 images, batch 8: 3 updates an epoch; --epoch 4, --warmup-epochs
    0.5 -> 12 updates, 1.5 of warm-up. The lr depends on the iteration
    alone, so a resumed trainer gets it right away."""
    args = schedule_args('--lr-schedule', 'cosine', '--lr', '0.1',
                         '--lr-min', '0.01', '--warmup-epochs', '0.5',
                         '--epoch', '4')
    trainer = FakeTrainer(stop=(4, 'epoch'))
    schedules.extend(trainer, args, (1, 'epoch'))
    [(shift, trigger)] = trainer.extended
    assert trigger == (1, 'iteration')
    assert (shift.total, shift.warmup) == (12, 1.5)
    trainer.updater.iteration = 7  # as after --resume
    shift.initialize(trainer)
    assert trainer.lr == pytest.approx(cosine(7, 0.1, 0.01, 12, 1.5))
    # A --test run stops after iterations: the curve spans those.
    trainer = FakeTrainer(stop=(3, 'iteration'))
    schedules.extend(trainer, schedule_args('--lr-schedule', 'cosine'),
                     (1, 'iteration'))
    assert trainer.extended[0][0].total == 3


def drive(plateau, trainer, val_losses):
    """One validation per loss; the lr after each."""
    lrs = []
    for loss in val_losses:
        trainer.observation = {'validation/main/loss': loss}
        plateau(trainer)
        lrs.append(trainer.lr)
    return lrs


def test_plateau_lowers_the_lr_exactly_after_patience_flat_epochs():
    trainer = FakeTrainer()
    plateau = schedules.ReduceOnPlateau('lr', 0.1, 0.1, patience=3)
    plateau.initialize(trainer)
    lrs = drive(plateau, trainer, [1.0, 0.9, 0.9, 0.95, 0.91,  # 3 flat
                                   0.95, 0.89,                 # better
                                   0.9, 0.9, 0.9])              # 3 flat
    assert lrs == pytest.approx([0.1] * 4 + [0.01] * 5 + [0.001])
    assert (plateau.best, plateau.waited) == (0.89, 0)


def test_plateau_never_goes_below_the_floor_and_skips_no_loss():
    trainer = FakeTrainer()
    plateau = schedules.ReduceOnPlateau('lr', 0.1, 0.5, patience=1,
                                        floor=0.04)
    plateau.initialize(trainer)
    assert drive(plateau, trainer, [1.0, 1.0, 1.0, 1.0]) == pytest.approx(
        [0.1, 0.05, 0.04, 0.04])
    trainer.observation = {}  # no validation this time
    plateau(trainer)
    assert plateau.waited == 0 and trainer.lr == 0.04


def test_plateau_state_survives_serialization(tmp_path):
    """Serialized after 2 flat epochs, restored into a new extension (as
    --resume builds it): the third flat epoch lowers the lr, as it does
    without the interruption."""
    losses_seen = [1.0, 0.8, 0.85, 0.81]
    trainer = FakeTrainer()
    plateau = schedules.ReduceOnPlateau('lr', 0.1, 0.1, patience=3)
    plateau.initialize(trainer)
    drive(plateau, trainer, losses_seen)
    state = {}
    plateau.serialize(serializers.DictionarySerializer(state))
    path = str(tmp_path / 'plateau.npz')
    numpy.savez(path, **state)
    resumed = schedules.ReduceOnPlateau('lr', 0.1, 0.1, patience=3)
    with numpy.load(path) as npz:
        resumed.serialize(serializers.NpzDeserializer(npz))
    assert (resumed.best, resumed.waited, resumed.current) == (0.8, 2, 0.1)
    fresh = FakeTrainer()
    resumed.initialize(fresh)
    assert drive(resumed, fresh, [0.82]) == pytest.approx([0.01])
    assert drive(plateau, trainer, [0.82]) == pytest.approx([0.01])


def test_step_is_the_blogs_single_drop():
    """The default: Chainer's ExponentialShift under its own name (older
    snapshots resume into it) once, after --lr-drop-epoch."""
    trainer = FakeTrainer()
    args = schedule_args('--lr', '0.02', '--lr-drop', '0.5',
                         '--lr-drop-epoch', '7')
    assert args.lr_schedule == 'step'
    schedules.extend(trainer, args, (1, 'epoch'))
    [(shift, trigger)] = trainer.extended
    assert type(shift) is extensions.ExponentialShift
    assert trigger == (7, 'epoch')
    assert (shift._rate, shift._target) == (0.5, 0.01)
    assert schedules.summary_fields(args) == {'lr_schedule': 'step'}


@pytest.mark.parametrize('argv, message', [
    (['--warmup-epochs', '1'], '--warmup-epochs applies to --lr-schedule '
                               'cosine only'),
    (['--plateau-patience', '2'], '--plateau-patience applies to'),
    (['--lr-schedule', 'cosine', '--plateau-patience', '2'],
     '--plateau-patience applies to'),
    (['--lr-min', '0.001'], '--lr-min applies to --lr-schedule cosine or '
                            'plateau only'),
    (['--lr-schedule', 'cosine', '--lr-min', '0.5'], '--lr-min must be'),
    (['--lr-schedule', 'cosine', '--warmup-epochs', '50'],
     '--warmup-epochs must be'),
    (['--lr-schedule', 'plateau', '--plateau-patience', '0'],
     '--plateau-patience must be at least 1'),
    (['--lr-schedule', 'plateau', '--lr-drop', '1'], '--lr-drop must be'),
])
def test_schedule_flags_that_cannot_apply_are_refused(argv, message,
                                                      capsys):
    with pytest.raises(SystemExit):
        schedule_args(*argv)
    assert message in capsys.readouterr().err


def test_schedule_defaults_and_summary_fields():
    args = schedule_args('--lr-schedule', 'cosine')
    assert schedules.summary_fields(args) == {
        'lr_schedule': 'cosine', 'lr_min': 0.0, 'warmup_epochs': 0.0,
        'lr_drop_epoch': None, 'lr_drop': None}
    args = schedule_args('--lr-schedule', 'plateau')
    assert schedules.summary_fields(args) == {
        'lr_schedule': 'plateau', 'lr_min': 0.0, 'plateau_patience': 3,
        'lr_drop_epoch': None}


# Real tiny runs



def test_default_run_records_the_blog_recipe(tmp_path_factory):
    run = tiny_runs.two_epoch_run(tmp_path_factory)
    summary = read_summary(run)
    assert summary['lr_schedule'] == 'step'
    assert summary['label_smoothing'] == 0.0
    assert (summary['lr_drop_epoch'], summary['lr_drop']) == (1, 0.1)
    for key in ('lr_min', 'warmup_epochs', 'plateau_patience'):
        assert key not in summary
    assert recipes.describe(summary) == 'blog'
    assert os.path.isfile(os.path.join(run, 'lr.png'))
    with numpy.load(os.path.join(run, 'snapshot_epoch_2')) as snapshot:
        assert 'extensions/ExponentialShift/_t' in snapshot.files


def test_cosine_run_logs_the_curve_and_resumes_on_it(data, tmp_path):
    """24 images, batch 8, 2 epochs: 6 updates, 3 of warm-up. The log's
    lr of an epoch is that of its last update."""
    out = str(tmp_path / 'cosine')
    argv = ['--epoch', '2', '--lr', '0.02', '--lr-schedule', 'cosine',
            '--warmup-epochs', '1', '--label-smoothing', '0.1']
    assert train_imagenet.main(train_args(data, out, *argv)) == 0
    log = read_log(out)
    assert [e['lr'] for e in log] == pytest.approx(
        [cosine(2, 0.02, 0, 6, 3), cosine(5, 0.02, 0, 6, 3)])
    summary = read_summary(out)
    assert (summary['lr_schedule'], summary['warmup_epochs'],
            summary['lr_min'], summary['label_smoothing']) == (
        'cosine', 1.0, 0.0, 0.1)
    assert recipes.describe(summary) == \
        'label smoothing 0.1, cosine lr (warm-up 1 epoch)'
    resumed = str(tmp_path / 'resumed')
    assert train_imagenet.main(train_args(
        data, resumed, *argv, '--resume',
        os.path.join(out, 'snapshot_epoch_1'))) == 0
    assert [e['lr'] for e in read_log(resumed)] == pytest.approx(
        [e['lr'] for e in log])


def expected_plateau_lrs(val_losses, lr, factor, patience):
    best, waited, lrs = math.inf, 0, []
    for loss in val_losses:
        lrs.append(lr)  # the lr the epoch trained with
        if loss < best:
            best, waited = loss, 0
        else:
            waited += 1
            if waited >= patience:
                waited, lr = 0, lr * factor
    return lrs


def test_plateau_run_resumed_with_auto_lowers_the_lr_as_uninterrupted(
        data, tmp_path):
    argv = ['--lr', '0.2', '--lr-schedule', 'plateau',
            '--plateau-patience', '1']
    whole = str(tmp_path / 'whole')
    assert train_imagenet.main(train_args(data, whole, '--epoch', '4',
                                          *argv)) == 0
    log = read_log(whole)
    assert [e['lr'] for e in log] == pytest.approx(expected_plateau_lrs(
        [e['validation/main/loss'] for e in log], 0.2, 0.1, 1))

    parts = str(tmp_path / 'parts')
    assert train_imagenet.main(train_args(data, parts, '--epoch', '2',
                                          *argv)) == 0
    with numpy.load(os.path.join(parts, 'snapshot_epoch_2')) as snapshot:
        state = {key.rsplit('/', 1)[1]: snapshot[key].item()
                 for key in snapshot.files
                 if key.startswith('extensions/ReduceOnPlateau/')}
    first = read_log(parts)
    assert state['best'] == pytest.approx(
        min(e['validation/main/loss'] for e in first))
    assert train_imagenet.main(train_args(data, parts, '--epoch', '4',
                                          '--resume', 'auto', *argv)) == 0
    assert [e['lr'] for e in read_log(parts)] == pytest.approx(
        [e['lr'] for e in log])
    summary = read_summary(parts)
    assert (summary['lr_schedule'], summary['plateau_patience'],
            summary['lr_drop']) == ('plateau', 1, 0.1)


def test_label_smoothing_with_multi_label_is_refused(capsys):
    with pytest.raises(SystemExit):
        schedule_args('--label-smoothing', '0.1', '--multi-label')
    err = capsys.readouterr().err
    assert '--label-smoothing' in err
    assert 'does not apply to --multi-label' in err
    assert schedule_args('--label-smoothing', '0', '--multi-label').multi_label
    assert schedule_args('--label-smoothing', '0.1').label_smoothing == 0.1
