"""The `path label` list format shared by labeling, compute_mean, the feeder
and results.

One example per line: a path relative to the image root, whitespace, an
integer label. The label is the LAST field, so paths may contain spaces and
any Unicode; files are UTF-8. Blank lines are skipped.
"""
import os


class ListError(ValueError):
    """A list file that cannot be used; str() is one line naming file:line."""

    def __init__(self, path, lineno, message):
        self.path = path
        self.lineno = lineno
        where = '{}:{}'.format(path, lineno) if lineno else str(path)
        super(ListError, self).__init__('{}: {}'.format(where, message))


def parse_line(line):
    """Split one line into (path, label string); None for a blank line."""
    line = line.rstrip('\r\n')
    if not line.strip():
        return None
    parts = line.rsplit(None, 1)
    if len(parts) != 2:
        return (line.strip(), None)
    return (parts[0].strip(), parts[1])


def read_list(path, n_class=None):
    """Read a list file into [(relative path, int label), ...].

    Raises ListError for a missing or empty file, a line without a label,
    a label that is not a non-negative integer, or one >= n_class (if given).
    """
    if not os.path.isfile(path):
        raise ListError(path, 0, 'list file not found')
    pairs = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            parsed = parse_line(line)
            if parsed is None:
                continue
            image, label = parsed
            if label is None:
                raise ListError(path, lineno,
                                'no label: expected "path label", got {!r}'
                                .format(image))
            try:
                value = int(label)
            except ValueError:
                raise ListError(path, lineno,
                                'label {!r} is not an integer'.format(label))
            if value < 0:
                raise ListError(path, lineno,
                                'label {} is negative'.format(value))
            if n_class is not None and value >= n_class:
                raise ListError(path, lineno,
                                'label {} is outside the {} classes (0-{})'
                                .format(value, n_class, n_class - 1))
            pairs.append((image, value))
    if not pairs:
        raise ListError(path, 0, 'list file is empty')
    return pairs


def write_list(path, pairs):
    """Write [(relative path, label), ...] in the list format."""
    with open(path, 'w', encoding='utf-8') as f:
        for image, label in pairs:
            if '\n' in image or '\r' in image:
                raise ValueError('path contains a line break: {!r}'
                                 .format(image))
            f.write('{} {}\n'.format(image, int(label)))


def labels_path_for(list_path):
    """labels.txt beside a list file (it may not exist)."""
    return os.path.join(os.path.dirname(os.path.abspath(list_path)),
                        'labels.txt')


def read_labels(path):
    """Class names, one per line; line number (from 0) is the label."""
    with open(path, encoding='utf-8') as f:
        names = [line.rstrip('\r\n') for line in f]
    while names and not names[-1]:
        names.pop()
    return names


def write_labels(path, names):
    with open(path, 'w', encoding='utf-8') as f:
        for name in names:
            f.write(name + '\n')
