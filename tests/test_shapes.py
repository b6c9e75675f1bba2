"""python -m shapes: computed sizes against real forward passes."""
import os
import subprocess
import sys

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
import pytest

import models
from shapes import cli
from shapes import doc
from shapes import replay as rp
from shapes import table as tbl
from shapes import trace as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Parameter counts at the blog's 34 classes, as in tests/test_models.py.
PARAMS = {'alex': 58420642, 'nin': 6605026, 'googlenet': 14616678,
          'densenet': 10893346}
# Two other sizes each architecture accepts (its smallest, and another).
OTHER_SIZES = {'alex': (39, 231), 'nin': (39, 100),
               'googlenet': (59, 202), 'densenet': (4, 37)}

_models, _traces = {}, {}


def get_model(arch, n_class=34, insize=None):
    """Models built once per size for the whole file (Alex takes ~3 s)."""
    assert n_class == 34
    key = (arch, insize or models.ARCHS[arch].insize)
    if key not in _models:
        _models[key] = models.ARCHS[arch](n_class=34, insize=key[1])
    return _models[key]


def get_trace(arch, size=None):
    model = get_model(arch, insize=size)
    key = (arch, model.insize)
    if key not in _traces:
        _traces[key] = st.trace(model, key[1])
    return _traces[key]


@pytest.fixture
def cached_models(monkeypatch):
    monkeypatch.setattr(models, 'get_model', get_model)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows_of(trace, expand=False):
    result = rp.check(trace)
    return result, tbl.build_rows(trace, result, expand)


@pytest.mark.parametrize('arch', sorted(PARAMS))
@pytest.mark.parametrize('which', [None, 0, 1])
def test_every_row_equals_the_forward_pass(arch, which):
    size = None if which is None else OTHER_SIZES[arch][which]
    trace = get_trace(arch, size)
    result, rows = rows_of(trace)
    header, cells = tbl.table(trace, result, rows)
    assert len(cells) == len(rows) + 2  # the image, the rows, the total
    for row, cell in zip(rows, cells[1:]):
        # The computed shape (replay of the layer objects) is what Chainer
        # produced for this row, and it is what the table prints.
        assert result.shapes[row.last.index] == row.last.observed, row.name
        assert cell[6] == st.shape_text(row.last.observed)
    for step in trace.steps:
        if not step.is_scalar:
            assert result.shapes[step.index] == step.observed, step.name


def test_check_fails_loudly_when_arithmetic_and_forward_differ():
    model = models.DenseNet(n_layer=2, growth_rate=4, in_ch=8, n_class=3)
    trace = st.trace(model, 16)
    pool = [s for s in trace.steps if s.kind in st.POOLS][0]
    pool.observed = pool.observed[:2] + (7, 7)
    with pytest.raises(AssertionError, match='trans2/pool: computed '
                       '16x8x8, the forward pass gave 16x7x7'):
        rp.check(trace)


def test_alex_walkthrough_sequence_and_9216():
    trace = get_trace('alex')
    result, rows = rows_of(trace)
    widths = [trace.insize] + [result.arith[r.main.index].out for r in rows
                               if r.main.index in result.arith]
    assert widths == [227, 55, 27, 27, 13, 13, 13, 13, 6]
    fc6 = [r for r in rows if r.name == 'fc6'][0]
    assert tbl.arithmetic(fc6, result, trace) == '256x6x6 = 9216 -> 4096'
    text = '\n'.join(doc.walkthrough(trace, 'alex'))
    assert '227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6 -> 9216' \
        in text
    assert '`(227 + 2*0 - 11)/4 + 1 = 55`' in text
    assert '`ceil((55 + 2*0 - 3)/2) + 1 = 27`' in text


def test_alex_table_fits_100_columns_and_shows_the_arithmetic(
        cached_models, capsys):
    code, out, err = run(capsys, '--arch', 'alex')
    assert code == 0 and err == ''
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    conv1 = [line for line in lines if line.startswith('conv1 ')][0]
    assert conv1.split()[1:5] == ['conv+relu+LRN', '11', '4', '0']
    assert '(227 + 2*0 - 11)/4 + 1 = 55' in conv1
    assert '96x55x55' in conv1 and '34,944' in conv1
    pool5 = [line for line in lines if line.startswith('pool5 ')][0]
    assert 'ceil((13 + 2*0 - 3)/2) + 1 = 6' in pool5 and '256x6x6' in pool5
    assert '58,420,642' in [line for line in lines
                            if line.startswith('total')][0]
    assert "the blog's table says 8" in out
    assert "The blog's" not in out  # 8 = 8: nothing to explain


@pytest.mark.parametrize('arch', sorted(PARAMS))
def test_totals_equal_the_parameter_counts(arch):
    trace = get_trace(arch)
    result, rows = rows_of(trace)
    assert sum(r.params for r in rows) == PARAMS[arch]
    assert trace.model.count_params() == PARAMS[arch]
    _, cells = tbl.table(trace, result, rows)
    assert cells[-1][0] == 'total' and cells[-1][7] == '{:,}'.format(
        PARAMS[arch])
    # Multiply-adds of the first conv: output positions x weights per output.
    conv = [s for s in trace.steps if s.kind == st.CONV][0]
    first = [r for r in rows if conv in r.steps][0]
    out = result.shapes[conv.index]
    assert first.madds >= out[1] * out[2] * out[3] * int(
        np.prod(conv.link.W.shape[1:]))


