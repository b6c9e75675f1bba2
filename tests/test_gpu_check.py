"""bench/gpu_check.py end to end in its CPU dry mode (no GPU, no PyTorch)."""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bench'))

import gpu_check  # noqa: E402

ROW = re.compile(r'^\| densenet \| DenseNet \| (\d+\.\d) \| - \| - \| - \|$')


def test_dry_run_writes_a_table_row_per_architecture(tmp_path, capsys):
    out = tmp_path / 'gpu' / 'table.md'
    assert gpu_check.main(['--dry-run', '--arch', 'densenet', '--no-torch',
                           '--out', str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith('CPU (dry run')
    assert 'batch 2, 2 timed iterations after 1' in lines[0]
    assert lines[2] == gpu_check.HEADER and lines[3] == gpu_check.RULE
    match = ROW.match(lines[4])
    assert match and float(match.group(1)) > 0
    assert lines[4] in capsys.readouterr().out


def test_default_architectures_are_one_per_model_class():
    args = gpu_check.parse_args(['--dry-run'])
    assert sorted(args.arch) == ['alex', 'densenet', 'googlenet', 'nin']
    assert (args.batchsize, args.iterations, args.warmup) == (2, 2, 1)
    assert gpu_check.parse_args([]).batchsize == 32  # the blog's


def test_ratio_is_chainer_over_pytorch():
    row = gpu_check.format_row(('alex', 'Alex', 300.0, 1234.4, 200.0))
    assert row == '| alex | Alex | 300.0 | 1234 | 200.0 | 1.50 |'


def test_help(capsys):
    with pytest.raises(SystemExit) as exit:
        gpu_check.parse_args(['--help'])
    assert exit.value.code == 0
    assert '--dry-run' in capsys.readouterr().out
