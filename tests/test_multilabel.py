"""Multi-label runs: train_imagenet.py --multi-label, its evaluation
(per-label F1, thresholds), predict.py and compute_mean.py."""
import csv
import json
import os

import numpy
import pytest

import compute_mean
import predict
import tiny_runs
import train_imagenet
from imagedata import listfile
from results import evaluate, metrics
from tagged_tree import COMBOS, PER_COMBO, TAGS, tagged_data


# Training, evaluation and prediction

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return tagged_data(tmp_path_factory)


@pytest.fixture(scope='module')
def run(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('mlrun'))
    assert train_imagenet.main(tiny_runs.train_args(
        data, out, '--epoch', '2', '--multi-label')) == 0
    return out


@pytest.fixture(scope='module')
def evaluation(run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('mleval'))
    assert evaluate.main([run, '--model', 'final', '--out', out,
                          '--save-probs', '--target-precision', '0.6']) == 0
    return out


def test_run_records_multi_label(run):
    summary = tiny_runs.read_summary(run)
    assert summary['multi_label'] is True
    assert summary['n_class'] == 3
    assert summary['class_names'] == list(TAGS)
    log = tiny_runs.read_log(run)
    assert [e['epoch'] for e in log] == [1, 2]
    for entry in log:
        assert 0 <= entry['validation/main/accuracy'] <= 1


def test_single_label_runs_record_it_off(tmp_path_factory):
    summary = tiny_runs.read_summary(tiny_runs.two_epoch_run(
        tmp_path_factory))
    assert summary['multi_label'] is False


