"""make reproduce: the blog's experiment on the full Fashion-MNIST, on a GPU.

    python -m labeling.fashion_mnist -> train_imagenet.py x 4 (the blog's
    protocol: MomentumSGD, lr 0.01 -> 0.001 after epoch 30, 50 epochs,
    no mean, no crop) -> results.evaluate of the best run -> results table

The runs go to result/fashion-mnist/<arch>/ (snapshots and models, not
committed); the table, the training curves, the summaries and the best
run's confusion matrix and threshold analysis to results/fashion-mnist/.
Started again, it skips finished runs and resumes unfinished ones from
their last snapshot. Fashion-MNIST's official split (60,000 / 10,000) is
the train / test split.
"""
import argparse
import glob
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from demo import REPO, run  # noqa: E402
from results import summary  # noqa: E402

ARCHS = ('alex', 'nin', 'googlenet', 'densenet')
KEPT = ('summary.json', 'log', 'loss.png', 'accuracy.png')


def latest_snapshot(run_dir):
    snapshots = glob.glob(os.path.join(run_dir, 'snapshot_epoch_*'))
    if not snapshots:
        return None
    return max(snapshots, key=lambda p: int(re.findall(r'\d+$', p)[0]))


def finished(run_dir):
    try:
        return summary.load(run_dir).get('finished', False)
    except summary.SummaryError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gpu', default='0',
                        help='GPU id (negative: CPU; default %(default)s)')
    parser.add_argument('--arch', action='append', choices=ARCHS,
                        help='only these networks (repeatable)')
    parser.add_argument('--data', default='data/fashion-mnist',
                        help='where the images are exported (default '
                             '%(default)s)')
    parser.add_argument('--runs', default='result/fashion-mnist',
                        help='training runs (default %(default)s)')
    parser.add_argument('--results', default='results/fashion-mnist',
                        help='table and plots (default %(default)s)')
    parser.add_argument('--loaderjob', '-j', default=str(os.cpu_count()))
    parser.add_argument('--limit-per-class', default=None, metavar='N',
                        help='export only N images per class and split '
                             '(a smoke check)')
    parser.add_argument('--test', action='store_true',
                        help='pass --test to the trainer (a smoke check)')
    args = parser.parse_args(argv)
    archs = args.arch or ARCHS

    train_list = os.path.join(args.data, 'train.txt')
    if not os.path.isfile(os.path.join(REPO, train_list)):
        export = ['python', '-m', 'labeling.fashion_mnist', args.data]
        if args.limit_per_class:
            export += ['--limit-per-class', args.limit_per_class]
        run(export)

    runs = []
    for arch in archs:
        out = os.path.join(args.runs, arch)
        runs.append(out)
        if finished(os.path.join(REPO, out)) and not args.test:
            print('\n{} is finished; skipped'.format(out))
            continue
        command = ['python', 'train_imagenet.py', train_list,
                   os.path.join(args.data, 'test.txt'), '--root', args.data,
                   '--arch', arch, '--gpu', args.gpu, '--loaderjob',
                   args.loaderjob, '--seed', '0', '--out', out]
        snapshot = latest_snapshot(os.path.join(REPO, out))
        if snapshot and not args.test:
            command += ['--resume', os.path.relpath(snapshot, REPO)]
        if args.test:
            command.append('--test')
        run(command)

    best = max(runs, key=lambda r: summary.load(
        os.path.join(REPO, r)).get('test_accuracy') or 0)
    results_dir = os.path.join(REPO, args.results)
    os.makedirs(results_dir, exist_ok=True)
    run(['python', '-m', 'results.evaluate', best, '--gpu', args.gpu,
         '--loaderjob', args.loaderjob, '--out',
         os.path.join(args.results, 'eval-' + os.path.basename(best))])
    for out in runs:
        for name in KEPT:
            base, ext = os.path.splitext(name)
            shutil.copy(os.path.join(REPO, out, name), os.path.join(
                results_dir, '{}-{}{}'.format(os.path.basename(out), base,
                                              ext or '.json')))
    run(['python', '-m', 'results'] + runs + [
        '--markdown', os.path.join(args.results, 'table.md')])
    print('wrote {}'.format(args.results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
