"""Lists and labels.txt in other encodings: a UTF-8 byte-order mark is
read through, anything that is not UTF-8 is one line naming the file, the
line and the byte; the lists themselves are never changed."""
import os

import pytest

import compute_mean
import train_imagenet
import fault_runs
from fault_runs import one_line, train_args, tree_digest
from results import evaluate
from tiny_runs import read_summary

BOM = b'\xef\xbb\xbf'
TRAIN = b'red/0.png 0\ngreen/0.png 1\nblue/0.png 2\nred/1.png 0\n'
VAL = b'red/8.png 0\ngreen/8.png 1\nblue/8.png 2\n'
LABELS = b'red\ngreen\nblue\n'


def lists_dir(tmp_path, train=TRAIN, val=VAL, labels=LABELS):
    return fault_runs.write_lists(tmp_path, train, val, labels)


NOT_UTF8 = {
    # name: (train.txt, labels.txt, file, expected "line: what")
    'latin-1 path': (b'red/0.png 0\ngreen/caf\xe9.png 1\n', LABELS,
                     'train.txt',
                     '2: byte 0xe9 at column 10 is not UTF-8 (save the file '
                     'as UTF-8)'),
    'cp1252 class name': (TRAIN, b'red\ngr\x9fn\nblue\n', 'labels.txt',
                          '2: byte 0x9f at column 3 is not UTF-8'),
    'after a BOM and CRLF': (BOM + b'red/0.png 0\r\n\xff 1\r\n', LABELS,
                             'train.txt', '2: byte 0xff at column 1 is not '
                             'UTF-8'),
    'utf-16': ('red/0.png 0\n'.encode('utf-16'), LABELS, 'train.txt',
               '1: the file is UTF-16 text; save it as UTF-8'),
}


@pytest.mark.parametrize('fault', sorted(NOT_UTF8))
def test_training_on_text_that_is_not_utf8(fault, data, tmp_path, capsys):
    train, labels, name, expected = NOT_UTF8[fault]
    lists = lists_dir(tmp_path, train=train, labels=labels)
    before = tree_digest(lists)
    assert train_imagenet.main(train_args(
        data, lists, str(tmp_path / 'out'))) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith('error: {}:{}'.format(os.path.join(lists, name),
                                                expected))
    assert tree_digest(lists) == before


def test_compute_mean_on_a_list_that_is_not_utf8(data, tmp_path, capsys):
    lists = lists_dir(tmp_path, train=TRAIN + b'blue/1.png\xa0 2\n')
    before = tree_digest(lists)
    assert compute_mean.main([
        os.path.join(lists, 'train.txt'), '--root',
        os.path.join(data, 'images'), '--insize', '8', '--output',
        str(tmp_path / 'mean.npy'), '--loaderjob', '1']) == 2
    assert one_line(capsys.readouterr().err) == (
        'error: {}:5: byte 0xa0 at column 11 is not UTF-8 (save the file as '
        'UTF-8)'.format(os.path.join(lists, 'train.txt')))
    assert tree_digest(lists) == before
    assert not os.path.exists(str(tmp_path / 'mean.npy'))


def test_compute_mean_with_labels_that_are_not_utf8(data, tmp_path, capsys):
    lists = lists_dir(tmp_path, labels=b'red\n\xe0\n')
    assert compute_mean.main([
        os.path.join(lists, 'train.txt'), '--root',
        os.path.join(data, 'images'), '--insize', '8', '--output',
        str(tmp_path / 'out' / 'mean.npy'), '--loaderjob', '1']) == 2
    assert one_line(capsys.readouterr().err).startswith(
        'error: {}:2: byte 0xe0 at column 1'.format(
            os.path.join(lists, 'labels.txt')))


def test_evaluating_on_a_list_that_is_not_utf8(run, tmp_path, capsys):
    lists = lists_dir(tmp_path, val=VAL + b'\xc3( 1\n')
    assert evaluate.main([run, os.path.join(lists, 'val.txt'), '--out',
                          str(tmp_path / 'eval')]) == 2
    assert one_line(capsys.readouterr().err).startswith(
        'error: {}:4: byte 0xc3 at column 1 is not UTF-8'.format(
            os.path.join(lists, 'val.txt')))


def test_a_byte_order_mark_is_read_through(data, tmp_path, capsys):
    # Notepad's UTF-8: a BOM before the first path and the first name.
    lists = lists_dir(tmp_path, train=BOM + TRAIN, val=BOM + VAL,
                        labels=BOM + LABELS)
    out = str(tmp_path / 'out')
    assert train_imagenet.main(train_args(data, lists, out, '--test')) == 0
    assert 'not found' not in capsys.readouterr().err
    summary = read_summary(out)
    assert summary['n_train'] == 4 and summary['n_val'] == 3
    assert summary['class_names'] == ['red', 'green', 'blue']


def test_compute_mean_reads_every_line_of_a_list_with_a_bom(
        data, tmp_path, capsys):
    lists = lists_dir(tmp_path, train=BOM + TRAIN)
    clean = str(tmp_path / 'clean.txt')
    assert compute_mean.main([
        os.path.join(lists, 'train.txt'), '--root',
        os.path.join(data, 'images'), '--insize', '8', '--output',
        str(tmp_path / 'mean.npy'), '--clean-list', clean,
        '--loaderjob', '1']) == 0
    assert '4 of 4 images loaded, 0 skipped' in capsys.readouterr().out
    with open(clean, 'rb') as f:
        assert f.read() == TRAIN
