"""tools/reproduce.py: budgets, subsets, the published table."""
import json
import os
import sys

import pytest

import tiny_runs
from imagedata import listfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'tools'))

import budgets  # noqa: E402
import reproduce  # noqa: E402
import steps  # noqa: E402


def test_every_budget_plans_the_four_networks_at_sizes_they_take():
    import models
    for budget in budgets.BUDGETS.values():
        assert sorted(budget.plans) == ['alex', 'densenet', 'googlenet',
                                        'nin']
        for arch, plan in budget.plans.items():
            assert 1 <= plan.lr_drop_epoch <= plan.epochs
            if budget.name != 'cpu':
                continue
            # Sizes the shape arithmetic accepts (the cpu ones are small).
            options = {'n_layer': 2} if arch == 'densenet' else {}
            models.get_model(arch, 10, insize=plan.insize, **options)
    blog = budgets.BUDGETS['blog'].plans
    assert {a: p.insize for a, p in blog.items()} == {
        'alex': 227, 'nin': 227, 'googlenet': 224, 'densenet': 32}
    assert {(p.epochs, p.lr, p.lr_drop_epoch, p.train_per_class)
            for p in blog.values()} == {(50, 0.01, 30, None)}


def test_describe_says_size_subset_schedule_and_reestimation():
    plan = budgets.Plan(8, 800, 2, 0.05, 1, 32, 1000, 36)
    assert budgets.describe(plan, 8000) == (
        '8x8, 8,000 training images x 2 epochs, lr 0.05 -> 0.005 after '
        'epoch 1, batch 32, batch-norm statistics re-estimated from 1,000 '
        'images before each validation')
    assert budgets.describe(plan._replace(epochs=1, bn_reestimate=0), 24) \
        == '8x8, 24 training images x 1 epoch, lr 0.05, batch 32'


def test_per_class_subset_is_balanced_and_keeps_list_order():
    pairs = [('{}.png'.format(k), k % 3) for k in range(30)]
    first = steps.per_class_subset(pairs, 2)
    assert first == pairs[:6]
    drawn = steps.per_class_subset(pairs, 2, seed=0)
    assert sorted(label for _, label in drawn) == [0, 0, 1, 1, 2, 2]
    assert drawn == sorted(drawn, key=pairs.index)
    assert drawn == steps.per_class_subset(pairs, 2, seed=0)
    assert steps.per_class_subset(pairs, None) == pairs


def test_reproduce_on_your_own_lists(tmp_path_factory, tmp_path, capsys):
    data = tiny_runs.data_dir(tmp_path_factory)
    runs, results = str(tmp_path / 'runs'), str(tmp_path / 'results')
    argv = ['--budget', 'cpu', '--arch', 'nin',
            '--train', os.path.join(data, 'train.txt'),
            '--val', os.path.join(data, 'val.txt'),
            '--root', os.path.join(data, 'images'),
            '--runs', runs, '--results', results, '--loaderjob', '0']
    assert reproduce.main(argv) == 0
    out = capsys.readouterr().out
    plan = budgets.CPU.plans['nin']
    assert '[1/1] nin: {}\n'.format(budgets.describe(plan, 24)) in out
    assert 'about {} min to go'.format(plan.minutes) in out
    # The subsets carry the class names, as the trainer wants.
    assert listfile.read_labels(os.path.join(runs, 'lists', 'labels.txt')) \
        == list(tiny_runs.CLASSES)
    with open(os.path.join(results, 'nin-summary.json')) as f:
        summary = json.load(f)
    assert summary['finished'] and summary['insize'] == 39
    assert summary['images_seen'] == 32 * summary['iteration']
    assert summary['budget']['name'] == 'cpu'
    assert summary['budget']['validation'] == \
        '6 images (200 per class of the test list)'
    table = open(os.path.join(results, 'table.md')).read()
    assert '| Network In Network |' in table and '| 3x39x39 |' in table
    assert 'none listed' in table  # no published NIN figure
    assert os.path.isfile(os.path.join(results, 'eval-nin',
                                       'confusion_matrix.png'))
    # Started again: the finished run is skipped, not trained twice.
    assert reproduce.main(argv) == 0
    assert 'is finished; skipped' in capsys.readouterr().out


def test_train_and_val_go_together(capsys):
    with pytest.raises(SystemExit):
        reproduce.parse_args(['--train', 'a.txt'])
    assert '--train and --val go together' in capsys.readouterr().err
