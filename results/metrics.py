"""Evaluation arithmetic on arrays: confusion matrix, per-class precision,
recall and F1, and the blog's confidence threshold (accept a prediction only
when its top softmax probability clears it); for multi-label runs, per-label
precision, recall and F1, micro and macro F1, and per-label thresholds."""
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


# Multi-label runs (train_imagenet.py --multi-label): one sigmoid
# probability per label; a label is given when its probability >= the
# threshold.

def label_counts(probs, targets, threshold=0.5):
    """(hits, predicted, support) per label at `threshold`: images given
    the label that have it, images given it, images that have it."""
    given = numpy.asarray(probs) >= threshold
    truth = numpy.asarray(targets) > 0
    return ((given & truth).sum(axis=0), given.sum(axis=0),
            truth.sum(axis=0))


def label_scores(probs, targets, threshold=0.5):
    """(precision, recall, f1, support, predicted) per label at
    `threshold`; a score whose denominator is 0 is 0."""
    hits, predicted, support = label_counts(probs, targets, threshold)
    precision = _ratio(hits.astype(numpy.float64), predicted)
    recall = _ratio(hits.astype(numpy.float64), support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support, predicted


def overall_scores(probs, targets, threshold=0.5):
    """Micro precision, recall and F1 (every (image, label) decision
    pooled), macro F1 (the mean of the labels' F1 over the labels that
    some image has), exact-match ratio (images whose label set is right)
    and binary accuracy (share of right decisions, as training reports)."""
    probs = numpy.asarray(probs)
    truth = numpy.asarray(targets) > 0
    hits, predicted, support = label_counts(probs, truth, threshold)
    tp, n_pred, n_true = float(hits.sum()), float(predicted.sum()), \
        float(support.sum())
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) \
        if precision + recall else 0.0
    per_label_f1 = label_scores(probs, truth, threshold)[2]
    present = support > 0
    given = probs >= threshold
    return {
        'micro_precision': precision, 'micro_recall': recall,
        'micro_f1': f1,
        'macro_f1': float(per_label_f1[present].mean()) if present.any()
        else 0.0,
        'labels_with_positives': int(present.sum()),
        'exact_match': float((given == truth).all(axis=1).mean())
        if len(truth) else 0.0,
        'binary_accuracy': float((given == truth).mean())
        if truth.size else 0.0,
    }


def label_threshold_curves(probs, targets, thresholds=THRESHOLDS):
    """For each threshold (rows) and label (columns): precision (NaN where
    no image is given the label), recall and how many images are given
    the label."""
    probs = numpy.asarray(probs)
    truth = numpy.asarray(targets) > 0
    given = probs[None, :, :] >= numpy.asarray(thresholds)[:, None, None]
    predicted = given.sum(axis=1)
    hits = (given & truth[None]).sum(axis=1)
    support = truth.sum(axis=0)
    precision = numpy.full(predicted.shape, numpy.nan)
    numpy.divide(hits, predicted, out=precision, where=predicted > 0)
    recall = _ratio(hits.astype(numpy.float64),
                    numpy.broadcast_to(support, hits.shape))
    return precision, recall, predicted


def micro_curve(probs, targets, thresholds=THRESHOLDS):
    """Micro precision (NaN where nothing is given), recall and F1 for
    each threshold."""
    probs = numpy.asarray(probs)
    truth = numpy.asarray(targets) > 0
    given = probs[None, :, :] >= numpy.asarray(thresholds)[:, None, None]
    predicted = given.sum(axis=(1, 2)).astype(numpy.float64)
    hits = (given & truth[None]).sum(axis=(1, 2)).astype(numpy.float64)
    precision = numpy.full(len(predicted), numpy.nan)
    numpy.divide(hits, predicted, out=precision, where=predicted > 0)
    recall = hits / max(float(truth.sum()), 1.0)
    both = numpy.nan_to_num(precision) + recall
    f1 = _ratio(2 * numpy.nan_to_num(precision) * recall, both)
    return precision, recall, f1


def label_operating_points(thresholds, precision, recall, target):
    """Per label, the lowest threshold (so the highest recall) whose
    precision reaches `target`: (threshold, precision, recall), or None
    when no threshold does."""
    points = []
    for k in range(precision.shape[1]):
        point = None
        for j, t in enumerate(thresholds):
            if not numpy.isnan(precision[j, k]) and \
                    precision[j, k] >= target:
                point = (float(t), float(precision[j, k]),
                         float(recall[j, k]))
                break
        points.append(point)
    return points


def write_per_label_csv(path, names, precision, recall, f1, support,
                        predicted):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['label', 'name', 'precision', 'recall', 'f1',
                         'support', 'predicted'])
        for k, name in enumerate(names):
            writer.writerow([k, name, _fmt(precision[k]), _fmt(recall[k]),
                             _fmt(f1[k]), int(support[k]),
                             int(predicted[k])])


def write_label_thresholds_csv(path, names, thresholds, precision, recall,
                               predicted):
    """One row per label and threshold."""
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['label', 'name', 'threshold', 'precision',
                         'recall', 'predicted'])
        for k, name in enumerate(names):
            for j, t in enumerate(thresholds):
                p = precision[j, k]
                writer.writerow([k, name, '{:.2f}'.format(t),
                                 '' if numpy.isnan(p) else _fmt(p),
                                 _fmt(recall[j, k]), int(predicted[j, k])])


def write_operating_points_csv(path, names, points, target, support):
    """Per label: the threshold reaching the target precision and the
    precision and recall there (empty where none does)."""
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['label', 'name', 'target_precision', 'threshold',
                         'precision', 'recall', 'support'])
        for k, name in enumerate(names):
            point = points[k]
            cells = ['', '', ''] if point is None else [
                '{:.2f}'.format(point[0]), _fmt(point[1]), _fmt(point[2])]
            writer.writerow([k, name, '{:.2f}'.format(target)] + cells +
                            [int(support[k])])
