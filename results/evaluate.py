"""python -m results.evaluate RUN_DIR [VAL]: how good a trained model is,
and how to use it when it is only ~80% right.

Writes into --out (default RUN_DIR/eval): confusion_matrix.png (class names
on the axes) and .csv, per_class.csv (precision, recall, F1), thresholds.csv
and thresholds.png (for thresholds 0.00-0.99 on the top softmax
probability: the share of images accepted and the accuracy on them), and
evaluation.json; with --save-probs, probs.npy (N x classes softmax vectors,
list order) and labels.npy, features for a second model. Each readable
image counts once; unreadable ones are left out and named in
evaluation.json.

A multi-label run (train_imagenet.py --multi-label) gets per_label.csv
(precision, recall, F1 at probability 0.5), label_thresholds.csv (each
label's precision and recall at thresholds 0.00-0.99),
operating_points.csv (per label, the lowest threshold reaching
--target-precision and the recall there), thresholds.png (micro precision,
recall and F1) and evaluation.json (micro and macro F1, exact-match
ratio); --save-probs writes sigmoid vectors and multi-hot labels.
"""
import kernels.openblas  # noqa: F401  (before NumPy loads)
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import json
import os
import sys

import chainer
import chainer.functions as F
import numpy

from imagedata import listfile, multilabel, reader
from imagedata.dataset import ImageDataset, make_iterator
from imagedata.progress import Progress
from results import metrics, plots, summary
from results.blog import network_name
from results.run import WHICH_MODELS, Run
from trainer import device as devices
from trainer.errors import UsageError, storage_error, storage_failures
from trainer.inputs import check_images


