"""results: the blog-format table, the evaluation arithmetic and files,
predict.py."""
import csv
import json
import os
import re

import numpy
import pytest

import models
import predict
import tiny_runs
from results import __main__ as results_main
from results import blog, evaluate, metrics, plots
from tiny_runs import read_log



@pytest.fixture(scope='module')
def evaluation(run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('eval'))
    assert evaluate.main([run, '--model', 'final', '--out', out,
                          '--save-probs', '--target-accuracy', '0.5']) == 0
    return out


def read_csv(path):
    with open(path, encoding='utf-8') as f:
        return list(csv.reader(f))


# The blog's table as data

def test_blog_layers_and_inputs_match_the_models():
    for arch, (_, _, _, layers, shape) in blog.BLOG_TABLE.items():
        cls = models.ARCHS[arch]
        assert shape == '3x{0}x{0}'.format(cls.insize)
        if arch != 'densenet':  # n_layers of DenseNet depends on n_layer
            assert layers == cls.n_layers
    assert blog.network_name('googlenetbn') == 'GoogLeNet'


# python -m results

def test_table_numbers_equal_the_log(run, tmp_path, capsys):
    md = str(tmp_path / 'table.md')
    assert results_main.main([run, '--markdown', md]) == 0
    out = capsys.readouterr().out
    last = read_log(run)[-1]
    train = '{:.2f}%'.format(100 * last['main/accuracy'])
    test = '{:.2f}%'.format(100 * last['validation/main/accuracy'])
    row = re.search(r'^DenseNet +(\S+) +(\S+) +6 +3x32x32$', out, re.M)
    assert row is not None, out
    assert row.groups() == (train, test)
    assert 'Network In Network     99.09%    75.70%      12  3x227x227' in out
    with open(md, encoding='utf-8') as f:
        text = f.read()
    assert '| network | train acc | test acc | Layers | input |' in text
    assert '| DenseNet | {} | {} | 6 | 3x32x32 |'.format(train, test) in text
    assert '| GoogLeNet | 99.85% | 81.14% | 22 | 3x224x224 |' in text


def test_two_runs_of_one_network_are_told_apart(run, capsys):
    assert results_main.main([run, run, '--no-blog']) == 0
    out = capsys.readouterr().out
    assert out.count('DenseNet ({})'.format(run)) == 2
    assert 'AlexNet' not in out


def test_table_of_a_directory_without_summary_is_one_line_error(
        tmp_path, capsys):
    assert results_main.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'summary.json' in err


# Evaluation arithmetic

