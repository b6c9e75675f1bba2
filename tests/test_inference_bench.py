"""bench/inference.py in its dry mode, and its numbers joined to the
results table (python -m results --latency)."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bench'))

import inference  # noqa: E402
import kernels  # noqa: E402
from results import __main__ as results_main  # noqa: E402


@pytest.fixture(scope='module')
def bench_json(tmp_path_factory):
    folder = tmp_path_factory.mktemp('inference')
    variants = 'chainer,kernels' + (
        ',onnxruntime' if inference.installed('onnxruntime') else '')
    assert inference.main(['--dry-run', '--arch', 'densenet', '--variants',
                           variants, '--out', str(folder / 'table.md'),
                           '--json', str(folder / 'numbers.json')]) == 0
    return folder


def test_dry_run_writes_latency_and_throughput_per_variant(bench_json):
    was_installed = kernels.installed()
    data = json.loads((bench_json / 'numbers.json').read_text())
    entry = data['networks']['densenet']
    assert entry['insize'] == 32 and entry['params'] > 0
    for numbers in entry['variants'].values():
        assert 0 < numbers['median_ms'] <= numbers['p95_ms']
        assert numbers['images_per_s'] > 0
    assert {'chainer', 'kernels'} <= set(entry['variants'])
    table = (bench_json / 'table.md').read_text().splitlines()
    row = [line for line in table if line.startswith('| densenet |')][0]
    ratio = float(row.rstrip(' |').split('| ')[-len(
        entry['variants']) + 1].strip(' *'))
    numbers = entry['variants']
    assert ratio == pytest.approx(numbers['kernels']['median_ms'] /
                                  numbers['chainer']['median_ms'], abs=0.01)
    assert kernels.installed() == was_installed


def test_results_table_shows_params_and_latency(run, bench_json, capsys):
    assert results_main.main([run, '--no-blog', '--latency',
                              str(bench_json / 'numbers.json')]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[2].split()
    assert header[-3:] == ['params', 'batch-1', 'ms']
    data = json.loads((bench_json / 'numbers.json').read_text())
    ms = data['networks']['densenet']['variants']['kernels']['median_ms']
    assert lines[4].split()[-1] == '{:.1f}'.format(ms)
    assert lines[4].split()[-2] == 'k'  # a tiny DenseNet: thousands
    assert any(line.startswith('batch-1 ms: Chainer + kernels/')
               for line in lines)


def test_a_bad_latency_file_is_one_line(run, tmp_path, capsys):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"networks": 3}')
    assert results_main.main([run, '--latency', str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and 'bad.json' in err
    assert len(err.splitlines()) == 1
