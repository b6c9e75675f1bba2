"""The layer table of ``python -m shapes``: rows, cells and notes.

Rows are built from a ``shapes.trace`` trace and its ``shapes.replay``; nothing
here knows an architecture.
"""
import textwrap

import numpy as np

from shapes import replay as rp
from shapes import trace as st

WIDTH = 100
# What a blog layer count means cannot be read from the graph.
BLOG_COUNT_NOTES = {
    'GoogLeNetBN': 'its 22 is the depth the GoogLeNet paper gives for the '
                   'original network: layers with weights along the deepest '
                   'path, an inception module counting 2.',
}


def _within(outer, inner):
    return outer == inner or inner.startswith(outer.rstrip('/') + '/')


def _flatten_step(step):
    return step.kind == st.RESHAPE and not step.is_main


class Row(object):
    """One table row: a main step with its activations, or a whole module."""

    def __init__(self, name, callsite, module=None):
        self.name, self.callsite, self.module = name, callsite, module
        self.steps, self.main = [], None
        self.params = self.madds = 0

    @property
    def mains(self):
        return [s for s in self.steps if s.is_main]

    @property
    def last(self):
        return self.steps[-1]

    def shown_step(self):
        """The step whose F, S, P and arithmetic the row shows."""
        if self.module is None:
            return self.main
        windows = [s for s in self.mains
                   if s.kind == st.CONV or s.kind in st.POOLS]
        for test in (lambda s: s.window()[1][0] > 1,
                     lambda s: s.window()[0][0] > 1, lambda s: True):
            found = [s for s in windows if test(s)]
            if found:
                return found[0]
        return None


def build_rows(trace, result, expand=False):
    """Group the traced steps into rows (modules with branches fold)."""
    steps = [s for s in trace.steps if not s.is_scalar]
    modules = set() if expand else st.modules(trace)
    owners = {id(s.link) for s in steps if s.is_main and s.link is not None}
    uses = {}
    for step in trace.steps:
        for src in step.sources:
            uses[src] = uses.get(src, 0) + 1
    rows, pending = [], []
    for step in steps:
        module = step.scope[1] if len(step.scope) > 1 and \
            step.scope[1] in modules else None
        if module is not None:
            if not rows or rows[-1].module != module:
                rows.append(Row(module.lstrip('/'), step.scope[0], module))
            row = rows[-1]
        elif step.is_main:
            row = Row(step.name, step.callsite)
            row.main = step
            rows.append(row)
        elif (step.link is not None and id(step.link) in owners) or \
                pending or not rows or rows[-1].module is not None or \
                not _within(step.callsite, rows[-1].callsite) or \
                step.sources[:1] != [rows[-1].last.index] or \
                uses[rows[-1].last.index] > 1:
            pending.append(step)  # runs before the next main step
            continue
        else:
            row = rows[-1]
        row.steps += pending + [step]
        pending = []
    rows[-1].steps += pending
    seen = set()
    for row in rows:
        for step in row.steps:
            for param in step.weights:
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    row.params += param.size
            shape = result.shapes[step.index]
            if step.kind == st.CONV:
                row.madds += int(np.prod(shape[1:])) * int(
                    np.prod(step.link.W.shape[1:]))
            elif step.kind == st.LINEAR:
                row.madds += step.link.W.size
    return rows


