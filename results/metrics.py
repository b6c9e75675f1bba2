"""Evaluation arithmetic on arrays: confusion matrix, per-class precision,
recall and F1, and the blog's confidence threshold (accept a prediction only
when its top softmax probability clears it)."""
import csv

import numpy

# 0.00, 0.01, ..., 0.99
THRESHOLDS = numpy.round(numpy.arange(100) * 0.01, 2)


def confusion_matrix(labels, predictions, n_class):
    """Counts, rows = true class, columns = predicted class."""
    labels = numpy.asarray(labels, dtype=numpy.int64)
    predictions = numpy.asarray(predictions, dtype=numpy.int64)
    if labels.shape != predictions.shape:
        raise ValueError('{} labels but {} predictions'.format(
            labels.size, predictions.size))
    flat = numpy.bincount(labels * n_class + predictions,
                          minlength=n_class * n_class)
    return flat.reshape(n_class, n_class)


def per_class_scores(matrix):
    """(precision, recall, f1, support) per class from a confusion matrix;
    a score whose denominator is 0 is 0 (as scikit-learn does)."""
    matrix = numpy.asarray(matrix, dtype=numpy.float64)
    hits = numpy.diag(matrix)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support.astype(numpy.int64)


def _ratio(a, b):
    out = numpy.zeros_like(a, dtype=numpy.float64)
    numpy.divide(a, b, out=out, where=b > 0)
    return out


def threshold_curve(probs, labels, thresholds=THRESHOLDS):
    """For each threshold: how many images have a top probability >= it,
    their share (coverage) and the accuracy among them (NaN for none)."""
    probs = numpy.asarray(probs)
    labels = numpy.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    accepted = confidence[None, :] >= numpy.asarray(thresholds)[:, None]
    n_accepted = accepted.sum(axis=1)
    n_correct = (accepted & correct[None, :]).sum(axis=1)
    coverage = n_accepted / float(max(len(labels), 1))
    accuracy = numpy.full(len(n_accepted), numpy.nan)
    numpy.divide(n_correct, n_accepted, out=accuracy, where=n_accepted > 0)
    return coverage, accuracy, n_accepted


def operating_point(thresholds, coverage, accuracy, target):
    """The lowest threshold (so the largest coverage) whose accuracy
    reaches `target`: (threshold, coverage, accuracy), or None."""
    for t, c, a in zip(thresholds, coverage, accuracy):
        if c > 0 and a >= target:
            return float(t), float(c), float(a)
    return None


def write_per_class_csv(path, class_names, matrix):
    precision, recall, f1, support = per_class_scores(matrix)
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['label', 'class', 'precision', 'recall', 'f1',
                         'support'])
        for k, name in enumerate(class_names):
            writer.writerow([k, name, _fmt(precision[k]), _fmt(recall[k]),
                             _fmt(f1[k]), int(support[k])])


def write_confusion_csv(path, class_names, matrix):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['true \\ predicted'] + list(class_names))
        for name, row in zip(class_names, matrix):
            writer.writerow([name] + [int(v) for v in row])


def write_thresholds_csv(path, thresholds, coverage, accuracy, n_accepted):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['threshold', 'coverage', 'accuracy', 'accepted'])
        for row in zip(thresholds, coverage, accuracy, n_accepted):
            t, c, a, n = row
            writer.writerow(['{:.2f}'.format(t), _fmt(c),
                             '' if numpy.isnan(a) else _fmt(a), int(n)])


def _fmt(value):
    return '{:.4f}'.format(float(value))
