"""Multi-label lists: the "path l1,l2,..." format, labeling --tags, the
feeder's multi-hot vectors and the binary cross-entropy loss."""
import os
import re

import chainer
import chainer.functions as F
import numpy
import pytest
from PIL import Image

import image_factory
import models
from imagedata import listfile
from imagedata.dataset import ImageDataset, make_iterator
from imagedata.multilabel import MultiLabelDataset, by_position, multi_hot
from labeling import __main__ as labeling_main
from labeling import tags as tagging
from trainer import inputs, multilabel
from trainer.errors import UsageError
from tagged_tree import (COMBOS, PER_COMBO, TAGS, tagged_data,
                         tags_of)


# The list format

def test_multi_list_round_trip_spaces_unicode_and_no_label(tmp_path):
    pairs = [('シャツ/白い シャツ 1.jpg', (0, 3)), ('a,b c.png', (2,)),
             ('x.png', ()), ('long pants/a  b.png', (1, 4, 12))]
    path = str(tmp_path / 'train.txt')
    listfile.write_multi_list(path, pairs)
    with open(path, encoding='utf-8') as f:
        assert f.read().splitlines() == [
            'シャツ/白い シャツ 1.jpg 0,3', 'a,b c.png 2', 'x.png -',
            'long pants/a  b.png 1,4,12']
    assert listfile.read_multi_list(path) == pairs


def test_multi_labels_are_the_last_field_sorted(tmp_path):
    path = tmp_path / 'l.txt'
    path.write_text('dir 7/img 3.png 5\n\nb 1.png 4,0,2\n', encoding='utf-8')
    assert listfile.read_multi_list(str(path)) == [
        ('dir 7/img 3.png', (5,)), ('b 1.png', (0, 2, 4))]


def test_single_label_lists_read_unchanged(tmp_path):
    path = tmp_path / 'l.txt'
    path.write_text('dir 7/img 3.png 5\nb.png 0\n', encoding='utf-8')
    assert listfile.read_list(str(path)) == [('dir 7/img 3.png', 5),
                                             ('b.png', 0)]


@pytest.mark.parametrize('line', ['a b.png 1,2', 'a.png -'])
def test_a_multi_label_line_read_as_single_label_says_so(tmp_path, line):
    path = tmp_path / 'l.txt'
    path.write_text('ok.png 0\n' + line + '\n', encoding='utf-8')
    with pytest.raises(listfile.ListError,
                       match=r'l\.txt:2: label .* is not an integer '
                             r'\(several labels: .*--multi-label\)') as e:
        listfile.read_list(str(path))
    assert '\n' not in str(e.value)


@pytest.mark.parametrize('content,message', [
    ('a.png 0\nb.png\n', r'l\.txt:2: no labels: expected "path l1,l2'),
    ('a.png 1,,2\n', r'l\.txt:1: empty label in \'1,,2\''),
    ('a.png 1,\n', r'l\.txt:1: empty label'),
    ('a.png 1,x\n', r'l\.txt:1: label \'x\' is not an integer'),
    ('a.png 0,-1\n', r'l\.txt:1: label -1 is negative'),
    ('a.png 2,2\n', r'l\.txt:1: label 2 is given twice'),
    ('a.png 0\na.png 0,3\n', r'l\.txt:2: label 3 is outside the 3 classes'),
    ('\n\n', r'l\.txt: list file is empty'),
])
def test_multi_list_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / 'l.txt'
    path.write_text(content, encoding='utf-8')
    with pytest.raises(listfile.ListError, match=message) as e:
        listfile.read_multi_list(str(path), n_class=3)
    assert '\n' not in str(e.value)