def predict_probs(model, iterator, converter, device, activation=F.softmax):
    """Softmax vectors (F.sigmoid: one probability per label) and true
    labels in dataset order. (Chainer's Evaluator reports only averaged
    metrics; the per-image vectors need this loop.)"""
    probs, labels = [], []
    with chainer.using_config('train', False), chainer.no_backprop_mode(), \
            Progress(len(iterator.dataset), 'evaluate') as progress:
        for batch in iterator:
            x, t = converter(batch, device)
            p = activation(model.predict(x))
            probs.append(chainer.backend.CpuDevice().send(p.array))
            labels.append(chainer.backend.CpuDevice().send(t))
            progress.update(len(batch))
    return numpy.concatenate(probs), numpy.concatenate(labels)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='python -m results.evaluate',
        description='Confusion matrix, per-class precision/recall/F1 and '
                    'the confidence-threshold analysis of a trained model.')
    parser.add_argument('run', metavar='RUN_DIR',
                        help='--out directory of train_imagenet.py')
    parser.add_argument('val', metavar='VAL', nargs='?',
                        help="list to evaluate on (default: the run's "
                             'validation list)')
    parser.add_argument('--root', '-R', default=None,
                        help="folder the list paths are relative to "
                             "(default: the run's --root)")
    parser.add_argument('--model', choices=WHICH_MODELS, default='best',
                        help='model_best.npz or the final model.npz '
                             '(default %(default)s)')
    parser.add_argument('--out', '-o', default=None,
                        help='output folder (default RUN_DIR/eval)')
    parser.add_argument('--batchsize', '-b', type=int, default=50)
    parser.add_argument('--loaderjob', '-j', type=int, default=0,
                        help='image loading processes (default 0: in the '
                             'main process)')
    devices.add_device_options(parser)
    reader.add_argument(parser)  # --max-pixels
    parser.add_argument('--target-accuracy', type=float, default=0.95,
                        help='find the lowest threshold whose accepted '
                             'images reach this accuracy (default '
                             '%(default)s)')
    parser.add_argument('--target-precision', type=float, default=0.9,
                        help='multi-label runs: per label, find the lowest '
                             'threshold whose precision reaches this '
                             '(default %(default)s)')
    parser.add_argument('--save-probs', action='store_true',
                        help='write probs.npy (softmax vectors) and '
                             'labels.npy')
    args = parser.parse_args(argv)
    reader.check_max_pixels(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        return evaluate(args)
    except (summary.SummaryError, listfile.ListError, UsageError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2


def evaluate(args):
    """main() after the options: the exit status, or one of the errors
    main() prints as one line."""
    try:
        run = Run(args.run)
        val_path = args.val or run.summary.get('val')
        root = args.root or run.summary.get('root') or '.'
        if not val_path:
            raise UsageError('no VAL given and none in the summary')
        pairs = listfile.reader(run.multi_label)(val_path, run.n_class)
        pairs = check_images(val_path, pairs, root)
        device = devices.get_device(args)
        cpu_kernels = devices.choose_kernels(args, device)
        model = run.load_model(args.model)
    except OSError as e:
        raise storage_error(e, args.run) or UsageError(
            ' '.join(str(e).split()))
    out = args.out or os.path.join(args.run, 'eval')
    with storage_failures(out, 'the run itself is unchanged'):
        os.makedirs(out, exist_ok=True)
        print(devices.KERNEL_LINES[cpu_kernels], file=sys.stderr)
        model.to_device(device)
        device.use()
        if run.multi_label:
            return evaluate_labels(args, run, model, device, pairs, root,
                                   val_path, out)
        return evaluate_classes(args, run, model, device, pairs, root,
                                val_path, out)


def readable_only(dataset, pairs, probs, labels):
    """The rows of the images that were read; the others (a black
    placeholder each) are said once and left out."""
    broken = dataset.broken_mask()
    if broken.all():
        raise UsageError('none of the {} images could be read'.format(
            len(pairs)))
    if broken.any():
        print('warning: {} of {} images could not be read and are left out '
              'of the evaluation'.format(int(broken.sum()), len(pairs)),
              file=sys.stderr)
    unreadable = [pairs[k][0] for k in numpy.flatnonzero(broken)]
    return probs[~broken], labels[~broken], unreadable


def evaluate_classes(args, run, model, device, pairs, root, val_path, out):
    """The evaluation of a single-label run: softmax probabilities, the
    top class is the answer."""
    dataset = ImageDataset(pairs, root, run.insize, run.preprocess,
                           run.mean(), train=False, dtype=numpy.uint8,
                           max_pixels=args.max_pixels, each_once=True)
    iterator = make_iterator(dataset, args.batchsize, args.loaderjob,
                             repeat=False, shuffle=False)
    probs, labels = predict_probs(model, iterator, dataset.converter, device)
    iterator.finalize()
    probs, labels, unreadable = readable_only(dataset, pairs, probs, labels)

    n = len(labels)
    names = run.class_names
    matrix = metrics.confusion_matrix(labels, probs.argmax(axis=1),
                                      run.n_class)
    accuracy = float(numpy.trace(matrix)) / max(n, 1)
    title = '{} ({}), {} images, accuracy {:.1%}'.format(
        network_name(run.arch), run.name, n, accuracy)
    metrics.write_confusion_csv(os.path.join(out, 'confusion_matrix.csv'),
                                names, matrix)
    metrics.write_per_class_csv(os.path.join(out, 'per_class.csv'), names,
                                matrix)
    named = plots.confusion_heatmap(os.path.join(out, 'confusion_matrix.png'),
                                    matrix, names, title)

    thresholds = metrics.THRESHOLDS
    coverage, kept_accuracy, kept = metrics.threshold_curve(probs, labels)
    metrics.write_thresholds_csv(os.path.join(out, 'thresholds.csv'),
                                 thresholds, coverage, kept_accuracy, kept)
    point = metrics.operating_point(thresholds, coverage, kept_accuracy,
                                    args.target_accuracy)
    plots.threshold_plot(os.path.join(out, 'thresholds.png'), thresholds,
                         coverage, kept_accuracy, point, title)
    if args.save_probs:
        numpy.save(os.path.join(out, 'probs.npy'), probs.astype(numpy.float32))
        numpy.save(os.path.join(out, 'labels.npy'), labels.astype(numpy.int32))

    result = {
        'run': os.path.abspath(args.run), 'model': run.model_path(args.model),
        'list': os.path.abspath(val_path), 'images': n, 'accuracy': accuracy,
        'target_accuracy': args.target_accuracy,
        'operating_point': None if point is None else dict(
            zip(('threshold', 'coverage', 'accuracy'), point)),
        'class_names_drawn': named,
        'unreadable_images': len(unreadable), 'unreadable': unreadable,
    }
    with open(os.path.join(out, 'evaluation.json'), 'w',
              encoding='utf-8') as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write('\n')

    print('{}: accuracy {:.2%} on {} images of {}'.format(
        run.model_path(args.model), accuracy, n, val_path))
    if point is None:
        print('no threshold reaches {:.0%} accuracy (best: {:.2%})'.format(
            args.target_accuracy, numpy.nanmax(kept_accuracy)))
    else:
        print('threshold {:.2f}: {:.1%} of the images are accepted, {:.1%} '
              'of those are right (target {:.0%})'.format(
                  point[0], point[1], point[2], args.target_accuracy))
    print('wrote {}'.format(out))
    return 0


def evaluate_labels(args, run, model, device, pairs, root, val_path, out):
    """The evaluation of a multi-label run: sigmoid probabilities, a label
    given when its probability >= the threshold (0.5 unless a per-label
    one is chosen from the threshold table)."""
    index_pairs, targets = multilabel.by_position(pairs, run.n_class)
    images = ImageDataset(index_pairs, root, run.insize, run.preprocess,
                          run.mean(), train=False, dtype=numpy.uint8,
                          max_pixels=args.max_pixels, each_once=True)
    dataset = multilabel.MultiLabelDataset(images, targets)
    iterator = make_iterator(dataset, args.batchsize, args.loaderjob,
                             repeat=False, shuffle=False)
    probs, labels = predict_probs(model, iterator, dataset.converter, device,
                                  activation=F.sigmoid)
    iterator.finalize()
    probs, labels, unreadable = readable_only(images, pairs, probs, labels)

    n = len(labels)
    names = run.class_names
    scores = metrics.overall_scores(probs, labels)
    title = '{} ({}), {} images, micro F1 {:.1%}, macro F1 {:.1%}'.format(
        network_name(run.arch), run.name, n, scores['micro_f1'],
        scores['macro_f1'])
    precision, recall, f1, support, predicted = metrics.label_scores(
        probs, labels)
    metrics.write_per_label_csv(os.path.join(out, 'per_label.csv'), names,
                                precision, recall, f1, support, predicted)
    thresholds = metrics.THRESHOLDS
    curve_p, curve_r, curve_n = metrics.label_threshold_curves(probs, labels)
    metrics.write_label_thresholds_csv(
        os.path.join(out, 'label_thresholds.csv'), names, thresholds,
        curve_p, curve_r, curve_n)
    points = metrics.label_operating_points(thresholds, curve_p, curve_r,
                                            args.target_precision)
    metrics.write_operating_points_csv(
        os.path.join(out, 'operating_points.csv'), names, points,
        args.target_precision, support)
    plots.label_threshold_plot(os.path.join(out, 'thresholds.png'),
                               thresholds, *metrics.micro_curve(probs, labels),
                               title=title)
    if args.save_probs:
        numpy.save(os.path.join(out, 'probs.npy'), probs.astype(numpy.float32))
        numpy.save(os.path.join(out, 'labels.npy'), labels.astype(numpy.int32))

    result = dict({
        'run': os.path.abspath(args.run), 'model': run.model_path(args.model),
        'list': os.path.abspath(val_path), 'images': n, 'multi_label': True,
        'threshold': 0.5, 'target_precision': args.target_precision,
        'labels_reaching_target': sum(p is not None for p in points),
        'unreadable_images': len(unreadable), 'unreadable': unreadable,
    }, **scores)
    with open(os.path.join(out, 'evaluation.json'), 'w',
              encoding='utf-8') as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write('\n')

    print('{}: micro F1 {:.2%} (precision {:.2%}, recall {:.2%}), macro F1 '
          '{:.2%} over {} label(s), exact match {:.2%}, on {} images of {} '
          '(threshold 0.5)'.format(
              run.model_path(args.model), scores['micro_f1'],
              scores['micro_precision'], scores['micro_recall'],
              scores['macro_f1'], scores['labels_with_positives'],
              scores['exact_match'], n, val_path))
    print('{} of {} labels reach precision {:.0%} at some threshold '
          '(operating_points.csv)'.format(result['labels_reaching_target'],
                                          len(names), args.target_precision))
    print('wrote {}'.format(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