def test_blog_layer_counts_are_explained():
    notes = {}
    for arch in ('googlenet', 'densenet'):
        trace = get_trace(arch)
        _, rows = rows_of(trace)
        notes[arch] = ' '.join(tbl.count_notes(trace, rows, {}))
    assert 'the blog\'s table says 22' in notes['googlenet']
    assert 'deepest path has 33 weight layers' in notes['googlenet']
    assert 'counts only the convolutions inside the 3 DenseBlock modules ' \
        '(3 x 40)' in notes['densenet']
    assert 'Weight layers counted here: 124 (123 conv + 1 fc)' \
        in notes['densenet']


def test_modules_fold_into_one_row_and_expand():
    trace = get_trace('densenet')
    result, rows = rows_of(trace)
    dense = [r for r in rows if r.name.startswith('dense')]
    assert [tbl.operation(r) for r in dense] == ['40 x conv+concat'] * 3
    assert [st.shape_text(result.shapes[r.last.index]) for r in dense] == [
        '496x32x32', '976x16x16', '1456x8x8']
    _, expanded = rows_of(trace, expand=True)
    convs = [r for r in expanded if r.name.startswith('dense') and
             r.main.kind == st.CONV]
    assert len(convs) == 120 == trace.model.n_layers

    trace = get_trace('googlenet')
    result, rows = rows_of(trace)
    inception = [r for r in rows if r.name.startswith('inc')]
    assert len(inception) == 10
    assert tbl.operation(inception[0]) == '4 branches'
    inc3c = [r for r in rows if r.name == 'inc3c'][0]
    assert tbl.arithmetic(inc3c, result, trace) == \
        '(29 + 2*1 - 3)/2 + 1 = 15'
    notes = tbl.side_notes(rows, trace)
    assert any(n.startswith('pool4a..outa: a side classifier on the output '
                            'of inc4a') for n in notes.values())
    _, expanded = rows_of(trace, expand=True)
    assert 'inc3a/conv33b' in [r.name for r in expanded]


def test_rounding_marks_in_googlenet():
    trace = get_trace('googlenet')
    result, rows = rows_of(trace)
    text = {r.name: tbl.arithmetic(r, result, trace) for r in rows}
    # 224 + 6 - 7 = 223 is odd: conv1 drops a pixel; pool1 rounds up.
    assert text['conv1'] == 'floor((224 + 2*3 - 7)/2) + 1 = 112 *'
    assert text['pool1'] == 'ceil((112 + 2*1 - 3)/2) + 1 = 57 +'


@pytest.mark.parametrize('arch,size,message', [
    ('alex', 38, 'pool5: a 3x3 window does not fit in 1x1 (pad 0); nearest '
     'sizes it takes: 39'),
    ('alex', 20, 'pool2: a 3x3 window does not fit in 1x1 (pad 0); nearest '
     'sizes it takes: 39'),
    ('googlenet', 58, 'pool4a: a 5x5 window does not fit in 4x4 (pad 0); '
     'nearest sizes it takes: 59'),
    ('densenet', 3, 'trans3/pool: a 2x2 window does not fit in 1x1 (pad 0); '
     'nearest sizes it takes: 4'),
])
def test_invalid_size_gives_one_line(cached_models, capsys, arch, size,
                                     message):
    code, out, err = run(capsys, '--arch', arch, '--insize', str(size))
    assert code == 2 and out == ''
    assert err.count('\n') == 1
    assert err.startswith('error: {} cannot take {}x{} images: {}'.format(
        arch, size, size, message))


