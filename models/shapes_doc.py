"""python -m models.shapes_doc [FILE]: write docs/shapes.md (``make docs``).

The layer tables of the four blog networks at their input sizes and the
AlexNet walk-through, all generated from the models by ``models.shapes``.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import os

import models
from models import shape_table as tbl
from models import shape_trace as st
from models import shapes

BLOG_ARCHS = ('alex', 'nin', 'googlenet', 'densenet')
N_CLASS = 34


def trace_arch(arch, size=None):
    """Build ``arch`` with the blog's 34 classes and trace it."""
    model = models.get_model(arch, N_CLASS)
    return st.trace(model, size or model.insize)


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
    """The AlexNet walk-through of seed 001, with every number computed."""
    result = st.check(trace)
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
    block = st.ins_of(flat[0], result.shapes, trace.insize)[0]
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
    found = shapes.survey(trace.model, trace, lo, hi)
    ok = [n for n, good, _, _ in found if good]
    clean = [n for n, good, _, drops in found if good and not drops]
    dropping = {}
    for _, _, _, drops in found:
        for name, px in drops.items():
            dropping[name] = max(dropping.get(name, 0), px)
    above = [(n, note) for n, good, note, _ in found
             if not good and n > trace.insize][:1] or [('', '')]
    lines.append(
        'Other input sizes work only while {} still receives {} numbers. '
        'Between {} and {}, `python -m models.shapes --arch {} --valid-sizes` '
        'finds {}; of these only {} are clean: at the others, {} leaves up '
        'to {} edge pixels unused because its windows do not fit exactly. '
        'At {} the forward pass fails: "{}".'.format(
            first.name, n_in, lo, hi, arch, shapes.ranges(ok),
            shapes.ranges(clean), ' and '.join(dropping),
            max(dropping.values()) if dropping else 0, *above[0]))
    return lines


def render(trace_fn=trace_arch):
    """docs/shapes.md as a string; ``trace_fn(arch)`` gives each trace."""
    traces = {arch: trace_fn(arch) for arch in BLOG_ARCHS}
    out = ['# Layer shapes of the four blog networks', '',
           '<!-- Generated by `make docs` (python -m models.shapes_doc '
           'docs/shapes.md) from the model classes; do not edit. -->', '',
           'Every number here is computed from the layer objects of '
           '`models/` and checked against a real forward pass of '
           '`model(x, t)`; `python -m models.shapes --arch ARCH` prints the '
           'same tables in a terminal (`--expand` opens the modules, '
           '`--insize N` tries another input size, `--valid-sizes` lists the '
           'sizes an architecture accepts).', '']
    alex = traces['alex']
    out += ['## AlexNet step by step: where fc6\'s 9216 comes from', '']
    out += walkthrough(alex, 'alex') + ['']
    for arch in BLOG_ARCHS:
        trace = traces[arch]
        lo, hi = _survey_range(trace.insize)
        found = shapes.survey(trace.model, trace, lo, hi)
        out += ['## {}'.format(arch), '']
        out += shapes.report_lines(trace, arch, markdown=True) + ['']
        out += ['Input sizes accepted between {} and {}: {}; clean: {}.'
                .format(lo, hi,
                        shapes.ranges([n for n, ok, _, _ in found if ok]),
                        shapes.ranges([n for n, ok, _, drops in found
                                       if ok and not drops])), '']
    return '\n'.join(out).rstrip('\n') + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m models.shapes_doc',
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
