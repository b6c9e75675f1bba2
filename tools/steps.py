"""What the demo, the reproduction and the recipe comparison share:
running a step as the command a user would type, exporting Fashion-MNIST,
cutting class-balanced subsets of a list, and keeping a finished run's
files."""
import os
import shutil
import subprocess
import sys

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

# Before chainer, which the drivers import through results.
import chainer_compat  # noqa: E402,F401

from imagedata import listfile  # noqa: E402
from results import summary  # noqa: E402

SUBSET_SEED = 0  # the subsets' draw, the same for every network


def run(command):
    """Print the command, then run it from the repository ('python' is
    this interpreter); a failing step stops everything."""
    print('\n$ ' + ' '.join(command), flush=True)
    subprocess.run([sys.executable if c == 'python' else c
                    for c in command], cwd=REPO, check=True)


def per_class_subset(pairs, per_class, seed=None):
    """At most `per_class` images of each class, in list order: the first
    ones, or (with `seed`) a random draw; `per_class` None keeps all."""
    if per_class is None:
        return list(pairs)
    order = range(len(pairs)) if seed is None else \
        numpy.random.RandomState(seed).permutation(len(pairs))
    taken, chosen = {}, []
    for k in order:
        label = pairs[k][1]
        if taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            chosen.append(k)
    return [pairs[k] for k in sorted(chosen)]


def write_subset(source, target, per_class, seed=None):
    """`target`: a per-class subset of the list `source`, with a copy of
    the labels.txt beside `source` (the trainer reads it there). Returns
    the number of images."""
    pairs = per_class_subset(listfile.read_list(source), per_class, seed)
    os.makedirs(os.path.dirname(target) or '.', exist_ok=True)
    listfile.write_list(target, pairs)
    labels = listfile.labels_path_for(source)
    if os.path.isfile(labels):
        listfile.write_labels(listfile.labels_path_for(target),
                              listfile.read_labels(labels))
    return len(pairs)


def export_fashion_mnist(data, limit_per_class=None):
    """python -m labeling.fashion_mnist into `data` (relative to the
    repository), unless its train.txt is there already."""
    if os.path.isfile(os.path.join(REPO, data, 'train.txt')):
        return
    export = ['python', '-m', 'labeling.fashion_mnist', data]
    if limit_per_class:
        export += ['--limit-per-class', str(limit_per_class)]
    run(export)


def finished(run_dir):
    """Whether train_imagenet.py finished the run in `run_dir`."""
    try:
        return summary.load(run_dir).get('finished', False)
    except summary.SummaryError:
        return False


def keep_files(run_dir, results_dir, names, missing_ok=False):
    """Copies the run's files `names` into `results_dir` as
    <run folder name>-<name> (a name without extension gets .json)."""
    prefix = os.path.basename(os.path.normpath(run_dir))
    for name in names:
        source = os.path.join(run_dir, name)
        if missing_ok and not os.path.isfile(source):
            continue
        base, ext = os.path.splitext(name)
        shutil.copy(source, os.path.join(results_dir, '{}-{}{}'.format(
            prefix, base, ext or '.json')))
