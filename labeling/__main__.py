"""python -m labeling IMAGE_ROOT --out DIR: train/val/labels lists from a
folder-per-class tree.

Writes DIR/train.txt and DIR/val.txt (`path label`, paths relative to
IMAGE_ROOT) and DIR/labels.txt (class names, line number = label). The
split is stratified per class and seeded. --check decodes every image and
leaves the undecodable ones out (listed in DIR/broken.txt);
--find-duplicates reports near-identical images in different classes
(DIR/duplicates.txt) without changing the lists.

With --tags FILE the images may lie anywhere under IMAGE_ROOT and FILE
gives each its tags ("relative/path,tag1 tag2 ..."): the lists are then
multi-label ("path l1,l2,..."; "path -" for an image with none of the
labels, for train_imagenet.py --multi-label) and labels.txt is the tag
vocabulary (see labeling/tags.py).
"""
import argparse
import functools
import os
import sys

from imagedata import listfile
from imagedata.parallel import map_chunks
from imagedata import reader
from imagedata.reader import MAX_PIXELS, ImageReadError, load_rgb
from labeling import duplicates, tags
from labeling.scan import scan_tree, stratified_split
from trainer.errors import WrittenInOrder, storage_failures

BROKEN_FILE = 'broken.txt'
DUPLICATES_FILE = 'duplicates.txt'
MAX_PRINTED = 20  # the rest are in the file


def inspect_chunk(root, want_hash, max_pixels, paths):
    """[(error message or None, average hash or None)] for each path."""
    results = []
    for path in paths:
        # A tiny draft is enough for the hash and still decodes the file.
        draft = (lambda w, h: (duplicates.HASH_SIDE, duplicates.HASH_SIDE)) \
            if want_hash else None
        try:
            img = load_rgb(os.path.join(root, path), draft_for=draft,
                           max_pixels=max_pixels)
        except ImageReadError as e:
            results.append((e.reason, None))
            continue
        results.append((None, duplicates.average_hash(img)
                        if want_hash else None))
    return results


def inspect(root, paths, want_hash, jobs, max_pixels=MAX_PIXELS):
    function = functools.partial(inspect_chunk, root, want_hash, max_pixels)
    results = []
    label = 'check' if not want_hash else 'hash'
    for part in map_chunks(function, paths, jobs, label):
        results.extend(part)
    return results


def write_rows(path, rows):
    """Tab-separated rows (broken.txt, duplicates.txt)."""
    with open(path, 'w', encoding='utf-8') as f:
        for row in rows:
            f.write('\t'.join(map(str, row)) + '\n')


def print_table(class_names, train, val, min_per_class, out=None):
    out = out or sys.stdout
    n = len(class_names)
    n_train = [0] * n
    n_val = [0] * n
    for _, label in train:
        n_train[label] += 1
    for _, label in val:
        n_val[label] += 1
    width = max([len('class')] + [len(name) for name in class_names])
    row = '{:>5}  {:<' + str(width) + '}  {:>7}  {:>7}'
    print(row.format('label', 'class', 'train', 'val'), file=out)
    for label, name in enumerate(class_names):
        print(row.format(label, name, n_train[label], n_val[label]),
              file=out)
    print(row.format('', 'total', sum(n_train), sum(n_val)), file=out)
    for label, name in enumerate(class_names):
        total = n_train[label] + n_val[label]
        if total < min_per_class:
            print('warning: class {!r} has only {} image(s) (fewer than '
                  '{})'.format(name, total, min_per_class), file=sys.stderr)