def test_invalid_size_from_the_command_line_has_no_traceback():
    done = subprocess.run(
        [sys.executable, '-m', 'shapes', '--arch', 'nin', '--insize',
         '30'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    assert done.returncode == 2 and done.stdout == ''
    assert done.stderr == ('error: nin cannot take 30x30 images: pool3: a '
                           '3x3 window does not fit in 1x1 (pad 0); nearest '
                           'sizes it takes: 39 (see --valid-sizes)\n')


def accepted(arch, lo, hi):
    model = get_model(arch)
    found = cli.survey(model, get_trace(arch), lo, hi)
    return [n for n, ok, _, _ in found if ok], found


def forward_ok(arch, size):
    """Whether the model built for ``size`` runs a forward pass on it."""
    try:
        get_trace(arch, size)
    except (models.InputSizeError, st.ForwardFailed):
        return False
    return True


def test_alex_valid_sizes_are_confirmed_by_forward_passes():
    # fc6 is built for the size: every size that leaves pool5 a pixel works.
    ok, found = accepted('alex', 20, 60)
    assert ok == list(range(39, 61))
    clean = [n for n, good, _, drops in found if good and not drops]
    assert clean == list(range(39, 60, 4))
    assert dict((n, d) for n, _, _, d in found)[42] == {'conv1': 3}
    assert not forward_ok('alex', 38)
    for size in (39, 60, 230):
        assert forward_ok('alex', size)


@pytest.mark.parametrize('arch,lo,hi', [
    ('nin', 30, 50), ('googlenet', 50, 70), ('densenet', 1, 37)])
def test_valid_size_boundaries_are_confirmed(arch, lo, hi):
    ok, _ = accepted(arch, lo, hi)
    edges = {ok[0], ok[-1]} | {n for n in (ok[0] - 1, ok[-1] + 1)
                               if lo <= n <= hi}
    assert len(edges) >= 3  # both sides of at least one boundary
    for size in sorted(edges):
        assert forward_ok(arch, size) == (size in ok), size
    assert OTHER_SIZES[arch][0] == ok[0]


@pytest.mark.parametrize('arch', ['nin', 'googlenet', 'densenet'])
def test_global_pool_window_follows_the_input(arch):
    # The last pooling averages the whole map, whatever its size.
    trace = get_trace(arch)
    follows = cli.input_dependent_windows(trace.model, trace)
    assert len(follows) == 1
    assert [s.name for s in trace.steps if s.index in follows] == [
        {'nin': 'pool4', 'googlenet': 'pool5b', 'densenet': 'pool4'}[arch]]
    assert accepted(arch, 196, 200)[0] == list(range(196, 201))


def test_valid_sizes_command(cached_models, capsys):
    code, out, err = run(capsys, '--arch', 'alex', '--valid-sizes')
    assert code == 0
    assert out.startswith('alex (Alex, built for 227) accepts 114 of the '
                          'input sizes 170..283: 170..283')
    assert '228        ok; edge pixels dropped: conv1 1' in out
    code, out, err = run(capsys, '--arch', 'alex', '--valid-sizes', '30',
                         '45')
    assert out.startswith('alex (Alex, built for 227) accepts 7 of the '
                          'input sizes 30..45: 39..45')
    assert '30-38      rejected: ' in out
    with pytest.raises(SystemExit):
        cli.parse_args(['--valid-sizes', '10'])


def test_markdown_table(cached_models, capsys):
    code, out, _ = run(capsys, '--arch', 'nin', '--markdown')
    assert code == 0
    assert '| layer | operation | F | S | P |' in out
    assert '| pool4 | avg pool | 6 | 6 | 0 | `(6 + 2*0 - 6)/6 + 1 = 1` |' \
        in out


def test_graph_as_dot_png_or_a_clear_message(cached_models, capsys, tmp_path,
                                             monkeypatch):
    dot_file = tmp_path / 'nin.dot'
    assert run(capsys, '--arch', 'nin', '--graph', str(dot_file))[0] == 0
    assert 'Convolution2DFunction' in dot_file.read_text()
    png = tmp_path / 'nin.png'
    if cli.shutil.which('dot'):
        assert run(capsys, '--arch', 'nin', '--graph', str(png))[0] == 0
        assert png.read_bytes()[:4] == b'\x89PNG'
    monkeypatch.setattr(cli.shutil, 'which', lambda name: None)
    code, _, err = run(capsys, '--arch', 'nin', '--graph', str(png) + '2')
    assert code == 1
    assert 'Graphviz "dot" is not installed' in err and err.count('\n') == 1


class _Tiny(chainer.Chain):
    """Not a blog model: the tool reads any Chain the same way."""

    insize = 12
    n_layers = 2
    n_class = 3

    def __init__(self):
        super(_Tiny, self).__init__()
        with self.init_scope():
            self.conv = L.Convolution2D(3, 4, 3, stride=2)
            self.fc = L.Linear(4 * 3 * 3, 3)

    def forward(self, x, t):
        h = F.max_pooling_2d(F.relu(self.conv(x)), 2)
        return F.softmax_cross_entropy(self.fc(h), t)


def test_any_chain_and_its_valid_sizes():
    model = _Tiny()
    trace = st.trace(model, 12)
    result, rows = rows_of(trace)
    assert [r.name for r in rows] == ['conv', 'pool', 'fc']
    assert tbl.arithmetic(rows[0], result, trace) == \
        'floor((12 + 2*0 - 3)/2) + 1 = 5 *'
    assert tbl.arithmetic(rows[1], result, trace) == \
        'ceil((5 + 2*0 - 2)/2) + 1 = 3 +'
    found = cli.survey(model, trace, 8, 16)
    ok = [n for n, good, _, _ in found if good]
    assert ok == [11, 12, 13, 14]
    for size in range(8, 17):
        try:
            st.trace(model, size)
            ran = True
        except st.ForwardFailed:
            ran = False
        assert ran == (size in ok), size


def test_docs_are_current(monkeypatch):
    path = os.path.join(ROOT, 'docs', 'shapes.md')
    with open(path, encoding='utf-8') as f:
        committed = f.read()
    monkeypatch.setattr(doc, 'trace_arch', get_trace)
    fresh = doc.render()
    assert fresh == committed, 'docs/shapes.md is stale: run `make docs`'
    assert '227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6 -> 9216' \
        in committed
