"""tools/size_study.py: one network at several input sizes, a table and
a plot of accuracy and speed against the size."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tools'))

import size_study  # noqa: E402

SAMPLE = os.path.join(REPO, 'sample', 'fashion-mnist')


@pytest.fixture(scope='module')
def lists(tmp_path_factory):
    from labeling.__main__ import main as labeling
    out = tmp_path_factory.mktemp('lists')
    assert labeling([SAMPLE, '--out', str(out)]) == 0
    return str(out / 'train.txt'), str(out / 'val.txt')


def test_two_sizes_make_a_table_and_a_plot(lists, tmp_path):
    out = str(tmp_path / 'study')
    assert size_study.main([
        lists[0], lists[1], '--root', SAMPLE, '--arch', 'nin', '--sizes',
        '47,39', '--per-class', '2', '--epoch', '1', '--batchsize', '10',
        '--out', out, '--', '--loaderjob', '0', '--val_batchsize',
        '100']) == 0
    with open(os.path.join(out, 'table.md'), encoding='utf-8') as f:
        text = f.read()
    rows = [line for line in text.splitlines() if line.startswith('| 3')
            or line.startswith('| 4')]
    assert [row.split(' |')[0] for row in rows] == ['| 39x39', '| 47x47']
    assert '2 images per class' in text and '--loaderjob 0' in text
    assert os.path.getsize(os.path.join(out, 'size.png')) > 1000
    for size in (39, 47):
        assert os.path.isfile(os.path.join(out, 'nin-{}'.format(size),
                                           'summary.json'))


def test_a_size_the_network_cannot_take_stops_before_training(
        lists, tmp_path, capsys):
    out = str(tmp_path / 'study')
    assert size_study.main([lists[0], lists[1], '--arch', 'alex',
                            '--sizes', '39,30', '--out', out]) == 2
    error = capsys.readouterr().err
    assert error.startswith('error: --sizes 30: ') and error.count('\n') == 1
    assert not os.path.exists(os.path.join(out, 'alex-39'))
