"""Multi-label lists from a file of tags per image (python -m labeling
IMAGE_ROOT --tags tags.csv --out DIR).

tags.csv is UTF-8 CSV, one image per row: the image's path relative to
IMAGE_ROOT ('/'-separated) in the first field, its tags after it, separated
by whitespace within a field or by further fields ("shirts/a 1.jpg,white
short_sleeves" and "shirts/a 1.jpg,white,short_sleeves" say the same; a
tag holds no whitespace). Blank rows and rows whose first field starts
with '#' are skipped; a path given without tags is an image with none of
them (an example of every label's absence).

The vocabulary (labels.txt, line number = label) is every tag on at least
--min-tag-count listed images, sorted; rarer tags are dropped from the
rows. The split is seeded: a --val-ratio share of the images (rounded) go
to validation, then for each label that only validation images have, one
of them moves to training, so that every label has training images.
"""
import csv
import os

import numpy

from imagedata.listfile import ListError
from labeling.scan import _listable, val_count, walk_files


class TagsError(ListError):
    """A tags file that cannot be used; str() is one line naming
    file:line."""


class TagScan(object):
    """What scan_tags found: the tag vocabulary (sorted; index = label),
    the (path, labels) pairs, and what it left out."""

    def __init__(self):
        self.class_names = []
        self.pairs = []
        self.missing = []       # (line, path) listed but not under the root
        self.unlistable = []    # paths the list format cannot hold
        self.unlisted = 0       # images under the root with no row
        self.dropped_tags = []  # tags on fewer than min_count images
        self.untagged = 0       # listed images with none of the labels

    def counts(self, pairs=None):
        counts = numpy.zeros(len(self.class_names), dtype=numpy.int64)
        for _, labels in (self.pairs if pairs is None else pairs):
            counts[list(labels)] += 1
        return counts


def read_tags(path):
    """[(line number, relative path, [tag, ...]), ...] of a tags file."""
    if not os.path.isfile(path):
        raise TagsError(path, 0, 'tags file not found')
    rows, first_line = [], {}
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                lineno = reader.line_num
                if not row or not ''.join(row).strip():
                    continue
                image = row[0].strip()
                if row[0].lstrip().startswith('#'):
                    continue
                if not image:
                    raise TagsError(path, lineno, 'no image path in the '
                                    'first field: expected "path,tag1 tag2'
                                    ' ..."')
                if image in first_line:
                    raise TagsError(path, lineno, '{!r} is listed again '
                                    '(first at line {})'.format(
                                        image, first_line[image]))
                first_line[image] = lineno
                tags = [t for field in row[1:] for t in field.split()]
                rows.append((lineno, image, list(dict.fromkeys(tags))))
        except csv.Error as e:
            raise TagsError(path, reader.line_num, 'not CSV: {}'.format(e))
        except UnicodeDecodeError as e:
            raise TagsError(path, 0, 'not UTF-8 ({})'.format(e))
    if not rows:
        raise TagsError(path, 0, 'no image rows')
    return rows


def scan_tags(root, tags_path, min_count=1):
    """The rows of `tags_path` whose images exist under `root`, with the
    tags kept in the vocabulary. ValueError (TagsError) when root is not a
    folder, the file cannot be read, or none of its images exist."""
    if not os.path.isdir(root):
        raise ValueError('{}: not a folder'.format(root))
    rows = read_tags(tags_path)
    found = TagScan()
    kept = []
    for lineno, image, tags in rows:
        if not _listable(image):
            found.unlistable.append(image)
        elif not os.path.isfile(os.path.join(root, image)):
            found.missing.append((lineno, image))
        else:
            kept.append((image, tags))
    if not kept:
        raise TagsError(tags_path, rows[0][0], 'none of the {} listed images '
                        'is under {} (paths are relative to IMAGE_ROOT; '
                        'first: {!r})'.format(len(rows), root, rows[0][1]))
    listed = {image for _, image, _ in rows}
    images = {path for path, is_image in walk_files(root, root) if is_image}
    found.unlisted = len(images - listed)
    counts = {}
    for _, tags in kept:
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    found.class_names = sorted(t for t, n in counts.items() if n >= min_count)
    found.dropped_tags = sorted(t for t, n in counts.items() if n < min_count)
    if not found.class_names:
        raise TagsError(tags_path, 0, 'no tag is on {} or more of the listed '
                        'images'.format(min_count))
    index = {name: k for k, name in enumerate(found.class_names)}
    for image, tags in kept:
        labels = tuple(sorted(index[t] for t in tags if t in index))
        found.untagged += not labels
        found.pairs.append((image, labels))
    return found


def split(pairs, n_class, val_ratio, seed):
    """(train, val) lists of (path, labels) pairs, seeded: a val_ratio share
    of the images (rounded) in validation, then one image of each label
    that only validation has moved to training."""
    rng = numpy.random.RandomState(seed)
    order = [pairs[j] for j in rng.permutation(len(pairs))]
    k = val_count(len(order), val_ratio)
    val, train = order[:k], order[k:]
    trained = numpy.zeros(n_class, dtype=bool)
    for _, labels in train:
        trained[list(labels)] = True
    for label in range(n_class):
        if trained[label]:
            continue
        for j, (_, labels) in enumerate(val):
            if label in labels:
                moved = val.pop(j)
                train.append(moved)
                trained[list(moved[1])] = True
                break
    return train, val