def test_logged_loss_is_binary_cross_entropy_of_the_sigmoids(run,
                                                             evaluation):
    """The whole validation list is one batch, so the logged validation
    loss is the mean binary cross-entropy of what evaluate saved (a
    softmax cross-entropy would not even take the vectors)."""
    probs = numpy.load(os.path.join(evaluation, 'probs.npy'))
    t = numpy.load(os.path.join(evaluation, 'labels.npy'))
    assert t.shape == probs.shape == (len(COMBOS) * PER_COMBO // 4, 3)
    p = numpy.clip(probs.astype(numpy.float64), 1e-7, 1 - 1e-7)
    bce = -(t * numpy.log(p) + (1 - t) * numpy.log(1 - p)).mean()
    last = tiny_runs.read_log(run)[-1]
    assert last['validation/main/loss'] == pytest.approx(bce, rel=1e-4)
    with open(os.path.join(evaluation, 'evaluation.json')) as f:
        result = json.load(f)
    assert result['binary_accuracy'] == pytest.approx(
        last['validation/main/accuracy'], abs=1e-6)


def test_evaluation_reports_per_label_f1_and_thresholds(evaluation):
    probs = numpy.load(os.path.join(evaluation, 'probs.npy'))
    t = numpy.load(os.path.join(evaluation, 'labels.npy'))
    with open(os.path.join(evaluation, 'per_label.csv'),
              encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    assert [r['name'] for r in rows] == list(TAGS)
    given = probs >= 0.5
    for k, row in enumerate(rows):
        hits = int((given[:, k] & (t[:, k] == 1)).sum())
        assert int(row['support']) == int(t[:, k].sum())
        assert int(row['predicted']) == int(given[:, k].sum())
        p = hits / max(int(given[:, k].sum()), 1)
        r = hits / max(int(t[:, k].sum()), 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        assert float(row['f1']) == pytest.approx(f1, abs=1e-4)
    with open(os.path.join(evaluation, 'evaluation.json')) as f:
        result = json.load(f)
    assert result['multi_label'] is True
    assert 0 <= result['micro_f1'] <= 1 and 0 <= result['macro_f1'] <= 1
    assert result['macro_f1'] == pytest.approx(
        numpy.mean([float(r['f1']) for r in rows if int(r['support'])]),
        abs=1e-4)
    with open(os.path.join(evaluation, 'label_thresholds.csv'),
              encoding='utf-8') as f:
        curve = list(csv.DictReader(f))
    assert len(curve) == 3 * len(metrics.THRESHOLDS)
    at_zero = [r for r in curve if r['threshold'] == '0.00']
    assert [float(r['recall']) for r in at_zero] == [1.0, 1.0, 1.0]
    with open(os.path.join(evaluation, 'operating_points.csv'),
              encoding='utf-8') as f:
        points = list(csv.DictReader(f))
    assert [r['name'] for r in points] == list(TAGS)
    for row in points:
        if row['threshold']:
            assert float(row['precision']) >= 0.6
    assert os.path.getsize(os.path.join(evaluation, 'thresholds.png')) > 0


def test_label_metrics_on_known_arrays():
    probs = numpy.array([[0.9, 0.2, 0.6], [0.4, 0.7, 0.1], [0.8, 0.6, 0.3],
                         [0.1, 0.1, 0.1]])
    t = numpy.array([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    precision, recall, f1, support, predicted = metrics.label_scores(probs, t)
    assert precision.tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert recall.tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert support.tolist() == [2, 2, 1] and predicted.tolist() == [2, 2, 1]
    scores = metrics.overall_scores(probs, t)
    assert scores['micro_precision'] == pytest.approx(4 / 5)
    assert scores['micro_recall'] == pytest.approx(4 / 5)
    assert scores['macro_f1'] == pytest.approx((0.5 + 1 + 1) / 3)
    assert scores['exact_match'] == pytest.approx(2 / 4)  # rows 0 and 3
    assert scores['binary_accuracy'] == pytest.approx(10 / 12)
    curve_p, curve_r, _ = metrics.label_threshold_curves(probs, t)
    points = metrics.label_operating_points(metrics.THRESHOLDS, curve_p,
                                            curve_r, 0.99)
    assert points[0] == (0.81, 1.0, 0.5)  # only 0.9 (a true one) is kept
    assert points[1] == (0.21, 1.0, 1.0)


def test_predict_prints_the_labels_above_the_threshold(run, evaluation, data,
                                                       capsys):
    path, _ = listfile.read_multi_list(os.path.join(data, 'val.txt'))[0]
    image = os.path.join(data, 'images', path)
    probs = numpy.load(os.path.join(evaluation, 'probs.npy'))[0]
    assert predict.main(['--run', run, '--model', 'final', image]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [TAGS[k] for k in numpy.argsort(-probs, kind='stable')
                if probs[k] >= 0.5]
    assert lines[0].startswith(image)
    assert [line.split()[0] for line in lines[1:]] == expected
    for line in lines[1:]:
        assert float(line.split()[1]) >= 0.5
    assert predict.main(['--run', run, '--model', 'final', image,
                         '--threshold', '0']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert '3 label(s) at or above 0.000' in lines[0]
    assert predict.main(['--run', run, '--model', 'final', image,
                         '--threshold', '1']) == 0
    out = capsys.readouterr().out
    assert 'no label reaches 1.000; highest: ' in out
    assert len(out.splitlines()) == 1


def test_multi_label_list_without_the_flag_is_one_line(data, tmp_path,
                                                       capsys):
    assert train_imagenet.main(tiny_runs.train_args(
        data, str(tmp_path / 'run'), '--test')) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert 'train.txt:' in err[0] and '--multi-label' in err[0]


def test_compute_mean_keeps_the_labels_of_a_multi_label_list(
        data, tmp_path):
    clean = str(tmp_path / 'clean.txt')
    assert compute_mean.main([
        os.path.join(data, 'train.txt'), '--root',
        os.path.join(data, 'images'), '--insize', '8', '--output',
        str(tmp_path / 'mean.npy'), '--clean-list', clean, '--loaderjob',
        '0', '--multi-label']) == 0
    assert listfile.read_multi_list(clean) == listfile.read_multi_list(
        os.path.join(data, 'train.txt'))
