"""Scan a folder-per-class tree and split it per class.

Each top-level folder of the root is a class; images in nested folders
belong to their top-level class. Image files are recognised by extension
(case-insensitive); hidden files and folders (name starting with '.') and
other files are ignored. Paths are relative to the root, '/'-separated.

Links to folders are not followed, at the top level or below: one may lead
out of the tree or back into it (a top-level link to the root would be a
class holding every image again). A link to a file is listed like the
file, unless it leads nowhere: then it is reported as broken.
"""
import os

import numpy

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp',
                    '.tif', '.tiff')


class Scan(object):
    """What scan_tree found: class names (sorted; index = label), the
    (path, label) pairs, and what it left out."""

    def __init__(self):
        self.class_names = []
        self.pairs = []
        self.ignored_files = 0      # non-image or hidden files
        self.loose_files = []      # files directly in the root
        self.empty_classes = []    # top-level folders without images
        self.unlistable = []       # names the list format cannot hold
        self.linked_classes = []   # (top-level link to a folder, target)
        self.linked_folders = []   # links to folders inside the classes
        self.dangling = []         # links to files that do not exist

    def counts(self):
        counts = numpy.zeros(len(self.class_names), dtype=numpy.int64)
        for _, label in self.pairs:
            counts[label] += 1
        return counts


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _hidden(name):
    return name.startswith('.')


def _listable(relative):
    # The list format strips the ends of a path and ends a line at a break.
    return relative == relative.strip() and not any(
        c in relative for c in '\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029')


def walk_files(top, root, linked_folders=None):
    """(path relative to `root`, '/'-separated; whether it is a non-hidden
    image) of every file under `top`, hidden folders left out, sorted.
    Links to folders are not followed (appended to `linked_folders`)."""
    for folder, dirs, files in os.walk(top):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        if linked_folders is not None:
            linked_folders.extend(os.path.relpath(os.path.join(
                folder, d), root).replace(os.sep, '/') for d in links
                if not _hidden(d))
        dirs[:] = sorted(d for d in dirs if not _hidden(d)
                         and d not in links)
        for name in sorted(files):
            relative = os.path.relpath(os.path.join(folder, name), root)
            yield (relative.replace(os.sep, '/'),
                   not _hidden(name) and is_image_name(name))


def scan_tree(root):
    """Scan `root`; raise ValueError when it is not a folder."""
    if not os.path.isdir(root):
        raise ValueError('{}: not a folder'.format(root))
    found = Scan()
    classes = {}
    for entry in sorted(os.listdir(root)):
        full = os.path.join(root, entry)
        if _hidden(entry):
            continue
        if os.path.islink(full) and os.path.isdir(full):
            found.linked_classes.append((entry, os.path.realpath(full)))
            continue
        if not os.path.isdir(full):
            found.loose_files.append(entry)
            continue
        images = []
        for relative, is_image in walk_files(full, root,
                                             found.linked_folders):
            if not is_image:
                found.ignored_files += 1
            elif not os.path.exists(os.path.join(root, relative)):
                found.dangling.append(relative)  # a link to nothing
            elif _listable(relative):
                images.append(relative)
            else:
                found.unlistable.append(relative)
        if not _listable(entry):
            found.unlistable.extend(images)
        elif images:
            classes[entry] = images
        else:
            found.empty_classes.append(entry)
    found.class_names = sorted(classes)
    for label, name in enumerate(found.class_names):
        found.pairs.extend((path, label) for path in classes[name])
    return found


def val_count(n, val_ratio):
    """Validation images out of a class of n: the ratio rounded, at least
    one when the ratio is positive and the class has two or more, and
    never the whole class."""
    if n < 2 or val_ratio <= 0:
        return 0
    return min(n - 1, max(1, int(round(n * val_ratio))))


def stratified_split(pairs, n_class, val_ratio, seed):
    """Split (path, label) pairs per class; both lists shuffled, seeded."""
    rng = numpy.random.RandomState(seed)
    by_class = [[] for _ in range(n_class)]
    for pair in pairs:
        by_class[pair[1]].append(pair)
    train, val = [], []
    for members in by_class:
        order = rng.permutation(len(members))
        k = val_count(len(members), val_ratio)
        val.extend(members[j] for j in order[:k])
        train.extend(members[j] for j in order[k:])
    train = [train[j] for j in rng.permutation(len(train))]
    val = [val[j] for j in rng.permutation(len(val))]
    return train, val