def report_scan(found, root):
    if found.ignored_files:
        print('ignored {} hidden or non-image file(s)'
              .format(found.ignored_files), file=sys.stderr)
    if found.loose_files:
        print('ignored {} file(s) directly in {} (not in a class folder)'
              .format(len(found.loose_files), root), file=sys.stderr)
    for name in found.empty_classes:
        print('warning: folder {!r} has no images; not a class'.format(name),
              file=sys.stderr)
    for path in found.unlistable:
        print('warning: skipped {!r}: a path that starts or ends with '
              'whitespace or holds a line break cannot be listed; rename '
              'it'.format(path), file=sys.stderr)
    for name, target in found.linked_classes:
        print('warning: skipped {!r}: a link to the folder {} (links to '
              'folders are not followed: they may lead out of {} or back '
              'into it); move or copy the folder in instead'.format(
                  name, target, root), file=sys.stderr)
    if found.linked_folders:
        print('warning: {} link(s) to folders inside the classes are not '
              'followed, e.g. {!r}'.format(len(found.linked_folders),
                                           found.linked_folders[0]),
              file=sys.stderr)
    for path in found.dangling:
        print('warning: broken {!r}: a link to a file that does not exist; '
              'left out'.format(path), file=sys.stderr)


def report_tags(found, args):
    """What --tags left out, and why."""
    if found.missing:
        lineno, image = found.missing[0]
        print('warning: {}:{}: {} not found; {} listed image(s) are missing '
              'and left out'.format(args.tags, lineno,
                                    os.path.join(args.root, image),
                                    len(found.missing)), file=sys.stderr)
    for path in found.unlistable:
        print('warning: skipped {!r}: a path that starts or ends with '
              'whitespace or holds a line break cannot be listed; rename '
              'it'.format(path), file=sys.stderr)
    if found.unlisted:
        print('{} image(s) under {} have no row in {}; not listed'.format(
            found.unlisted, args.root, args.tags), file=sys.stderr)
    if found.dropped_tags:
        print('dropped {} tag(s) on fewer than {} image(s): {}'.format(
            len(found.dropped_tags), args.min_tag_count,
            ' '.join(found.dropped_tags[:MAX_PRINTED]) +
            (' ...' if len(found.dropped_tags) > MAX_PRINTED else '')),
            file=sys.stderr)
    if found.untagged:
        print('{} image(s) have none of the {} tags (listed with "-")'.format(
            found.untagged, len(found.class_names)), file=sys.stderr)


def print_tag_table(found, train, val, min_per_tag, out=None):
    """Images per tag in each list; a warning for rare tags."""
    out = out or sys.stdout
    n_train, n_val = found.counts(train), found.counts(val)
    width = max([len('tag')] + [len(name) for name in found.class_names])
    row = '{:>5}  {:<' + str(width) + '}  {:>7}  {:>7}'
    print(row.format('label', 'tag', 'train', 'val'), file=out)
    for label, name in enumerate(found.class_names):
        print(row.format(label, name, n_train[label], n_val[label]),
              file=out)
    print(row.format('', 'images', len(train), len(val)), file=out)
    for label, name in enumerate(found.class_names):
        total = n_train[label] + n_val[label]
        if total < min_per_tag:
            print('warning: tag {!r} is on only {} image(s) (fewer than '
                  '{})'.format(name, total, min_per_tag), file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m labeling', description=__doc__.split('\n\n')[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', metavar='IMAGE_ROOT',
                        help='folder with one sub-folder per class (with '
                             '--tags: the folder the tagged paths are '
                             'relative to)')
    parser.add_argument('--tags', default=None, metavar='FILE',
                        help='CSV of "relative/path,tag1 tag2 ..." rows: '
                             'write multi-label lists, labels.txt = the '
                             'tags')
    parser.add_argument('--min-tag-count', type=int, default=1,
                        metavar='N',
                        help='with --tags: keep the tags of at least N '
                             'listed images (default %(default)s)')
    parser.add_argument('--out', required=True, metavar='DIR',
                        help='where to write the lists')
    parser.add_argument('--val-ratio', type=float, default=0.1,
                        help='share of each class for validation '
                             '(default %(default)s)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the split (default %(default)s)')
    parser.add_argument('--check', action='store_true',
                        help='decode every image; leave out (and list) the '
                             'ones that fail')
    parser.add_argument('--find-duplicates', action='store_true',
                        help='report near-identical images in different '
                             'classes (average hash); lists unchanged')
    parser.add_argument('--hash-distance', type=int,
                        default=duplicates.DEFAULT_DISTANCE,
                        help='max differing hash bits for --find-duplicates'
                             ' (default %(default)s of 64)')
    parser.add_argument('--min-per-class', type=int, default=10,
                        help='warn about classes smaller than this '
                             '(default %(default)s)')
    parser.add_argument('--loaderjob', '-j', type=int,
                        default=os.cpu_count() or 1,
                        help='worker processes for --check and '
                             '--find-duplicates (default: all cores)')
    reader.add_argument(parser)  # --max-pixels, for --check
    args = parser.parse_args(argv)
    reader.check_max_pixels(parser, args)
    if not 0 <= args.val_ratio < 1:
        parser.error('--val-ratio must be in [0, 1)')
    if not 0 <= args.hash_distance < 64:
        parser.error('--hash-distance must be in [0, 63]')
    if args.tags and args.find_duplicates:
        parser.error('--find-duplicates compares classes; it does not '
                     'apply with --tags')
    if args.min_tag_count < 1:
        parser.error('--min-tag-count must be at least 1')

    try:
        return make_lists(args)
    except ValueError as e:  # TagsError, StorageError: one line each
        print('error: {}'.format(e), file=sys.stderr)
        return 2


