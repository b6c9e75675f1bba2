"""make demo: the whole flow on the embedded Fashion-MNIST sample, on a CPU,
in a few minutes.

    labeling -> compute_mean -> train_imagenet.py (the four blog networks,
    real architectures, short schedule) -> results.evaluate (confusion
    matrix, thresholds) of the best run -> the blog-format table

Each step is the command a user would type, printed before it runs. The
schedule is the blog's optimizer and lr drop, shortened: each network gets
about a minute and a half of CPU training, so the slow ones see fewer
images (DenseNet-120 trains at well under one image per second on two
cores). The numbers show that the pipeline works, not what the networks
can do: `make reproduce` (a GPU) trains with the blog's full protocol.

Lists for your own experiments are left in data/ (paths relative to the
repository, so no --root is needed):

    python train_imagenet.py data/train.txt data/val.txt --arch googlenet
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from imagedata import listfile  # noqa: E402

SAMPLE = 'sample/fashion-mnist'
# arch: (training images per class, epochs, batch size); the validation
# list (3 images per class) is the same for all four.
PLAN = {
    'alex': (16, 2, 16),
    'nin': (16, 2, 16),
    'googlenet': (6, 1, 8),
    'densenet': (2, 1, 10),
}


def run(command):
    print('\n$ ' + ' '.join(command), flush=True)
    subprocess.run([sys.executable if c == 'python' else c
                    for c in command], cwd=REPO, check=True)


def per_class_subset(pairs, per_class):
    """The first `per_class` images of each class, in list order."""
    taken, subset = {}, []
    for path, label in pairs:
        if taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            subset.append((path, label))
    return subset


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


def remove_snapshots(run_dir):
    """Trainer snapshots only serve --resume; AlexNet's are ~0.5 GB each."""
    folder = os.path.join(REPO, run_dir)
    for name in os.listdir(folder):
        if name.startswith('snapshot_epoch_'):
            os.remove(os.path.join(folder, name))


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
         '--root', SAMPLE, '--insize', '227',
         '--output', os.path.join(args.out, 'mean.npy'),
         '--clean-list', os.path.join(lists, 'train_clean.txt')])
    write_data_lists(lists, args.data)
    train_pairs = listfile.read_list(
        os.path.join(REPO, lists, 'train_clean.txt'))

    runs = []
    for arch in archs:
        per_class, epochs, batch = PLAN[arch]
        subset = os.path.join(lists, 'train-{}.txt'.format(arch))
        listfile.write_list(os.path.join(REPO, subset),
                            per_class_subset(train_pairs, per_class))
        out = os.path.join(args.out, 'runs', arch)
        run(['python', 'train_imagenet.py', subset,
             os.path.join(lists, 'val.txt'), '--root', SAMPLE, '--arch',
             arch, '--epoch', str(epochs), '--lr-drop-epoch', '1',
             '--batchsize', str(batch), '--loaderjob', '1', '--seed', '0',
             '--out', out])
        runs.append(out)
        remove_snapshots(out)

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
    print('\nEach network trained for a minute or two of CPU time on a few '
          'hundred images at most: accuracies near 10% (chance for 10 '
          'classes) are expected here. `make reproduce` trains with the '
          "blog's full protocol on a GPU.")
    run(['python', '-m', 'results'] + runs + ['--markdown', table])
    print('demo finished in {:.0f} s'.format(time.time() - start))
    return 0


def _summary(run_dir):
    with open(os.path.join(REPO, run_dir, 'summary.json'),
              encoding='utf-8') as f:
        return json.load(f)


if __name__ == '__main__':
    sys.exit(main())
