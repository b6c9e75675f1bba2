"""A run's recipe in words: in summary.json and above the results table."""
import os
import re

import pytest

from results import __main__ as results_main
from results import recipes, summary as summaries



# The recipe in the results


def test_recipe_of_a_summary_without_recipe_keys_is_blog():
    assert recipes.describe({'arch': 'alex'}) == recipes.BLOG
    defaults = {'label_smoothing': 0.0, 'lr_schedule': 'step',
                'random_erase': 0.0, 'random_erase_fill': 'noise',
                'initmodel': None, 'freeze_features': False,
                'multi_label': False, 'lr_drop_epoch': 30, 'lr_drop': 0.1}
    assert recipes.describe(defaults) == recipes.BLOG
    assert recipes.describe(dict(defaults, initmodel='')) == recipes.BLOG


@pytest.mark.parametrize('fields, described', [
    ({'label_smoothing': 0.1, 'lr_schedule': 'cosine', 'lr_min': 0.0,
      'warmup_epochs': 1.0, 'random_erase': 0.5},
     'label smoothing 0.1, cosine lr (warm-up 1 epoch), random erasing 0.5'),
    ({'lr_schedule': 'cosine', 'lr_min': 1e-4, 'warmup_epochs': 2.5},
     'cosine lr (to 0.0001, warm-up 2.5 epochs)'),
    ({'lr_schedule': 'cosine', 'lr_min': 0, 'warmup_epochs': 0},
     'cosine lr'),
    ({'lr_schedule': 'plateau', 'plateau_patience': 3, 'lr_drop': 0.1,
      'lr_min': 0.0}, 'lr lowered on plateau (patience 3, x0.1)'),
    ({'random_erase': 0.5, 'random_erase_fill': 'mean'},
     'random erasing 0.5 (mean fill)'),
    ({'initmodel': '/runs/result/googlenet', 'freeze_features': True},
     'initialized from result/googlenet, features frozen'),
    ({'multi_label': True}, 'multi-label'),
])
def test_recipe_descriptions(fields, described):
    assert recipes.describe(dict({'arch': 'nin'}, **fields)) == described


def fake_run(directory, arch, accuracy, **recipe):
    """A run directory holding only a summary.json (no log)."""
    os.makedirs(directory)
    summaries.write(directory, dict({
        'arch': arch, 'n_class': 3, 'insize': 32, 'layers': 6,
        'input': '3x32x32', 'train_accuracy': accuracy,
        'test_accuracy': accuracy, 'epoch': 2, 'epochs_planned': 2,
        'finished': True}, **recipe))
    return directory


def test_table_says_the_recipe_all_runs_share(tmp_path, capsys):
    old = fake_run(str(tmp_path / 'old'), 'alex', 0.5)
    new = fake_run(str(tmp_path / 'new'), 'nin', 0.6, label_smoothing=0.0,
                   lr_schedule='step', random_erase=0.0)
    md = str(tmp_path / 'table.md')
    assert results_main.main([old, new, '--no-blog', '--markdown', md]) == 0
    out = capsys.readouterr().out
    assert 'These runs (recipe: blog):' in out
    assert re.search(r'^network +train acc +test acc +Layers +input$', out,
                     re.M)
    with open(md, encoding='utf-8') as f:
        text = f.read()
    assert 'These runs (recipe: blog):' in text
    assert '| network | train acc | test acc | Layers | input |' in text

    smooth = fake_run(str(tmp_path / 'smooth'), 'alex', 0.5,
                      label_smoothing=0.2)
    smooth2 = fake_run(str(tmp_path / 'smooth2'), 'nin', 0.5,
                       label_smoothing=0.2, lr_schedule='step')
    assert results_main.main([smooth, smooth2, '--no-blog']) == 0
    out = capsys.readouterr().out
    assert 'These runs (recipe: label smoothing 0.2):' in out
    assert 'recipe column' not in out


def test_table_of_runs_with_different_recipes_has_a_recipe_column(
        tmp_path, capsys):
    blog_run = fake_run(str(tmp_path / 'blog'), 'alex', 0.5)
    cosine_run = fake_run(str(tmp_path / 'cos'), 'alex', 0.7,
                          lr_schedule='cosine', warmup_epochs=1.0,
                          lr_min=0.0, label_smoothing=0.1)
    md = str(tmp_path / 'table.md')
    assert results_main.main([blog_run, cosine_run, '--no-blog',
                              '--markdown', md]) == 0
    out = capsys.readouterr().out
    assert 'These runs (different recipes: see the recipe column):' in out
    assert re.search(r'^network +train acc +test acc +Layers +input +recipe$',
                     out, re.M)
    assert re.search(r'^AlexNet \(\S+blog\) +50\.00% +50\.00% +6 +3x32x32 '
                     r'+blog$', out, re.M), out
    assert re.search(r'^AlexNet \(\S+cos\) +70\.00% +70\.00% +6 +3x32x32 '
                     r'+label smoothing 0\.1, cosine lr \(warm-up 1 epoch\)$',
                     out, re.M), out
    with open(md, encoding='utf-8') as f:
        text = f.read()
    assert '| network | train acc | test acc | Layers | input | recipe |' \
        in text
    assert '| 70.00% | 70.00% | 6 | 3x32x32 | label smoothing 0.1, cosine ' \
        'lr (warm-up 1 epoch) |' in text
