"""What the demo and the reproduction share: running a step as the command
a user would type, and cutting class-balanced subsets of a list."""
import os
import subprocess
import sys

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

# Before chainer, which the drivers import through results.
import chainer_compat  # noqa: E402,F401

from imagedata import listfile  # noqa: E402


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
