"""What `tools/reproduce.py --budget NAME` trains, kept apart from the
script that runs it: per network the input size, the training subset, the
epochs and the learning-rate schedule; per budget the validation subset.

Every budget keeps the blog's optimizer (MomentumSGD, momentum 0.9, one
lr drop by 10x), its 'blog' preprocessing (resize, no crop, no mean) and
its networks; `cpu` and `gpu-quick` shorten the schedule and `cpu` shrinks
the inputs so that the four runs fit the time given.
"""
import collections

# train_per_class None: the whole training list. bn_reestimate: training
# images to recompute batch-norm statistics from before each validation
# (0: off). minutes: the planned wall time on the budget's machine, for
# the progress line's ETA.
Plan = collections.namedtuple('Plan', (
    'insize', 'train_per_class', 'epochs', 'lr', 'lr_drop_epoch',
    'batchsize', 'bn_reestimate', 'minutes'))

Budget = collections.namedtuple('Budget', (
    'name', 'about', 'device', 'val_per_class', 'plans'))

BLOG = Budget(
    'blog', "the blog's protocol: the networks' own input sizes, the whole "
    'training list, 50 epochs, lr 0.01 -> 0.001 after epoch 30, batch 32, '
    'validation on the whole test list', 'gpu', None, {
        'alex': Plan(227, None, 50, 0.01, 30, 32, 0, None),
        'nin': Plan(227, None, 50, 0.01, 30, 32, 0, None),
        'googlenet': Plan(224, None, 50, 0.01, 30, 32, 0, None),
        'densenet': Plan(32, None, 50, 0.01, 30, 32, 0, None),
    })

# Sized from the training speeds of bench/train_speed.py, scaled to a
# current data-centre GPU; not yet timed on one.
GPU_QUICK = Budget(
    'gpu-quick', "the networks' own input sizes and the whole training "
    'list, a few epochs each with the lr drop before the last, '
    'validation on the whole test list: about 15 minutes on one modern GPU',
    'gpu', None, {
        'alex': Plan(227, None, 4, 0.01, 3, 32, 0, 3),
        'nin': Plan(227, None, 4, 0.002, 3, 32, 0, 3),
        'googlenet': Plan(224, None, 3, 0.01, 2, 32, 0, 5),
        'densenet': Plan(32, None, 1, 0.05, 1, 32, 2000, 4),
    })

# Chosen from short runs on 2 cores (results/fashion-mnist/cpu/NOTES.md):
# each network at the smallest size it takes (DenseNet at 8), the lr drop
# before the last epoch, NIN at lr 0.004 on the whole list (on 24,000
# images it ended 0.05 points short of 85%), DenseNet at lr 0.05 with its
# batch-norm statistics re-estimated before each validation. minutes: the
# committed runs' wall times; this shared machine's speed varied 3.5x
# between days (AlexNet's 22 is from a slow one).
CPU = Budget(
    'cpu', 'small inputs, a stratified training subset (NIN: the whole '
    'list) and 2-3 epochs per network with the lr drop before the last, '
    'validation on a stratified 2,000 of the test list: at most 2 hours '
    'for all four on 2 CPU cores',
    'cpu', 200, {
        'alex': Plan(39, 2400, 3, 0.01, 2, 32, 0, 22),
        'nin': Plan(39, None, 3, 0.004, 2, 32, 0, 11),
        'googlenet': Plan(59, 700, 3, 0.01, 2, 32, 0, 12),
        'densenet': Plan(8, 800, 2, 0.05, 1, 32, 1000, 14),
    })

BUDGETS = {budget.name: budget for budget in (BLOG, GPU_QUICK, CPU)}


def describe(plan, n_train):
    """One line: what a run of ``plan`` on ``n_train`` images does."""
    drop = ('lr {} -> {} after epoch {}'.format(
        plan.lr, round(plan.lr / 10, 6), plan.lr_drop_epoch)
        if plan.lr_drop_epoch < plan.epochs else 'lr {}'.format(plan.lr))
    text = '{0}x{0}, {1:,} training images x {2} epoch{3}, {4}, batch ' \
        '{5}'.format(plan.insize, n_train, plan.epochs,
                     's' * (plan.epochs > 1), drop, plan.batchsize)
    if plan.bn_reestimate:
        text += ', batch-norm statistics re-estimated from {:,} images ' \
            'before each validation'.format(plan.bn_reestimate)
    return text