def test_read_lists_warns_where_single_label_would_stop(tmp_path, capsys):
    (tmp_path / 'train.txt').write_text('a.png 0\nb.png 1\n')
    (tmp_path / 'val.txt').write_text('c.png 0,2\nd.png -\n')
    train, val, names = inputs.read_lists(str(tmp_path / 'train.txt'),
                                          str(tmp_path / 'val.txt'),
                                          multi_label=True)
    assert val == [('c.png', (0, 2)), ('d.png', ())]
    assert names == ['0', '1', '2']
    err = capsys.readouterr().err
    assert 'val.txt:1: label 2 (2) has no training images' in err
    (tmp_path / 'val.txt').write_text('c.png 1\n')
    inputs.read_lists(str(tmp_path / 'train.txt'),
                      str(tmp_path / 'val.txt'), multi_label=True)
    assert 'every image has exactly one label' in capsys.readouterr().err
    (tmp_path / 'train.txt').write_text('a.png -\n')
    (tmp_path / 'val.txt').write_text('c.png -\n')
    with pytest.raises(UsageError, match='no image has any label'):
        inputs.read_lists(str(tmp_path / 'train.txt'),
                          str(tmp_path / 'val.txt'), multi_label=True)


# The feeder

def test_dataset_yields_multi_hot_vectors_that_follow_a_replacement(
        tmp_path):
    root = str(tmp_path)
    for name in ('a.png', 'c.png'):
        image_factory.write_mode(root, 'RGB.jpg')
        os.rename(os.path.join(root, 'RGB.jpg'), os.path.join(root, name))
    image_factory.write_empty(os.path.join(root, 'b.png'))  # unreadable
    pairs = [('a.png', (0, 2)), ('b.png', (1,)), ('c.png', ())]
    assert multi_hot(pairs, 3).tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    index_pairs, targets = by_position(pairs, 3)
    images = ImageDataset(index_pairs, root, 8, train=False,
                          dtype=numpy.uint8)
    dataset = MultiLabelDataset(images, targets)
    x, t = dataset[0]
    assert x.dtype == numpy.uint8 and x.shape == (3, 8, 8)
    assert t.dtype == numpy.int32 and t.tolist() == [1, 0, 1]
    # b.png cannot be read: evaluation takes the next image, and its
    # vector with it.
    assert dataset[1][1].tolist() == [0, 0, 0]
    assert dataset.broken_count == 1
    assert dataset.example_nbytes == images.example_nbytes + 3 * 4
    # Through loader processes (shared memory sized for the vector too).
    iterator = make_iterator(dataset, 3, 1, repeat=False, shuffle=False)
    x, t = dataset.converter(next(iterator))
    iterator.finalize()
    assert x.dtype == numpy.float32 and x.shape == (3, 3, 8, 8)
    assert t.tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 0]]


# The loss

def test_multi_label_loss_is_binary_cross_entropy():
    model = models.get_model('densenet', 3, n_layer=1, growth_rate=2,
                             in_ch=4)
    multilabel.use_sigmoid(model)
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, (4, 3, 32, 32)).astype(numpy.float32)
    t = numpy.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]],
                    dtype=numpy.int32)
    with chainer.using_config('train', False):
        loss = model(x, t)
        scores = model.predict(x).array
    p = 1 / (1 + numpy.exp(-scores.astype(numpy.float64)))
    bce = -(t * numpy.log(p) + (1 - t) * numpy.log(1 - p)).mean()
    assert float(loss.array) == pytest.approx(bce, rel=1e-5)
    assert float(F.binary_accuracy(scores, t).array) == pytest.approx(
        ((scores >= 0) == t).mean())
    # The class default stays the blog's softmax for other models.
    assert models.get_model('densenet', 3).lossfun is None  # softmax


# labeling --tags

def test_labeling_from_tags_writes_multi_label_lists(tmp_path_factory):
    data = tagged_data(tmp_path_factory)
    assert listfile.read_labels(os.path.join(data, 'labels.txt')) == \
        list(TAGS)
    train = listfile.read_multi_list(os.path.join(data, 'train.txt'), 3)
    val = listfile.read_multi_list(os.path.join(data, 'val.txt'), 3)
    assert len(val) == len(COMBOS) * PER_COMBO // 4
    assert len(train) + len(val) == len(COMBOS) * PER_COMBO
    for path, labels in train + val:
        combo = COMBOS[int(path.split('/')[0].split()[1])]
        assert tags_of(labels) == tuple(sorted(combo))
    untagged = []
    for name in ('train.txt', 'val.txt'):
        with open(os.path.join(data, name), encoding='utf-8') as f:
            untagged += [line for line in f if line.endswith(' -\n')]
    assert len(untagged) == PER_COMBO  # the images of combination ()


