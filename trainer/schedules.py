"""--lr-schedule: how the learning rate moves during a run.

    step     the blog's: lr times --lr-drop once, after --lr-drop-epoch
             (the default)
    cosine   from --lr down to --lr-min along half a cosine over the whole
             run, updated every iteration, after an optional linear
             warm-up of --warmup-epochs
    plateau  lr times --lr-drop whenever the validation loss has not
             improved for --plateau-patience validations in a row (never
             below --lr-min)

Each schedule is a trainer extension whose lr comes back with a trainer
snapshot (--resume), and the lr of every epoch is in the log (lr.png).
"""
import math

from chainer import training
from chainer.training import extensions

SCHEDULES = ('step', 'cosine', 'plateau')
DEFAULT_PATIENCE = 3
# The flags of one schedule only: refused with the others rather than
# silently ignored.
ONLY_FOR = {'--warmup-epochs': ('cosine',),
            '--plateau-patience': ('plateau',),
            '--lr-min': ('cosine', 'plateau')}


def add_arguments(parser):
    parser.add_argument('--lr-schedule', choices=SCHEDULES, default='step',
                        help="'step' (default, the blog's): lr x --lr-drop "
                             "after --lr-drop-epoch; 'cosine': from --lr to "
                             '--lr-min along a half cosine over the run, '
                             "per iteration; 'plateau': lr x --lr-drop "
                             'after --plateau-patience epochs without a '
                             'lower validation loss')
    parser.add_argument('--lr-min', type=float, default=None, metavar='LR',
                        help='cosine: the final lr; plateau: the lowest lr '
                             '(default 0)')
    parser.add_argument('--warmup-epochs', type=float, default=None,
                        metavar='EPOCHS',
                        help='cosine: first raise the lr linearly from '
                             '--lr/W to --lr over this many epochs (W '
                             'iterations; a fraction is fine; default 0)')
    parser.add_argument('--plateau-patience', type=int, default=None,
                        metavar='N',
                        help='plateau: lower the lr after N epochs in a row '
                             'without a new lowest validation loss (default '
                             '{})'.format(DEFAULT_PATIENCE))


def check_args(parser, args):
    """Refuses flags of another schedule and impossible values (through
    parser.error), and fills in the defaults of the chosen schedule."""
    schedule = args.lr_schedule
    for flag, schedules in sorted(ONLY_FOR.items()):
        if getattr(args, flag[2:].replace('-', '_')) is not None \
                and schedule not in schedules:
            parser.error('{} applies to --lr-schedule {} only'.format(
                flag, ' or '.join(schedules)))
    if schedule == 'step':
        return
    if args.lr_min is None:
        args.lr_min = 0.0
    if not 0 <= args.lr_min <= args.lr:
        parser.error('--lr-min must be from 0 up to --lr ({:g})'.format(
            args.lr))
    if schedule == 'cosine':
        if args.warmup_epochs is None:
            args.warmup_epochs = 0.0
        if not 0 <= args.warmup_epochs < args.epoch:
            parser.error('--warmup-epochs must be from 0 up to (not '
                         'including) --epoch ({})'.format(args.epoch))
    else:
        if args.plateau_patience is None:
            args.plateau_patience = DEFAULT_PATIENCE
        if args.plateau_patience < 1:
            parser.error('--plateau-patience must be at least 1')
        if not 0 < args.lr_drop < 1:
            parser.error('--lr-schedule plateau lowers the lr: --lr-drop '
                         'must be between 0 and 1')


def summary_fields(args):
    """What summary.json records of the schedule: its name and the
    parameters it uses (the step parameters are None when unused)."""
    if args.lr_schedule == 'step':
        return {'lr_schedule': 'step'}
    fields = {'lr_schedule': args.lr_schedule, 'lr_drop_epoch': None,
              'lr_min': args.lr_min}
    if args.lr_schedule == 'cosine':
        fields.update(lr_drop=None, warmup_epochs=args.warmup_epochs)
    else:
        fields['plateau_patience'] = args.plateau_patience
    return fields


