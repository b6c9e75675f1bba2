"""python -m shapes: every layer's output size and the arithmetic.

The sizes are computed from the model's own layer objects and checked against
a real forward pass (``shapes.trace``, ``shapes.replay``); ``--valid-sizes``
lists the input sizes an architecture accepts.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import os
import shutil
import subprocess
import sys

from chainer import computational_graph

import models
from shapes import replay as rp
from shapes import table as tbl
from shapes import trace as st


def report_lines(trace, arch, expand=False, markdown=False):
    """The table for one traced forward pass, with its legend and notes.

    Raises AssertionError when a computed size differs from the forward pass.
    """
    model = trace.model
    result = rp.check(trace)
    rows = tbl.build_rows(trace, result, expand)
    notes = tbl.side_notes(rows, trace)
    header, cells = tbl.table(trace, result, rows)
    title = ('{} ({}): {} classes, input {}x{}x{} (channels x height x '
             'width)'.format(arch, type(model).__name__, model.n_class,
                             st.CHANNELS, trace.insize, trace.insize))
    below = tbl.module_notes(rows) + tbl.count_notes(trace, rows, notes)
    unused = model.count_params() - sum(r.params for r in rows)
    if unused:
        below.append('Parameters that model(x, t) does not use: '
                     '{:,}.'.format(unused))
    below.append('Every size above equals the forward pass of model(x, t) '
                 'with train=False (no dropout then).')
    if markdown:
        bullets = [('  - ' if line.startswith(' ') else '- ') + line.strip()
                   for line in tbl.legend(trace, result)]
        return ([title, ''] + bullets + [''] +
                tbl.render(header, cells, notes, markdown=True) + [''] +
                _paragraphs(below))
    return ([title] + tbl.wrap(tbl.legend(trace, result)) + [''] +
            tbl.render(header, cells, notes) + [''] + tbl.wrap(below, ''))


def _paragraphs(lines):
    """Markdown: one paragraph per note."""
    return [p for line in lines for p in (line, '')][:-1]


def input_dependent_windows(model, trace_):
    """Pooling steps whose window is read from the input size.

    A pool whose window equals its input (NIN's 6 on 6, DenseNet's global
    pool) may be a fixed number or ``h.shape[2]``; one extra forward pass at
    another size, where the replay predicts a different input, tells which.
    """
    suspects = [s for s in trace_.steps if s.kind in st.POOLS and
                s.window()[0] == tuple(s.in_shapes[0][2:]) and
                s.window()[2] == (0, 0)]
    if not suspects:
        return frozenset()
    last = max(s.index for s in suspects)
    sizes = sorted(range(max(1, trace_.insize // 2), 2 * trace_.insize + 1),
                   key=lambda n: abs(n - trace_.insize))
    for size in sizes:
        result = rp.replay(trace_, size)
        if (result.error is None or result.error.step.index > last) and all(
                rp.ins_of(s, result.shapes, size)[0] != s.in_shapes[0]
                for s in suspects):
            break
    else:
        return frozenset()
    try:
        steps = st.trace(model, size).steps
    except st.ForwardFailed as failed:
        steps = failed.steps
    return frozenset(s.index for s in suspects if s.index < len(steps) and
                     steps[s.index].window()[0] != s.window()[0])


def survey(model, trace, lo, hi):
    """(size, accepted, note, drops) for each size, by the size arithmetic.

    ``drops`` maps a layer (a folded module counts once) to the edge pixels
    its rounding down leaves out.
    """
    follows = input_dependent_windows(model, trace)
    folded = st.modules(trace)
    found = []
    for size in range(lo, hi + 1):
        result = rp.replay(trace, size, follows)
        if result.error is not None:
            found.append((size, False, str(result.error), {}))
            continue
        drops = {}  # layer (a module counts once) -> edge pixels dropped
        for i, arith in sorted(result.arith.items()):
            step = trace.steps[i]
            name = step.scope[1].lstrip('/') if step.scope[1:2] and \
                step.scope[1] in folded else step.name
            if arith.dropped:
                drops[name] = max(drops.get(name, 0), arith.dropped)
        found.append((size, True, 'edge pixels dropped: ' + ', '.join(
            '{} {}'.format(k, v) for k, v in drops.items())
            if drops else 'clean', drops))
    return found


def ranges(sizes):
    """[1, 2, 3, 7] -> '1..3, 7'."""
    runs = []
    for n in sizes:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ', '.join(str(a) if a == b else '{}..{}'.format(a, b)
                     for a, b in runs) or 'none'


def survey_lines(arch, model, found):
    lo, hi = found[0][0], found[-1][0]
    ok = [n for n, good, _, _ in found if good]
    clean = [n for n, good, _, drops in found if good and not drops]
    lines = ['{} ({}, built for {}) accepts {} of the input sizes {}..{}: {}'
             .format(arch, type(model).__name__, model.insize, len(ok), lo,
                     hi, ranges(ok)),
             'clean (every conv and floor-rounded pooling window fits '
             'exactly): {}'.format(ranges(clean)), '',
             '{:<9}  result'.format('size')]
    runs = []
    for size, good, note, _ in found:
        text = ('ok; ' if good else 'rejected: ') + note
        if runs and runs[-1][2] == text and runs[-1][1] == size - 1:
            runs[-1][1] = size
        else:
            runs.append([size, size, text])
    for a, b, text in runs:
        label = str(a) if a == b else '{}-{}'.format(a, b)
        if a <= model.insize <= b:
            text += '  <- model.insize'
        lines.append('{:<9}  {}'.format(label, text))
    lines += ['', 'Computed from the traced layers; a forward pass at one '
              'size: --insize N.']
    return lines


def nearest_accepted(model, trace_, size, reach=64):
    """The accepted sizes closest to ``size``, below and above it."""
    found = survey(model, trace_, max(1, size - reach), size + reach)
    ok = [n for n, good, _, _ in found if good]
    below = [n for n in ok if n < size][-1:]
    above = [n for n in ok if n > size][:1]
    return below + above


def explain_failure(model, arch, size):
    """One line: the first layer that breaks at ``size``, why, and the
    nearest sizes that work. ``model`` is built for its own insize."""
    base = st.trace(model, model.insize)
    result = rp.replay(base, size, input_dependent_windows(model, base))
    if result.error is None:
        raise AssertionError('the forward pass failed at {} but the size '
                             'arithmetic accepts it'.format(size))
    near = nearest_accepted(model, base, size)
    return ('{} cannot take {}x{} images: {}; nearest sizes it takes: {} '
            '(see --valid-sizes)'.format(arch, size, size, result.error,
                                         ', '.join(map(str, near)) or
                                         'none nearby'))


def write_graph(trace, path):
    """Chainer's computational graph as .dot, or through Graphviz dot.

    Returns an error message, or None when the file was written.
    """
    graph = computational_graph.build_computational_graph(
        [trace.output], rankdir='TB',
        variable_style={'shape': 'octagon', 'fillcolor': '#E0E0E0',
                        'style': 'filled'},
        function_style={'shape': 'record', 'fillcolor': '#6495ED',
                        'style': 'filled'})
    source = graph.dump()
    fmt = os.path.splitext(path)[1].lstrip('.').lower() or 'png'
    if fmt in ('dot', 'gv'):
        with open(path, 'w') as f:
            f.write(source)
        return None
    dot = shutil.which('dot')
    if dot is None:
        return ('cannot draw {}: Graphviz "dot" is not installed (Debian: '
                'apt-get install graphviz); --graph FILE.dot writes the '
                'source'.format(path))
    done = subprocess.run([dot, '-T' + fmt, '-o', path],
                          input=source.encode(), stderr=subprocess.PIPE)
    if done.returncode != 0:
        return 'dot failed on {}: {}'.format(
            path, done.stderr.decode(errors='replace').strip().splitlines()[0])
    return None


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m shapes',
        usage='%(prog)s [-h] [--arch ARCH] [--insize N] [--n-class K]\n'
              '       [--markdown] [--expand] [--valid-sizes [LO HI]] '
              '[--graph FILE]',
        description='Show every layer of an architecture: kernel F, stride S, '
                    'pad P, the output-size formula with the numbers filled '
                    'in, output shape, parameters and multiply-adds, checked '
                    'against a real forward pass.')
    parser.add_argument('--arch', '-a', choices=sorted(models.ARCHS),
                        default='alex', metavar='ARCH',
                        help='architecture: {} (default: alex)'.format(
                            ', '.join(sorted(models.ARCHS))))
    parser.add_argument('--insize', type=_positive, metavar='N',
                        help='input width and height (default: the '
                             "model's insize)")
    parser.add_argument('--n-class', type=_positive, default=models.N_CLASS,
                        metavar='K',
                        help='number of categories (default %(default)s, the '
                             "blog's)")
    parser.add_argument('--markdown', action='store_true',
                        help='print the table as Markdown')
    parser.add_argument('--expand', action='store_true',
                        help='one row per layer inside modules '
                             '(inception branches, dense blocks)')
    parser.add_argument('--valid-sizes', nargs='*', type=_positive,
                        metavar='N',
                        help='list the input sizes the architecture accepts, '
                             'or those from LO to HI given as two numbers '
                             '(default: insize -25%% .. +25%%)')
    parser.add_argument('--graph', metavar='FILE',
                        help='also draw the computational graph (FILE.png, '
                             '.svg or .pdf need Graphviz; .dot needs nothing)')
    args = parser.parse_args(argv)
    if args.valid_sizes is not None and len(args.valid_sizes) not in (0, 2):
        parser.error('--valid-sizes takes no value or two: LO HI')
    if args.valid_sizes and args.valid_sizes[0] > args.valid_sizes[1]:
        parser.error('--valid-sizes: LO must not be above HI')
    return args


def main(argv=None):
    args = parse_args(argv)
    size = args.insize or models.ARCHS[args.arch].insize
    if args.valid_sizes is not None:
        model = models.get_model(args.arch, args.n_class)
        lo, hi = args.valid_sizes or (max(1, size * 3 // 4), size * 5 // 4)
        trace = st.trace(model, model.insize)
        print('\n'.join(survey_lines(args.arch, model,
                                     survey(model, trace, lo, hi))))
        return 0
    try:
        model = models.get_model(args.arch, args.n_class, insize=size)
        trace = st.trace(model, size)
    except (models.InputSizeError, st.ForwardFailed):
        print('error: ' + explain_failure(
            models.get_model(args.arch, args.n_class), args.arch, size),
            file=sys.stderr)
        return 2
    print('\n'.join(report_lines(trace, args.arch, args.expand,
                                 args.markdown)))
    if args.graph:
        problem = write_graph(trace, args.graph)
        if problem:
            print('error: ' + problem, file=sys.stderr)
            return 1
        print('computational graph written to ' + args.graph)
    return 0