def test_tags_file_forms_misses_and_rare_tags(tmp_path, capsys):
    root = tmp_path / 'images'
    for name in ('a 1.png', 'sub/b.png', 'c.png', 'd.png', 'e.png'):
        os.makedirs(os.path.dirname(str(root / name)), exist_ok=True)
        Image.new('RGB', (8, 8)).save(str(root / name))
    (tmp_path / 'tags.csv').write_text(
        '\ufeff# path,tags\n'
        'a 1.png,白 short_sleeves\n'
        '"sub/b.png",白,short_sleeves\n'
        'c.png,白 rare\n'
        'd.png,\n'
        'gone.png,白\n', encoding='utf-8')
    out = tmp_path / 'lists'
    assert labeling_main.main([str(root), '--tags', str(tmp_path / 'tags.csv'),
                               '--out', str(out), '--val-ratio', '0',
                               '--min-tag-count', '2']) == 0
    err = capsys.readouterr().err
    assert 'tags.csv:6: {} not found; 1 listed image(s)'.format(
        os.path.join(str(root), 'gone.png')) in err
    assert '1 image(s) under {} have no row'.format(root) in err  # e.png
    assert 'dropped 1 tag(s) on fewer than 2 image(s): rare' in err
    assert listfile.read_labels(str(out / 'labels.txt')) == [
        'short_sleeves', '白']
    assert sorted(listfile.read_multi_list(str(out / 'train.txt'))) == [
        ('a 1.png', (0, 1)), ('c.png', (1,)), ('d.png', ()),
        ('sub/b.png', (0, 1))]


@pytest.mark.parametrize('content,message', [
    ('a.png,x\na.png,y\n', r'tags\.csv:2: \'a\.png\' is listed again '
                           r'\(first at line 1\)'),
    ('a.png,x\n,y\n', r'tags\.csv:2: no image path'),
    ('gone.png,x\n', r'tags\.csv:1: none of the 1 listed images is under'),
    ('a.png,x\n', r'tags\.csv: no tag is on 2 or more'),
])
def test_tags_file_errors_name_file_and_line(tmp_path, capsys, content,
                                            message):
    Image.new('RGB', (8, 8)).save(str(tmp_path / 'a.png'))
    (tmp_path / 'tags.csv').write_text(content, encoding='utf-8')
    assert labeling_main.main([str(tmp_path), '--tags',
                               str(tmp_path / 'tags.csv'), '--out',
                               str(tmp_path / 'out'), '--min-tag-count',
                               '2']) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err
    assert re.search(message, err), err


def test_tags_split_is_seeded_and_trains_every_tag():
    pairs = [('{}.png'.format(k), (k % 3,) if k < 9 else (3,))
             for k in range(10)]  # tag 3 on one image only
    first = tagging.split(pairs, 4, 0.5, seed=1)
    assert first == tagging.split(pairs, 4, 0.5, seed=1)
    assert first != tagging.split(pairs, 4, 0.5, seed=2)
    for seed in range(10):
        train, val = tagging.split(pairs, 4, 0.5, seed)
        assert sorted(train + val) == sorted(pairs)
        assert {k for _, labels in train for k in labels} == {0, 1, 2, 3}
        assert len(val) in (4, 5)


def test_find_duplicates_does_not_apply_with_tags(tmp_path, capsys):
    with pytest.raises(SystemExit):
        labeling_main.main([str(tmp_path), '--tags', 'tags.csv', '--out',
                            str(tmp_path), '--find-duplicates'])
    assert 'does not apply with --tags' in capsys.readouterr().err
