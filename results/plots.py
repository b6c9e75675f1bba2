"""Pictures of an evaluation: the confusion-matrix heatmap and the
coverage/accuracy curves of the confidence threshold; for multi-label runs,
micro precision, recall and F1 against the threshold."""
import os
import sys

import matplotlib
matplotlib.use('Agg')  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

# Families with Japanese glyphs, in order of preference (Debian packages:
# fonts-noto-cjk, fonts-ipafont-gothic, fonts-ipaexfont-gothic, ...).
CJK_FAMILIES = ('Noto Sans CJK JP', 'Noto Sans JP', 'IPAexGothic',
                'IPAGothic', 'IPAPGothic', 'TakaoGothic', 'VL Gothic',
                'Source Han Sans JP', 'Noto Sans CJK SC', 'WenQuanYi Zen Hei',
                'Droid Sans Fallback')
# File names that suggest CJK glyphs, for fonts installed after
# matplotlib built its font cache.
CJK_FILE_HINTS = ('cjk', 'ipa', 'takao', 'vl-gothic', 'vlgothic', 'wqy',
                  'droidsansfallback', 'sourcehan', 'notosansjp')
INSTALL_HINT = 'install fonts-noto-cjk or fonts-ipafont-gothic'


def _covers(path, chars):
    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(c) in charmap for c in chars)


def _candidate_paths():
    yield font_manager.findfont(font_manager.FontProperties(),
                                fallback_to_default=True)
    known = {entry.name: entry.fname for entry in font_manager.fontManager
             .ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            yield known[family]
    for path in sorted(font_manager.findSystemFonts()):
        name = os.path.basename(path).lower().replace('_', '')
        if any(hint in name for hint in CJK_FILE_HINTS):
            yield path


def font_for(texts):
    """FontProperties of an installed font that has every character of
    `texts` (the default font when it does), or None."""
    chars = set(''.join(texts)) - set(' \t')
    seen = set()
    for path in _candidate_paths():
        if path in seen:
            continue
        seen.add(path)
        if _covers(path, chars):
            return font_manager.FontProperties(fname=path)
    return None


def _class_labels(class_names):
    """(tick labels, font properties, note): the names when a font has
    their glyphs, else the label numbers and a note saying so."""
    prop = font_for(class_names)
    if prop is not None:
        return list(class_names), prop, None
    sample = next((n for n in class_names if not n.isascii()), '')
    print('warning: no installed font has the characters of class names '
          'such as {!r}; the confusion matrix shows label numbers instead '
          '({}; the names are in per_class.csv)'.format(sample, INSTALL_HINT),
          file=sys.stderr)
    note = ('class names shown as label numbers: no font with their '
            'characters ({})'.format(INSTALL_HINT))
    return [str(k) for k in range(len(class_names))], None, note


def confusion_heatmap(path, matrix, class_names, title):
    """Rows = true class, columns = predicted; colour = share of the row
    (red: most of the class lands there, as in the blog's figure)."""
    matrix = numpy.asarray(matrix)
    n = len(class_names)
    rows = matrix.sum(axis=1, keepdims=True)
    share = numpy.divide(matrix, rows, out=numpy.zeros(matrix.shape),
                         where=rows > 0)
    labels, prop, note = _class_labels(class_names)
    side = max(6.0, 0.38 * n + 3.0)
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    image = ax.imshow(share, cmap='jet', vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label='share of the true class')
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=90, fontproperties=prop)
    ax.set_yticklabels(labels, fontproperties=prop)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    ax.set_title(title)
    if n <= 40:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, str(int(matrix[i, j])), ha='center',
                            va='center', fontsize=8,
                            # jet is dark at both ends, light between
                            color='black' if 0.25 < share[i, j] < 0.8
                            else 'white')
    fig.tight_layout(rect=(0, 0.03 if note else 0, 1, 1))
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color='red')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return note is None


def threshold_plot(path, thresholds, coverage, accuracy, point, title):
    """Left: coverage and accuracy against the threshold; right: accuracy
    against coverage; the operating point marked on both."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot(thresholds, coverage, label='coverage (share accepted)')
    left.plot(thresholds, accuracy, label='accuracy of the accepted')
    left.set_xlabel('threshold on the top softmax probability')
    left.set_ylim(0, 1.02)
    left.grid(True, alpha=0.3)
    right.plot(coverage, accuracy, marker='.', markersize=3)
    right.set_xlabel('coverage')
    right.set_ylabel('accuracy')
    right.set_xlim(0, 1.02)
    right.set_ylim(0, 1.02)
    right.grid(True, alpha=0.3)
    if point is not None:
        t, c, a = point
        left.axvline(t, color='gray', linestyle='--',
                     label='threshold {:.2f}'.format(t))
        right.plot([c], [a], 'o', color='red',
                   label='threshold {:.2f}: {:.1%} kept, {:.1%} right'
                   .format(t, c, a))
        right.legend(loc='best', fontsize=8)
    left.legend(loc='best', fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def label_threshold_plot(path, thresholds, precision, recall, f1, title):
    """Micro precision, recall and F1 of a multi-label model against the
    threshold on each label's sigmoid probability."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(thresholds, precision, label='precision (micro)')
    ax.plot(thresholds, recall, label='recall (micro)')
    ax.plot(thresholds, f1, label='F1 (micro)')
    ax.axvline(0.5, color='gray', linestyle='--', label='threshold 0.50')
    ax.set_xlabel('threshold on each label\'s sigmoid probability')
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='best', fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
