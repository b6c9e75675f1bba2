"""A run whose model file is damaged or does not fit its summary: predict,
the evaluation and the table name the file and why, and use the run's
other model file when that one is intact, saying so."""
import json
import os
import shutil

import chainer
import numpy
import pytest

import models
import predict
from fault_runs import one_line, tree_digest
from results import __main__ as results_main
from results import evaluate

BEST, FINAL = 'model_best.npz', 'model.npz'


@pytest.fixture
def run_copy(run, tmp_path):
    out = str(tmp_path / 'run')
    shutil.copytree(run, out)
    return out


def truncate(path):
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) * 2 // 3)


def flip_bits(path):
    with open(path, 'r+b') as f:
        content = bytearray(f.read())
        for at in numpy.random.default_rng(0).integers(
                len(content) // 4, len(content) // 2, 8):
            content[at] ^= 0x10
        f.seek(0)
        f.write(content)


def edit_summary(run_dir, **changes):
    path = os.path.join(run_dir, 'summary.json')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    for key, value in changes.items():
        if key in ('n_layer', 'growth_rate'):
            data['model_options'][key] = value
        else:
            data[key] = value
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)


def image_of(data):
    return os.path.join(data, 'images', 'green', '9.png')


def predictions(capsys, argv):
    status = predict.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize('damage', [truncate, flip_bits])
def test_predict_falls_back_to_the_intact_final_model(
        damage, data, run_copy, capsys):
    _, expected, _ = predictions(capsys, ['--run', run_copy, '--model',
                                          'final', image_of(data)])
    damage(os.path.join(run_copy, BEST))
    status, out, err = predictions(capsys, ['--run', run_copy,
                                            image_of(data)])
    assert status == 0 and out == expected
    warning = err.strip().splitlines()[0]
    assert warning.startswith('warning: {}: damaged ('.format(
        os.path.join(run_copy, BEST)))
    assert warning.endswith('); using {} instead, which is intact'.format(
        os.path.join(run_copy, FINAL)))


def test_evaluation_and_table_fall_back_too(run_copy, tmp_path, capsys):
    truncate(os.path.join(run_copy, BEST))
    eval_dir = str(tmp_path / 'eval')
    assert evaluate.main([run_copy, '--out', eval_dir]) == 0
    assert 'using {} instead'.format(os.path.join(run_copy, FINAL)) in \
        capsys.readouterr().err
    with open(os.path.join(eval_dir, 'evaluation.json')) as f:
        assert json.load(f)['model'] == os.path.join(run_copy, FINAL)
    assert results_main.main([run_copy, '--no-blog']) == 0
    captured = capsys.readouterr()
    assert 'using {} instead'.format(os.path.join(run_copy, FINAL)) in \
        captured.err
    assert 'DenseNet' in captured.out


def test_a_damaged_final_model_falls_back_to_the_best(data, run_copy,
                                                      capsys):
    flip_bits(os.path.join(run_copy, FINAL))
    status, out, err = predictions(capsys, ['--run', run_copy, '--model',
                                            'final', image_of(data)])
    assert status == 0 and out.startswith(image_of(data))
    assert 'using {} instead'.format(os.path.join(run_copy, BEST)) in err


MISMATCHES = {
    # summary change: what the loader may say (missing weights: KeyError;
    # other shapes: "could not broadcast"), whichever it meets first
    'more classes': ({'n_class': 5}, ('could not broadcast',)),
    'deeper network': ({'n_layer': 3}, ('could not broadcast',
                                        'is not a file in the archive')),
    'another network': ({'arch': 'nin', 'model_options': {},
                         'insize': 39}, ('is not a file in the archive',)),
    'wider layers': ({'growth_rate': 6}, ('could not broadcast',)),
}


@pytest.mark.parametrize('mismatch', sorted(MISMATCHES))
def test_models_that_do_not_fit_the_summary_are_one_line(
        mismatch, data, run_copy, tmp_path, capsys):
    changes, why = MISMATCHES[mismatch]
    edit_summary(run_copy, **changes)
    before = tree_digest(run_copy)
    commands = (
        lambda: predict.main(['--run', run_copy, image_of(data)]),
        lambda: evaluate.main([run_copy, '--out', str(tmp_path / 'e')]),
        lambda: results_main.main([run_copy]))
    for command in commands:
        assert command() == 2
        err = one_line(capsys.readouterr().err)
        for name in (BEST, FINAL):
            assert '{}: does not fit the {} network of summary.json ' \
                '('.format(os.path.join(run_copy, name),
                           changes.get('arch', 'densenet')) in err
        assert any(reason in err for reason in why)
    assert tree_digest(run_copy) == before


def test_a_summary_whose_network_cannot_be_built(data, run_copy, capsys):
    edit_summary(run_copy, arch='nin', model_options={})  # NIN at 32x32
    status, _, err = predictions(capsys, ['--run', run_copy,
                                          image_of(data)])
    assert status == 2
    assert one_line(err).startswith(
        'error: {}: its nin network cannot be built: NIN cannot take 32x32 '
        'images'.format(os.path.join(run_copy, 'summary.json')))


def test_a_best_model_of_another_run_falls_back_to_the_final(
        data, run_copy, tmp_path, capsys):
    # model_best.npz replaced by a model of other weights' shapes.
    other = models.get_model('densenet', 5, insize=32, n_layer=2,
                             growth_rate=4, in_ch=8)
    chainer.serializers.save_npz(os.path.join(run_copy, BEST), other)
    status, _, err = predictions(capsys, ['--run', run_copy,
                                          image_of(data)])
    assert status == 0
    assert err.startswith('warning: {}: does not fit'.format(
        os.path.join(run_copy, BEST)))
    assert 'using {} instead'.format(os.path.join(run_copy, FINAL)) in err


def test_both_models_damaged_is_one_line(data, run_copy, capsys):
    truncate(os.path.join(run_copy, BEST))
    os.remove(os.path.join(run_copy, FINAL))
    status, _, err = predictions(capsys, ['--run', run_copy,
                                          image_of(data)])
    assert status == 2
    assert one_line(err) == 'error: {}: damaged ({}); {}: not found'.format(
        os.path.join(run_copy, BEST), err.split('damaged (')[1].split(
            '); ')[0], os.path.join(run_copy, FINAL))
