"""The `path label` list format shared by labeling, compute_mean, the feeder
and results.

One example per line: a path relative to the image root, whitespace, an
integer label. The label is the LAST field, so paths may contain spaces and
any Unicode; files are UTF-8 (a leading byte-order mark is dropped; any
other encoding is a ListError naming the line and the byte). Blank lines
are skipped.

Multi-label lists (train_imagenet.py --multi-label) keep the layout; their
last field is every label of the image joined by commas, without spaces
("photos/beach 1.jpg 0,4,7"), or a single "-" for an image with none of
the labels. One label is written "path 3", as in a single-label list; the
mode is chosen by the reader, never guessed from the lines.
"""
import codecs
import io
import os


class ListError(ValueError):
    """A list file that cannot be used; str() is one line naming file:line."""

    def __init__(self, path, lineno, message):
        self.path = path
        self.lineno = lineno
        where = '{}:{}'.format(path, lineno) if lineno else str(path)
        super(ListError, self).__init__('{}: {}'.format(where, message))


def read_text_lines(path):
    """The lines of a UTF-8 text file (newlines translated as open() does,
    a byte-order mark dropped). Any other encoding is a ListError naming
    the line, the column and the byte that is not UTF-8."""
    with open(path, 'rb') as f:
        data = f.read()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ListError(path, 1, 'the file is UTF-16 text; save it as '
                        'UTF-8')
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode('utf-8')
    except UnicodeDecodeError as e:
        start = bom + e.start
        before = data[:start].replace(b'\r\n', b'\n').replace(b'\r', b'\n')
        column = len(before) - before.rfind(b'\n')
        raise ListError(path, before.count(b'\n') + 1,
                        'byte 0x{:02x} at column {} is not UTF-8 (save the '
                        'file as UTF-8)'.format(data[start], column))
    return io.StringIO(text, newline=None).readlines()


def parse_line(line):
    """Split one line into (path, label string); None for a blank line."""
    line = line.rstrip('\r\n')
    if not line.strip():
        return None
    parts = line.rsplit(None, 1)
    if len(parts) != 2:
        return (line.strip(), None)
    return (parts[0].strip(), parts[1])


def _read_lines(path, n_class, label_of, missing):
    """[(image, labels), ...] of a list file, labels = label_of(field)
    (ValueError: the reason; an int or a sorted tuple); `missing` says
    what a line without labels lacks."""
    if not os.path.isfile(path):
        raise ListError(path, 0, 'list file not found')
    pairs = []
    for lineno, line in enumerate(read_text_lines(path), 1):
        parsed = parse_line(line)
        if parsed is None:
            continue
        image, field = parsed
        if field is None:
            raise ListError(path, lineno, '{}, got {!r}'.format(
                missing, image))
        try:
            labels = label_of(field)
        except ValueError as e:
            raise ListError(path, lineno, str(e))
        top = max(labels, default=-1) if isinstance(labels, tuple) \
            else labels
        if n_class is not None and top >= n_class:
            raise ListError(path, lineno,
                            'label {} is outside the {} classes (0-{})'
                            .format(top, n_class, n_class - 1))
        pairs.append((image, labels))
    if not pairs:
        raise ListError(path, 0, 'list file is empty')
    return pairs


def parse_label(field):
    """The int label of a single-label line; ValueError with the reason."""
    try:
        value = int(field)
    except ValueError:
        raise ValueError('label {!r} is not an integer{}'.format(
            field, MULTI_LABEL_HINT if _looks_multi(field) else ''))
    if value < 0:
        raise ValueError('label {} is negative'.format(value))
    return value


def read_list(path, n_class=None):
    """Read a list file into [(relative path, int label), ...].

    Raises ListError for a missing or empty file, a line without a label,
    a label that is not a non-negative integer, or one >= n_class (if given).
    """
    return _read_lines(path, n_class, parse_label,
                       'no label: expected "path label"')


MULTI_LABEL_HINT = (' (several labels: a multi-label list, read with '
                    '--multi-label)')
LABEL_SEPARATOR = ','
NO_LABELS = '-'


def _looks_multi(field):
    return field == NO_LABELS or LABEL_SEPARATOR in field


def parse_labels(field):
    """The sorted label tuple of a multi-label field ("0,4,7" or "-");
    ValueError with the reason when it is not one."""
    if field == NO_LABELS:
        return ()
    labels = []
    for item in field.split(LABEL_SEPARATOR):
        if not item:
            raise ValueError('empty label in {!r} (labels are joined by '
                             'single commas, "-" for none)'.format(field))
        try:
            value = int(item)
        except ValueError:
            raise ValueError('label {!r} is not an integer'.format(item))
        if value < 0:
            raise ValueError('label {} is negative'.format(value))
        if value in labels:
            raise ValueError('label {} is given twice'.format(value))
        labels.append(value)
    return tuple(sorted(labels))


def format_labels(labels):
    """The last field of a multi-label line."""
    labels = sorted(int(k) for k in labels)
    return LABEL_SEPARATOR.join(map(str, labels)) if labels else NO_LABELS


def read_multi_list(path, n_class=None):
    """Read a multi-label list into [(relative path, (label, ...)), ...],
    labels sorted, () for "-".

    Raises ListError (file:line) for a missing or empty file, a line
    without labels, a label that is not a non-negative integer, one given
    twice, or one >= n_class (if given).
    """
    return _read_lines(path, n_class, parse_labels,
                       'no labels: expected "path l1,l2,..." (or "path -" '
                       'for none)')


def reader(multi_label):
    """The list reader of the mode: read_multi_list or read_list."""
    return read_multi_list if multi_label else read_list


def _write_whole(path, lines):
    """Writes the lines to a temporary file beside `path`, then renames it:
    a list is replaced whole or not at all (a full disk keeps the old)."""
    temporary = '{}.tmp{}'.format(path, os.getpid())
    try:
        with open(temporary, 'w', encoding='utf-8') as f:
            for line in lines:
                f.write(line)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _write_lines(path, pairs, field):
    for image, _ in pairs:
        if '\n' in image or '\r' in image:
            raise ValueError('path contains a line break: {!r}'
                             .format(image))
    _write_whole(path, ('{} {}\n'.format(image, field(labels))
                        for image, labels in pairs))


def write_multi_list(path, pairs):
    """Write [(relative path, labels), ...] in the multi-label format."""
    _write_lines(path, pairs, format_labels)


def write_list(path, pairs):
    """Write [(relative path, label), ...] in the list format."""
    _write_lines(path, pairs, int)


def labels_path_for(list_path):
    """labels.txt beside a list file (it may not exist)."""
    return os.path.join(os.path.dirname(os.path.abspath(list_path)),
                        'labels.txt')


def line_numbers(path):
    """The line number of each pair a list reader returns (blank lines
    skip)."""
    return [n for n, line in enumerate(read_text_lines(path), 1)
            if parse_line(line) is not None]


def read_labels(path):
    """Class names, one per line; line number (from 0) is the label.
    ListError for text that is not UTF-8."""
    names = [line.rstrip('\r\n') for line in read_text_lines(path)]
    while names and not names[-1]:
        names.pop()
    return names


def write_labels(path, names):
    _write_whole(path, (name + '\n' for name in names))
