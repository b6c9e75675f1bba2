"""bench/train_speed.py end to end in its CPU dry mode, without PyTorch."""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bench'))

import kernels  # noqa: E402
import train_speed  # noqa: E402

ROW = re.compile(r'^\| densenet \| (\d+\.\d\d) \| (\d+\.\d\d) \| '
                 r'(\d+\.\d\d) \| (\d+) \| (\d+) \| (\d+\.\d\d) \|$')


def test_dry_run_writes_a_row_with_both_chainer_variants(tmp_path, capsys):
    was_installed = kernels.installed()
    out = tmp_path / 'speed' / 'table.md'
    assert train_speed.main(['--dry-run', '--arch', 'densenet',
                             '--variants', 'reference,kernels',
                             '--out', str(out)]) == 0
    assert kernels.installed() == was_installed
    lines = out.read_text().splitlines()
    assert lines[0].startswith('cpu (') and '(dry run' in lines[0]
    assert 'batch 2, median of 2 steps after 1' in lines[0]
    assert 'glibc malloc ' in lines[0]  # the allocator the steps ran with
    assert lines[2] == ('| arch | Chainer images/s | Chainer + kernels/ '
                        'images/s | kernels/ / Chainer | Chainer peak MiB | '
                        'Chainer + kernels/ peak MiB | memory kernels/ / '
                        'Chainer |')
    match = ROW.match(lines[4])
    assert match, lines[4]
    reference, ours, ratio = (float(v) for v in match.groups()[:3])
    assert reference > 0 and ours > 0
    assert ratio == pytest.approx(ours / reference, abs=0.01)
    assert lines[4] in capsys.readouterr().out


def test_ratios_come_last_and_compare_the_right_columns():
    variants = ['reference', 'kernels', 'pytorch']
    header, rule = train_speed.table_header(variants)
    assert header.endswith('| kernels/ / Chainer | '
                           'Chainer + kernels/ / PyTorch |')
    assert rule.count('|') == header.count('|')
    row = train_speed.format_row(
        'alex', {'reference': 4.0, 'kernels': 10.0, 'pytorch': 8.0}, variants)
    assert row == '| alex | 4.00 | 10.00 | 8.00 | 2.50 | 1.25 |'


def test_peak_memory_of_the_chainer_variants_on_the_cpu():
    variants = ['reference', 'kernels', 'pytorch']
    header, rule = train_speed.table_header(variants, on_cpu=True)
    assert header.endswith('| Chainer peak MiB | Chainer + kernels/ peak '
                           'MiB | memory kernels/ / Chainer |')
    assert rule.count('|') == header.count('|')
    row = train_speed.format_row(
        'nin', {'reference': 4.0, 'kernels': 10.0, 'pytorch': 8.0}, variants,
        {'reference': 80.0, 'kernels': 60.0})
    assert row.endswith('| 80 | 60 | 0.75 |')
    assert row.count('|') == header.count('|')


def test_numba_gain_compares_kernels_with_and_without_compiled_loops():
    variants = ['kernels-numpy', 'kernels', 'pytorch']
    header, rule = train_speed.table_header(variants, on_cpu=True)
    assert header == ('| arch | kernels/ without numba images/s | Chainer + '
                      'kernels/ images/s | PyTorch images/s | numba gain | '
                      'Chainer + kernels/ / PyTorch | kernels/ without numba '
                      'peak MiB | Chainer + kernels/ peak MiB |')
    row = train_speed.format_row(
        'densenet', {'kernels-numpy': 2.0, 'kernels': 2.5, 'pytorch': 3.0},
        variants, {'kernels-numpy': 70.0, 'kernels': 70.0})
    assert row == '| densenet | 2.00 | 2.50 | 3.00 | 1.25 | 0.83 | 70 | 70 |'
    # On a GPU neither kernels/ variant is timed.
    assert train_speed.parse_args(
        ['--gpu', '0', '--variants', 'kernels-numpy,kernels']).variants == [
            'reference']


def test_each_kernels_variant_steps_with_its_own_loops(monkeypatch):
    from kernels import compiled
    monkeypatch.setattr(compiled, 'ENABLED', True)
    seen = {}
    args = train_speed.parse_args(['--dry-run', '--arch', 'nin',
                                   '--variants', 'kernels-numpy,kernels'])
    steps = train_speed.make_steps('nin', args, train_speed.chainer.get_device(
        '@numpy'))
    for name, step in steps.items():
        monkeypatch.setattr(step, 'optimizer', type('Spy', (), {
            'update': lambda self, *a, _n=name: seen.setdefault(
                _n, compiled.ENABLED)})())
        step()
    assert seen == {'kernels-numpy': False, 'kernels': True}


def test_peak_mib_counts_what_a_step_allocates():
    import numpy
    held = []
    assert train_speed.peak_mib(lambda: held.append(
        numpy.ones(2 ** 20 // 8))) == pytest.approx(1.0, abs=0.05)
    assert train_speed.peak_mib(lambda: None) < 0.01


def test_defaults_are_the_blog_networks_on_the_cpu(monkeypatch):
    monkeypatch.setattr(train_speed, 'torch_available', lambda: False)
    args = train_speed.parse_args([])
    assert args.arch == ['alex', 'nin', 'googlenet', 'densenet']
    assert (args.gpu, args.batchsize) == (-1, 32)
    assert args.variants == ['reference', 'kernels']  # no PyTorch here
    # On a GPU kernels/ changes nothing: one Chainer row.
    assert train_speed.parse_args(['--gpu', '0']).variants == ['reference']


def test_bad_variant_and_help(capsys):
    with pytest.raises(SystemExit) as exit:
        train_speed.parse_args(['--variants', 'reference,tensorflow'])
    assert exit.value.code == 2
    assert 'tensorflow' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        train_speed.parse_args(['--help'])
    assert exit.value.code == 0
    assert '--dry-run' in capsys.readouterr().out