def extend(trainer, args, interval):
    """Adds the extension of --lr-schedule to `trainer`; `interval` is the
    validation trigger (an epoch; an iteration in a --test run)."""
    if args.lr_schedule == 'step':
        # One drop: the target stops later firings. (Not
        # ManualScheduleTrigger: once it has finished, Chainer 7 skips the
        # shift's initialize(), so a run resumed after the drop would go
        # back to the initial lr.)
        trainer.extend(extensions.ExponentialShift(
            'lr', args.lr_drop, target=args.lr * args.lr_drop),
            trigger=(args.lr_drop_epoch, 'epoch'))
    elif args.lr_schedule == 'cosine':
        per_epoch = iterations_per_epoch(trainer)
        stop = trainer.stop_trigger
        total = stop.period * (per_epoch if stop.unit == 'epoch' else 1)
        trainer.extend(CosineShift(
            'lr', args.lr, args.lr_min, total,
            warmup=args.warmup_epochs * per_epoch), trigger=(1, 'iteration'))
    else:
        trainer.extend(ReduceOnPlateau(
            'lr', args.lr, args.lr_drop, args.plateau_patience,
            floor=args.lr_min), trigger=interval)


def iterations_per_epoch(trainer):
    """Updates per epoch of the training iterator (a fraction when the
    batch size does not divide the dataset; under MPI, of this process's
    shard, as its epochs are counted)."""
    iterator = trainer.updater.get_iterator('main')
    return len(iterator.dataset) / iterator.batch_size


class CosineShift(training.Extension):
    """Sets the optimizer's `attr` before every update from the number of
    updates done, i (`total` and `warmup` in updates, may be fractions):

        i < warmup:  base * min(1, (i + 1) / warmup)
        otherwise:   floor + (base - floor) * (1 + cos(pi * p)) / 2,
                     p = min(1, (i - warmup) / (total - warmup))

    so the warm-up's k-th update uses base * k / warmup (never 0), the
    first update after it `base`, and the lr reaches `floor` at `total`.

    Chainer 7.8.1 has no cosine shift, and its WarmupShift cannot be
    chained with one: its initialize() puts the lr back to the warm-up's
    start on every resume, which nothing corrects once the warm-up is
    over. Here the lr is a function of the updater's iteration alone,
    which every trainer snapshot holds, so a resumed run continues on the
    same curve with no state of its own.
    """

    trigger = 1, 'iteration'

    def __init__(self, attr, base, floor, total, warmup=0.0, optimizer=None):
        self.attr, self.base, self.floor = attr, base, floor
        self.total, self.warmup = total, warmup
        self._optimizer = optimizer

    def value(self, i):
        if i < self.warmup:
            return self.base * min(1.0, (i + 1) / self.warmup)
        span = self.total - self.warmup
        progress = 1.0 if span <= 0 else min(1.0, (i - self.warmup) / span)
        return self.floor + (self.base - self.floor) * 0.5 * (
            1.0 + math.cos(math.pi * progress))

    def initialize(self, trainer):
        self(trainer)  # the lr of the first update (after a resume too)

    def __call__(self, trainer):
        optimizer = self._optimizer or trainer.updater.get_optimizer('main')
        setattr(optimizer, self.attr, self.value(trainer.updater.iteration))


class ReduceOnPlateau(training.Extension):
    """Multiplies the optimizer's `attr` by `factor` when `key` (the
    validation loss) has not gone below its lowest value so far for
    `patience` calls in a row, then counts again from 0; never below
    `floor`. (PyTorch's ReduceLROnPlateau(patience=N) waits for N + 1 such
    epochs and calls an improvement only a relative 1e-4 below the best;
    here any lower loss is one.)

    The lowest loss, the calls since it and the current value are
    serialized: a resumed run lowers the lr exactly when the uninterrupted
    one would have. Runs after the Evaluator and after observe_lr, so the
    log's lr of an epoch is the one it was trained with.
    """

    trigger = 1, 'epoch'
    priority = training.PRIORITY_READER

    def __init__(self, attr, init, factor, patience, floor=0.0,
                 key='validation/main/loss', optimizer=None):
        self.attr, self.factor, self.patience = attr, factor, patience
        self.floor, self.key = floor, key
        self._optimizer = optimizer
        self.best = math.inf
        self.waited = 0
        self.current = float(init)

    def initialize(self, trainer):
        self._set(trainer)  # `init`, or the value of a resumed snapshot

    def __call__(self, trainer):
        loss = trainer.observation.get(self.key)
        if loss is None:
            return
        loss = float(getattr(loss, 'array', loss))
        if loss < self.best:
            self.best, self.waited = loss, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.waited = 0
            self.current = max(self.current * self.factor, self.floor)
            self._set(trainer)

    def _set(self, trainer):
        optimizer = self._optimizer or trainer.updater.get_optimizer('main')
        setattr(optimizer, self.attr, self.current)

    def serialize(self, serializer):
        self.best = float(serializer('best', self.best))
        self.waited = int(serializer('waited', self.waited))
        self.current = float(serializer('current', self.current))