def test_confusion_matrix_counts_and_scores():
    labels = [0, 0, 0, 1, 1, 2]
    preds = [0, 0, 1, 1, 2, 2]
    cm = metrics.confusion_matrix(labels, preds, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    precision, recall, f1, support = metrics.per_class_scores(cm)
    assert precision == pytest.approx([1.0, 0.5, 0.5])
    assert recall == pytest.approx([2 / 3, 0.5, 1.0])
    assert f1 == pytest.approx([0.8, 0.5, 2 / 3])
    assert support.tolist() == [3, 2, 1]


def test_class_never_predicted_scores_zero_not_nan():
    cm = metrics.confusion_matrix([0, 1], [0, 0], 3)
    precision, recall, f1, _ = metrics.per_class_scores(cm)
    assert precision.tolist() == [0.5, 0.0, 0.0]
    assert not numpy.isnan(f1).any()


def test_threshold_curve_and_operating_point():
    probs = numpy.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    labels = numpy.array([0, 1, 1, 0])
    coverage, accuracy, kept = metrics.threshold_curve(probs, labels)
    t = list(metrics.THRESHOLDS)
    assert len(t) == 100 and t[0] == 0.0 and t[-1] == 0.99
    assert coverage[0] == 1.0 and accuracy[0] == 0.5
    # Accepted at 0.60: the first three (>= is accepted), two right.
    assert coverage[t.index(0.6)] == 0.75
    assert accuracy[t.index(0.6)] == pytest.approx(2 / 3)
    assert coverage[t.index(0.7)] == 0.5 and accuracy[t.index(0.7)] == 1.0
    assert kept[t.index(0.95)] == 0 and numpy.isnan(accuracy[t.index(0.95)])
    assert metrics.operating_point(t, coverage, accuracy, 0.9) == (
        0.61, 0.5, 1.0)
    assert metrics.operating_point(t, coverage, accuracy, 1.01) is None


# python -m results.evaluate

def test_confusion_matrix_sums_to_the_validation_size(evaluation):
    rows = read_csv(os.path.join(evaluation, 'confusion_matrix.csv'))
    assert rows[0][1:] == list(tiny_runs.CLASSES)
    counts = numpy.array([[int(v) for v in row[1:]] for row in rows[1:]])
    assert counts.shape == (3, 3)
    assert counts.sum() == tiny_runs.N_VAL
    per_class = read_csv(os.path.join(evaluation, 'per_class.csv'))
    assert [r[1] for r in per_class[1:]] == list(tiny_runs.CLASSES)
    assert [int(r[5]) for r in per_class[1:]] == counts.sum(axis=1).tolist()


def test_evaluation_accuracy_equals_the_logged_validation_accuracy(
        run, evaluation):
    with open(os.path.join(evaluation, 'evaluation.json')) as f:
        result = json.load(f)
    assert result['images'] == tiny_runs.N_VAL
    assert result['accuracy'] == pytest.approx(
        read_log(run)[-1]['validation/main/accuracy'])


def test_coverage_is_one_at_zero_and_never_increases(evaluation):
    rows = read_csv(os.path.join(evaluation, 'thresholds.csv'))
    assert rows[0] == ['threshold', 'coverage', 'accuracy', 'accepted']
    assert rows[1][0] == '0.00' and rows[-1][0] == '0.99'
    coverage = [float(r[1]) for r in rows[1:]]
    assert coverage[0] == 1.0
    assert all(b <= a for a, b in zip(coverage, coverage[1:]))


def test_pictures_and_softmax_vectors_are_written(evaluation):
    for name in ('confusion_matrix.png', 'thresholds.png'):
        with open(os.path.join(evaluation, name), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    probs = numpy.load(os.path.join(evaluation, 'probs.npy'))
    labels = numpy.load(os.path.join(evaluation, 'labels.npy'))
    assert probs.shape == (tiny_runs.N_VAL, 3)
    assert probs.sum(axis=1) == pytest.approx(numpy.ones(tiny_runs.N_VAL),
                                              abs=1e-5)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]


def test_japanese_names_fall_back_visibly_without_a_font(tmp_path, capsys,
                                                         monkeypatch):
    names = ['シューズその他', '帽子その他']
    monkeypatch.setattr(plots, '_candidate_paths', lambda: iter(
        [plots.font_manager.findfont(plots.font_manager.FontProperties())]))
    drawn = plots.confusion_heatmap(str(tmp_path / 'cm.png'),
                                    [[1, 0], [0, 1]], names, 't')
    assert drawn is False
    assert 'fonts-noto-cjk' in capsys.readouterr().err
    assert os.path.getsize(str(tmp_path / 'cm.png')) > 0


def test_japanese_names_render_with_a_cjk_font(tmp_path):
    names = ['シューズその他', '帽子その他']
    if plots.font_for(names) is None:
        pytest.skip('no CJK font installed (fonts-noto-cjk, '
                    'fonts-ipafont-gothic)')
    assert plots.confusion_heatmap(str(tmp_path / 'cm.png'),
                                   [[1, 0], [0, 1]], names, 't') is True


# predict.py

def test_predict_prints_top_k_and_marks_unsure(
        run, tmp_path_factory, tmp_path, capsys):
    data = tiny_runs.data_dir(tmp_path_factory)
    image = os.path.join(data, 'images', 'red', '9.png')
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    assert predict.main(['--run', run, image, str(bad), '--top-k', '2',
                         '--threshold', '1.0']) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(image) and 'unsure' in lines[0]
    ranked = [line.split() for line in lines[1:]]
    assert [r[0] for r in ranked] == ['1.', '2.']
    assert {r[1] for r in ranked} <= set(tiny_runs.CLASSES)
    assert float(ranked[0][2]) >= float(ranked[1][2])
    assert 'bad.jpg' in captured.err