def _repeat(ops):
    for k in range(1, len(ops) + 1):
        if len(ops) % k == 0 and ops == ops[:k] * (len(ops) // k):
            return len(ops) // k, ops[:k]


def operation(row):
    if row.module is None:
        return '+'.join(s.op for s in row.steps if not _flatten_step(s))
    mains = row.mains
    count, unit = _repeat([s.op for s in mains])
    if count > 1:
        return '{} x {}'.format(count, '+'.join(unit))
    if mains[-1].kind == st.CONCAT:
        return '{} branches'.format(len(mains[-1].sources))
    return '{} layers'.format(len(mains))


def arithmetic(row, result, trace):
    """The formula with numbers filled in, and the marks * and +."""
    step = row.shown_step()
    if step is not None and step.index in result.arith:
        windows = [result.arith[s.index] for s in row.mains
                   if s.index in result.arith]
        marks = ''.join(m for m, hit in (
            ('*', any(a.dropped for a in windows)),
            ('+', any(a.partial for a in windows))) if hit)
        return result.arith[step.index].text() + (' ' + marks if marks
                                                  else '')
    main = row.main
    ins = rp.ins_of(main, result.shapes, trace.insize)
    out = result.shapes[main.index]
    if main.kind == st.LINEAR:
        flat = [s for s in row.steps if _flatten_step(s)]
        size = ins[0][1]
        if flat:
            size = '{} = {}'.format(st.shape_text(rp.ins_of(
                flat[0], result.shapes, trace.insize)[0]), size)
        return '{} -> {}'.format(size, out[1])
    if main.kind == st.CONCAT:
        return '{} = {} channels'.format(
            ' + '.join(str(s[1]) for s in ins), out[1])
    return '{} -> {}'.format(st.shape_text(ins[0]), st.shape_text(out))


def _fsp(row):
    step = row.shown_step()
    if step is None or not (step.kind == st.CONV or step.kind in st.POOLS):
        return '', '', ''
    kernel, stride, pad, _ = step.window()
    return str(kernel[0]), str(stride[0]), str(pad[0])


def human(n):
    if n == 0:
        return '-'
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if n >= scale:
            return '{:.3g}{}'.format(n / scale, unit)
    return str(n)


def _source_row(rows):
    """Row index producing each row's input (-1: the image)."""
    row_of = {s.index: i for i, r in enumerate(rows) for s in r.steps}
    found = []
    for i, row in enumerate(rows):
        outside = [src for s in row.steps for src in s.sources
                   if row_of.get(src) != i]
        found.append(row_of.get(outside[0], -1) if outside else -1)
    return found


def main_head_row(rows, trace):
    """Index of the row whose output the model's accuracy is computed
    from (the main classifier); the last row if none reports one."""
    row_of = {s.index: i for i, r in enumerate(rows) for s in r.steps}
    scored = [row_of[src] for step in trace.steps if step.kind == 'Accuracy'
              for src in step.sources[:1] if src in row_of]
    return scored[0] if scored else len(rows) - 1


def side_notes(rows, trace):
    """Notes after rows that end a side classifier (e.g. auxiliary heads)."""
    row_of = {s.index: i for i, r in enumerate(rows) for s in r.steps}
    feeds = [set() for _ in rows]  # rows that read row i's output
    to_loss = set()
    for step in trace.steps:
        for src in step.sources:
            if src not in row_of:
                continue
            if step.is_scalar:
                to_loss.add(row_of[src])
            elif row_of[step.index] != row_of[src]:
                feeds[row_of[src]].add(row_of[step.index])
    main_head = main_head_row(rows, trace)
    source = _source_row(rows)
    notes = {}
    for i, row in enumerate(rows):
        if feeds[i] or i not in to_loss or i == main_head:
            continue
        start = i
        while source[start] >= 0 and len(feeds[source[start]]) == 1:
            start = source[start]
        base = rows[source[start]].name if source[start] >= 0 else 'input'
        notes[i] = '{}..{}: a side classifier on the output of {}, with ' \
            'its own loss'.format(rows[start].name, row.name, base)
        if i + 1 < len(rows):
            after = rows[source[i + 1]].name if source[i + 1] >= 0 \
                else 'input'
            notes[i] += '; {} continues from {}'.format(rows[i + 1].name,
                                                        after)
    return notes


def table(trace, result, rows):
    """Rows of cells: header, the image, one per row, total; and notes."""
    header = ['layer', 'operation', 'F', 'S', 'P',
              'width (N + 2P - F)/S + 1', 'output', 'params', 'MACs']
    image = (1, st.CHANNELS, trace.insize, trace.insize)
    cells = [['input', '', '', '', '', '', st.shape_text(image), '', '']]
    for row in rows:
        cells.append([row.name, operation(row)] + list(_fsp(row)) + [
            arithmetic(row, result, trace),
            st.shape_text(result.shapes[row.last.index]),
            '{:,}'.format(row.params) if row.params else '-',
            human(row.madds)])
    cells.append(['total', '', '', '', '', '', '',
                  '{:,}'.format(sum(r.params for r in rows)),
                  human(sum(r.madds for r in rows))])
    return header, cells


def render(header, cells, notes, markdown=False):
    if markdown:
        lines = ['| ' + ' | '.join(header) + ' |',
                 '|' + '|'.join('---:' if i in (2, 3, 4, 6, 7, 8) else '---'
                                for i in range(len(header))) + '|']
        for i, row in enumerate(cells):
            row = ['`{}`'.format(c) if j == 5 and c else c
                   for j, c in enumerate(row)]
            lines.append('| ' + ' | '.join(row) + ' |')
            if i - 1 in notes:
                lines.append('| | *{}* |'.format(notes[i - 1]) +
                             ' |' * (len(header) - 2))
        return lines
    right = {2, 3, 4, 6, 7, 8}
    widths = [max([len(r[j]) for r in [header] + cells] + [2 * (j in right)])
              for j in range(len(header))]
    gaps = [0, 2, 2, 1, 1, 2, 2, 2, 2]

    def line(row):
        out = ''
        for j, cell in enumerate(row):
            fill = cell.rjust(widths[j]) if j in right else \
                cell.ljust(widths[j])
            out += ' ' * gaps[j] + fill
        return out.rstrip()

    rule = line(['-' * w for w in widths])
    lines = [line(header), rule]
    for i, row in enumerate(cells):
        if row[0] == 'total':
            lines.append(rule)
        lines.append(line(row))
        if i - 1 in notes:
            lines += textwrap.wrap(notes[i - 1], WIDTH - 2,
                                   initial_indent='  ^ ',
                                   subsequent_indent='    ')
    return lines


def legend(trace, result):
    """What N, F, S, P mean and how each operation here rounds."""
    down, up = [], []
    for step in trace.steps:
        if step.index in result.arith:
            name = step.op
            if any(s.op == name and s.index in result.arith and
                   s.window()[3] != step.window()[3] for s in trace.steps):
                name += ' (cover_all={})'.format(step.window()[3])
            group = up if step.window()[3] else down
            if name not in group:
                group.append(name)
    marks = list(result.arith.values())
    dropped = ' (*)' if any(a.dropped for a in marks) else ''
    partial = ' (+)' if any(a.partial for a in marks) else ''
    lines = ['Output width: N = input width, F = filter size, S = stride, '
             'P = padding on each side']
    if down:
        lines.append('  {}: (N + 2P - F)/S + 1, rounded down: leftover edge '
                     'pixels are dropped{}'.format(', '.join(down), dropped))
    if up:
        lines.append('  {}: ceil((N + 2P - F)/S) + 1: Chainer\'s '
                     'cover_all=True keeps a partial last window{}'.format(
                         ', '.join(up), partial))
    if any(s.kind == st.LINEAR for s in trace.steps):
        lines.append('  fc: fully connected; a C x H x W input is first '
                     'flattened to C*H*W numbers')
    kept = []
    for step in trace.steps:
        if step.kind in st.SAME_SHAPE and step.op not in kept:
            kept.append(step.op)
    if kept:
        lines.append('{} keep the shape; a row lists them in the order they '
                     'run'.format(', '.join(
                         '{} ({})'.format(k, st.LONG_NAMES[k])
                         if k in st.LONG_NAMES else k for k in kept)))
    lines.append('params: weights of the row\'s layers; MACs: multiply-adds '
                 'of its conv and fc for one image')
    return lines


def wrap(lines, indent='      '):
    """Plain text: wrap long lines, continuing indented."""
    return [w for line in lines for w in textwrap.wrap(
        line, WIDTH - 2, subsequent_indent=indent)]


def _depth(trace, target):
    """Weight layers on the longest path from the image to ``target``."""
    depth = {}
    for step in trace.steps:
        before = max([depth.get(s, 0) for s in step.sources] or [0])
        depth[step.index] = before + (step.kind in (st.CONV, st.LINEAR))
    return depth[target.index]


def count_notes(trace, rows, notes):
    """The blog's layer count next to the weight layers counted here."""
    model = trace.model
    weights = [s for s in trace.steps if s.kind in (st.CONV, st.LINEAR)]
    convs = sum(s.kind == st.CONV for s in weights)
    blog = model.n_layers
    parts = ['{} {}'.format(n, kind) for n, kind in (
        (convs, 'conv'), (len(weights) - convs, 'fc')) if n]
    lines = ['Weight layers counted here: {} ({}); the blog\'s table says {} '
             '(model.n_layers).'.format(len(weights), ' + '.join(parts), blog)]
    if blog == len(weights):
        return lines
    concats = {}
    for s in trace.steps:
        if s.kind == st.CONCAT and len(s.scope) > 1:
            concats[s.scope[1]] = concats.get(s.scope[1], 0) + 1
    repeated = {m for m, n in concats.items() if n > 1}
    inside = [s for s in weights if s.scope[1:2] and s.scope[1] in repeated]
    deepest = _depth(trace, rows[main_head_row(rows, trace)].last)
    if repeated and len(inside) == blog:
        other = [s.name for s in weights if s not in inside]
        links = dict(model.namedlinks())
        kinds = sorted({type(links[m]).__name__ for m in repeated})
        why = ('The blog\'s {} counts only the convolutions inside the {} {} '
               'modules ({} x {}); {} are not in it.'.format(
                   blog, len(repeated), '/'.join(kinds), len(repeated),
                   blog // len(repeated), ', '.join(other)))
    elif deepest == blog:
        why = ('The blog\'s {} is the depth: weight layers on the longest '
               'path from image to output.'.format(blog))
    else:
        why = 'The blog\'s table differs: {} Here the deepest path has {} ' \
            'weight layers.'.format(BLOG_COUNT_NOTES.get(
                type(model).__name__, 'it counts another way.'), deepest)
    return lines + [why]


def module_notes(rows):
    """One line per kind of folded module: what a row like 'inc3a' holds."""
    groups = {}
    for row in rows:
        if row.module is not None:
            inner = [s for s in row.steps if s.scope[1:2] == (row.module,)]
            key = 'branches' if operation(row).endswith('branches') \
                else tuple(s.op for s in inner)
            groups.setdefault(key, []).append((row, inner))
    lines = []
    for key, group in groups.items():
        names = [row.name for row, _ in group]
        names = names[0] + '..' + names[-1] if len(names) > 2 \
            else ', '.join(names)
        if key == 'branches':
            text = ('{}: parallel branches, their outputs concatenated on the '
                    'channel axis; F, S, P and the width shown are those of '
                    'the first strided (else first larger than 1x1) layer.'
                    .format(names))
        else:
            inner = group[0][1]
            count, unit = _repeat(list(key))
            added = inner[-1].observed[1] - inner[0].in_shapes[0][1]
            text = '{}: {} repeats of {}, each adding {} channels.'.format(
                names, count, '+'.join(unit), added // count)
        lines.append(text + ' --expand shows every layer.')
    return lines
