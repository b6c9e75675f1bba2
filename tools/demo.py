"""make demo: the whole flow on the embedded Fashion-MNIST sample, on a CPU,
in a few minutes.

    labeling -> compute_mean -> train_imagenet.py (the four blog networks,
    real architectures, short schedule) -> results.evaluate (confusion
    matrix, thresholds) of the best run -> the blog-format table

Each step is the command a user would type, printed before it runs. The
networks are the blog's, at small input sizes, with its optimizer, each
given about a minute of two CPU cores: AlexNet, NIN and GoogLeNet-BN end
well above chance (10%); DenseNet-120 sees too few images in a minute, and
the demo points to the committed CPU reproduction for what it does with
a quarter of an hour. `make reproduce` trains with the blog's full protocol.

Lists for your own experiments are left in data/ (paths relative to the
repository, so no --root is needed):

    python train_imagenet.py data/train.txt data/val.txt --arch googlenet
"""
import argparse
import json
import os
import sys
import time

from steps import REPO, per_class_subset, run

from imagedata import listfile
from results import summary
from trainer.safety import remove_snapshots

SAMPLE = 'sample/fashion-mnist'
CHANCE = 0.1  # ten classes
# arch: (input size, training images per class, epochs, batch size, lr).
# The blog's networks and optimizer at small inputs (python -m shapes
# --arch ARCH --valid-sizes) so that each learns something
# in about a minute of two CPU cores; the validation list (10 images per
# class) is the same for all four. AlexNet gets twice the blog's rate (it
# starts slowly from its initialisation), NIN the rate of its cpu
# reproduction (the blog's 0.01 stalls it).
PLAN = {
    'alex': (39, 90, 3, 32, 0.02),
    'nin': (39, 90, 3, 32, 0.004),
    'googlenet': (59, 90, 1, 16, 0.01),
    'densenet': (8, 30, 1, 16, 0.05),
}
REPRODUCTION = 'results/fashion-mnist/cpu'


def write_data_lists(lists, data):
    """data/{train,val,labels}.txt: the demo's lists with paths relative to
    the repository, so that train_imagenet.py needs no --root."""
    os.makedirs(os.path.join(REPO, data), exist_ok=True)
    for src, dst in (('train_clean.txt', 'train.txt'), ('val.txt',
                                                        'val.txt')):
        pairs = listfile.read_list(os.path.join(REPO, lists, src))
        listfile.write_list(os.path.join(REPO, data, dst), [
            (SAMPLE + '/' + path, label) for path, label in pairs])
    listfile.write_labels(
        os.path.join(REPO, data, 'labels.txt'),
        listfile.read_labels(os.path.join(REPO, lists, 'labels.txt')))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='demo',
                        help='where the runs go (default %(default)s)')
    parser.add_argument('--data', default='data',
                        help='where the lists are left (default '
                             '%(default)s)')
    parser.add_argument('--arch', action='append', choices=sorted(PLAN),
                        help='only these networks (repeatable)')
    args = parser.parse_args(argv)
    start = time.time()
    lists = os.path.join(args.out, 'lists')
    archs = args.arch or list(PLAN)

    run(['python', '-m', 'labeling', SAMPLE, '--out', lists, '--check'])
    run(['python', 'compute_mean.py', os.path.join(lists, 'train.txt'),
         '--root', SAMPLE, '--insize', '64',
         '--output', os.path.join(args.out, 'mean.npy'),
         '--clean-list', os.path.join(lists, 'train_clean.txt')])
    write_data_lists(lists, args.data)
    train_pairs = listfile.read_list(
        os.path.join(REPO, lists, 'train_clean.txt'))

    runs = []
    for arch in archs:
        insize, per_class, epochs, batch, lr = PLAN[arch]
        subset = os.path.join(lists, 'train-{}.txt'.format(arch))
        listfile.write_list(os.path.join(REPO, subset),
                            per_class_subset(train_pairs, per_class))
        out = os.path.join(args.out, 'runs', arch)
        run(['python', 'train_imagenet.py', subset,
             os.path.join(lists, 'val.txt'), '--root', SAMPLE, '--arch',
             arch, '--insize', str(insize), '--epoch', str(epochs),
             '--lr', str(lr), '--lr-drop-epoch', str(epochs),
             '--batchsize', str(batch), '--loaderjob', '1', '--seed', '0',
             '--out', out, '--overwrite'])  # a demo run again replaces it
        runs.append(out)
        remove_snapshots(os.path.join(REPO, out))

    best = max(runs, key=lambda r: _summary(r).get('test_accuracy') or 0)
    run(['python', '-m', 'results.evaluate', best, '--target-accuracy',
         '0.9'])
    table = os.path.join(args.out, 'results.md')
    print('\nWritten:')
    print('  lists (paths relative to {}): {}/'.format(SAMPLE, lists))
    print('  mean image: {0}/mean.npy, {0}/mean.png'.format(args.out))
    print('  runs (log, loss.png, accuracy.png, models, summary.json; '
          'snapshots removed): {}/runs/<arch>/'.format(args.out))
    print('  confusion matrix and thresholds of the best run ({}): '
          '{}/eval/'.format(os.path.basename(best), best))
    print('  the table as Markdown: {}'.format(table))
    print('  lists for your own runs (no --root needed): {0}/train.txt, '
          '{0}/val.txt, {0}/labels.txt'.format(args.data))
    run(['python', '-m', 'results'] + runs + ['--markdown', table])
    print('\n'.join(verdict(runs)))
    print('demo finished in {:.0f} s'.format(time.time() - start))
    return 0


def verdict(runs):
    """What the accuracies mean next to chance, network by network."""
    lines = ['', 'Chance is {:.0%} on these ten classes:'.format(CHANCE)]
    for run_dir in runs:
        data = _summary(run_dir)
        acc = data.get('test_accuracy') or 0.0
        lines.append('  {:<10} {:6.1%} on {} validation images = {:.1f}x '
                     'chance after {:,} training images ({:.0f} s)'.format(
                         data['arch'], acc, data.get('n_val', '?'),
                         acc / CHANCE, data.get('images_seen') or 0,
                         data.get('wall_time_s') or 0))
    lines.append('DenseNet-120 trains at a few images a second on two cores, '
                 'so a minute shows little; the committed CPU reproduction '
                 '({}/table.md) trains each network for {}. The full '
                 'protocol: make reproduce (a GPU).'.format(
                     REPRODUCTION, reproduction_minutes()))
    return lines


def reproduction_minutes():
    """'11-23 min': the committed reproduction's wall times."""
    folder = os.path.join(REPO, REPRODUCTION)
    minutes = []
    for name in sorted(os.listdir(folder) if os.path.isdir(folder) else []):
        if name.endswith('-summary.json'):
            with open(os.path.join(folder, name), encoding='utf-8') as f:
                minutes.append(json.load(f)['wall_time_s'] / 60)
    if not minutes:
        return 'longer'
    return '{:.0f}-{:.0f} min'.format(min(minutes), max(minutes))


def _summary(run_dir):
    return summary.load(os.path.join(REPO, run_dir))


if __name__ == '__main__':
    sys.exit(main())