def make_lists(args):
    """main() after the options: the exit status."""
    found = tags.scan_tags(args.root, args.tags, args.min_tag_count) \
        if args.tags else scan_tree(args.root)
    if args.tags:
        report_tags(found, args)
    else:
        report_scan(found, args.root)
    if not found.pairs:
        print('error: {}: no class folders with images'.format(args.root),
              file=sys.stderr)
        return 2
    pairs = found.pairs
    with storage_failures(args.out, 'nothing was written'):
        os.makedirs(args.out, exist_ok=True)
    write = WrittenInOrder()

    hashes = None
    if args.check or args.find_duplicates:
        results = inspect(args.root, [p for p, _ in pairs],
                          args.find_duplicates, args.loaderjob,
                          args.max_pixels)
        broken = [(pair[0], error) for pair, (error, _) in
                  zip(pairs, results) if error is not None]
        if args.find_duplicates:
            hashes = [h for _, h in results]
        if broken:
            print('{} image(s) cannot be decoded{}:'.format(
                len(broken), ', left out of the lists' if args.check else
                ' (use --check to leave them out)'), file=sys.stderr)
            for path, error in broken:
                print('  {}: {}'.format(path, error), file=sys.stderr)
        if args.check:
            write(os.path.join(args.out, BROKEN_FILE),
                  lambda path: write_rows(path, broken))
            bad = {path for path, _ in broken}
            pairs = [pair for pair in pairs if pair[0] not in bad]

    if args.find_duplicates:
        dups = duplicates.cross_class_duplicates(found.pairs, hashes,
                                                 args.hash_distance)
        write(os.path.join(args.out, DUPLICATES_FILE),
              lambda path: write_rows(path, dups))
        print('{} near-identical pair(s) in different classes (hash '
              'distance <= {}), all in {}'.format(
                  len(dups), args.hash_distance,
                  os.path.join(args.out, DUPLICATES_FILE)), file=sys.stderr)
        for a, b, d in dups[:MAX_PRINTED]:
            print('  {}  <->  {}  (distance {})'.format(a, b, d),
                  file=sys.stderr)
        if len(dups) > MAX_PRINTED:
            print('  ... and {} more'.format(len(dups) - MAX_PRINTED),
                  file=sys.stderr)

    split = tags.split if args.tags else stratified_split
    train, val = split(pairs, len(found.class_names), args.val_ratio,
                       args.seed)
    write_pairs = listfile.write_multi_list if args.tags else \
        listfile.write_list
    write(os.path.join(args.out, 'train.txt'),
          lambda path: write_pairs(path, train))
    write(os.path.join(args.out, 'val.txt'),
          lambda path: write_pairs(path, val))
    write(os.path.join(args.out, 'labels.txt'),
          lambda path: listfile.write_labels(path, found.class_names))
    if args.tags:
        print_tag_table(found, train, val, args.min_per_class)
    else:
        print_table(found.class_names, train, val, args.min_per_class)
    print('wrote {}, {} and {}'.format(
        *(os.path.join(args.out, name)
          for name in ('train.txt', 'val.txt', 'labels.txt'))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
