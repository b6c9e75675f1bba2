"""python -m shapes.doc [FILE]: write docs/shapes.md (``make docs``).

The layer tables of the four blog networks at their input sizes, the
smallest input each takes and the AlexNet walk-through, all generated from
the models by ``shapes.cli``.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import os

import models
from shapes import cli
from shapes import replay as rp
from shapes import table as tbl
from shapes import trace as st

BLOG_ARCHS = models.BLOG_ARCHS
N_CLASS = models.N_CLASS


def trace_arch(arch, size=None):
    """Build ``arch`` for ``size`` with the blog's 34 classes and trace
    it."""
    model = models.get_model(arch, N_CLASS, insize=size or
                             models.ARCHS[arch].insize)
    return st.trace(model, model.insize)


def _survey_range(insize):
    return max(1, insize * 3 // 4), insize * 5 // 4


def _window_sentence(row, arith, shape):
    step = row.main
    kernel, stride, pad, cover_all = step.window()
    size = '{} x {}'.format(kernel[0], kernel[1])
    pad_text = ('without padding' if pad[0] == 0 else
                'with {} pixel{} of padding on each side (P = {})'.format(
                    pad[0], 's' * (pad[0] > 1), pad[0]))
    if step.kind == st.CONV:
        what = 'slides {} filters of {} over it'.format(shape[1], size)
    else:
        what = 'keeps the {} of each {} window'.format(
            'maximum' if step.op.startswith('max') else 'average', size)
    move = ('one pixel at a time' if stride[0] == 1 else
            '{} pixels at a time (S = {})'.format(stride[0], stride[0]))
    text = '**{}** {}, {}, {}: `{}`'.format(
        row.name, what, move, pad_text, arith.text())
    if cover_all:
        text += (' (Chainer rounds up; exact here, so it does not matter)'
                 if not arith.partial else ' (rounded up: the last window '
                 'hangs over the edge)')
    elif arith.dropped:
        text += ' (rounded down: {} edge pixels are never used)'.format(
            arith.dropped)
    if arith.out == arith.n:
        text += ', the padding keeps the width'
    return text + ', so {}.'.format(st.shape_text(shape).replace('x', ' x '))


def walkthrough(trace, arch):
    """The AlexNet walk-through, every number computed from the model."""
    result = rp.check(trace)
    rows = tbl.build_rows(trace, result)
    widths = [trace.insize]
    lines = ['A {} x {} x {} image is {} pixels wide. For each layer, '
             '(N + 2P - F)/S + 1 gives the new width from the width N it '
             'receives, the filter or window size F, the stride S and the '
             'padding P.'.format(st.CHANNELS, trace.insize, trace.insize,
                                 trace.insize), '']
    fcs = []
    for row in rows:
        shape = result.shapes[row.last.index]
        if row.main is not None and row.main.index in result.arith:
            arith = result.arith[row.main.index]
            widths.append(arith.out)
            lines.append('- ' + _window_sentence(row, arith, shape))
        elif row.main is not None and row.main.kind == st.LINEAR:
            fcs.append((row, shape))
    first, shape = fcs[0]
    flat = [s for s in first.steps if not s.is_main]
    block = rp.ins_of(flat[0], result.shapes, trace.insize)[0]
    n_in = first.main.link.W.shape[1]
    widths.append(n_in)
    lines.append('- **{}** flattens the {} block into {} = {} numbers: the {} '
                 'written in `L.Linear({}, {})`, and gives {}.'.format(
                     first.name, st.shape_text(block).replace('x', ' x '),
                     ' * '.join(str(d) for d in block[1:]), n_in, n_in, n_in,
                     shape[1], shape[1]))
    if len(fcs) > 1:
        lines.append('- {} then go {} -> {}: one score per class.'.format(
            ', '.join('**{}**'.format(r.name) for r, _ in fcs[1:]),
            shape[1], ' -> '.join(str(s[1]) for _, s in fcs[1:])))
    lines += ['', 'So the width goes {}: {} sees {} inputs.'.format(
        ' -> '.join(str(w) for w in widths), first.name, n_in), '']
    lo, hi = _survey_range(trace.insize)
    found = cli.survey(trace.model, trace, lo, hi)
    clean = [n for n, good, _, drops in found if good and not drops]
    dropping = {}
    for _, _, _, drops in found:
        for name, px in drops.items():
            dropping[name] = max(dropping.get(name, 0), px)
    smallest, below = smallest_size(trace)
    lines.append(
        '{0}\'s {1} is not a constant of the architecture: `{2}(insize=N)` '
        'builds {0} for what the layers before it leave of an N x N image, '
        'so a model (and its trained weights) belongs to one input size. '
        'Every size from {3} up works; at {4} the forward pass fails: "{5}". '
        'Between {6} and {7} only {8} are clean: at the others, {9} leaves '
        'up to {10} edge pixels unused because its windows do not fit '
        'exactly.'.format(
            first.name, n_in, type(trace.model).__name__, smallest,
            smallest - 1, below, lo, hi, cli.ranges(clean),
            ' and '.join(dropping),
            max(dropping.values()) if dropping else 0))
    return lines


def smallest_size(trace):
    """(the smallest size the architecture takes, why the one below
    fails), by the size arithmetic of ``trace``."""
    found = cli.survey(trace.model, trace, 1, trace.insize)
    first = next(k for k, (_, good, _, _) in enumerate(found) if good)
    return found[first][0], found[first - 1][2] if first else ''


def smallest_sizes_table(traces):
    """Markdown: each network's input, its smallest one, and what its
    classifier reads at both."""
    lines = ['| network | built for | smallest input | classifier at the '
             'smallest | multiply-adds per image |',
             '|---|---|---|---|---|']
    for arch, trace in traces.items():
        size, _ = smallest_size(trace)
        small = trace_arch(arch, size)
        costs = []
        for t in (trace, small):
            result = rp.check(t)
            costs.append(sum(r.madds for r in tbl.build_rows(t, result)))
        fcs = [s for s in small.steps if s.kind == st.LINEAR]
        if fcs:
            reads = '{} takes {}'.format(fcs[0].name, fcs[0].link.W.shape[1])
        else:
            pool = [s for s in small.steps if s.kind in st.POOLS][-1]
            reads = '{} averages {}'.format(
                pool.name, st.shape_text(pool.in_shapes[0]))
        lines.append('| {} | {} | {} | {} | {} at {}, {} at {} |'.format(
            arch, trace.insize, size, reads, tbl.human(costs[0]),
            trace.insize, tbl.human(costs[1]), size))
    return lines


def render():
    """docs/shapes.md as a string."""
    traces = {arch: trace_arch(arch) for arch in BLOG_ARCHS}
    out = ['# Layer shapes of the four blog networks', '',
           '<!-- Generated by `make docs` (python -m shapes.doc '
           'docs/shapes.md) from the model classes; do not edit. -->', '',
           'Every number here is computed from the layer objects of '
           '`models/` and checked against a real forward pass of '
           '`model(x, t)`; `python -m shapes --arch ARCH` prints the '
           'same tables in a terminal (`--expand` opens the modules, '
           '`--insize N` tries another input size, `--valid-sizes` lists the '
           'sizes an architecture accepts).', '']
    alex = traces['alex']
    out += ['## AlexNet step by step: where fc6\'s 9216 comes from', '']
    out += walkthrough(alex, 'alex') + ['']
    out += ['## Smaller inputs', '',
            'Each model takes `insize` (`--insize` of `train_imagenet.py` '
            'and of the shape tool) and builds its size-dependent layers for '
            'it; the blog\'s sizes are the defaults. The smallest input '
            'each network takes, from the same arithmetic:', '']
    out += smallest_sizes_table(traces) + ['']
    for arch in BLOG_ARCHS:
        trace = traces[arch]
        lo, hi = _survey_range(trace.insize)
        found = cli.survey(trace.model, trace, lo, hi)
        out += ['## {}'.format(arch), '']
        out += cli.report_lines(trace, arch, markdown=True) + ['']
        out += ['Input sizes accepted between {} and {}: {}; clean: {}.'
                .format(lo, hi,
                        cli.ranges([n for n, ok, _, _ in found if ok]),
                        cli.ranges([n for n, ok, _, drops in found
                                    if ok and not drops])), '']
    return '\n'.join(out).rstrip('\n') + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m shapes.doc',
        description='Write the layer-shape tables of the four blog networks '
                    'and the AlexNet walk-through as Markdown.')
    parser.add_argument('out', nargs='?', default=os.path.join(
        'docs', 'shapes.md'), help='output file (default: docs/shapes.md)')
    args = parser.parse_args(argv)
    text = render()
    directory = os.path.dirname(args.out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(text)
    print('wrote ' + args.out)


if __name__ == '__main__':
    main()
