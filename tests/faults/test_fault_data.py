"""Inputs that used to go through silently wrong: a label far beyond the
others, a mean with NaN, a clean list without its class names, links in
the image tree, an image bomb, an unreadable validation image, a GPU that
is not there."""
import io
import json
import os
import shutil
import struct
import zlib

import chainer
import numpy
import pytest
from PIL import Image

import compute_mean
import tiny_runs
import train_imagenet
from fault_runs import one_line, train_args, tree_digest, write_lists
from imagedata import listfile
from imagedata.reader import MAX_PIXELS, ImageReadError, read_image
from labeling import __main__ as labeling
from results import evaluate
from tiny_runs import read_summary

TRAIN = 'red/0.png 0\ngreen/0.png 1\nblue/0.png 2\nred/1.png 0\n'
VAL = 'red/8.png 0\ngreen/8.png 1\nblue/8.png 2\n'


def lists(tmp_path, train=TRAIN, val=VAL, labels=None, folder='lists'):
    return write_lists(tmp_path, train, val, labels, folder)


def test_a_label_far_beyond_the_others_names_its_line_and_the_fix(
        data, tmp_path, capsys):
    where = lists(tmp_path, train=TRAIN + 'blue/1.png 999\n')
    out = str(tmp_path / 'out')
    assert train_imagenet.main(train_args(data, where, out)) == 2
    assert one_line(capsys.readouterr().err) == (
        'error: {}:5: label 999 would make 1000 classes, 996 of them without '
        'any image: with no labels.txt beside train.txt the class count is '
        'the largest label + 1; correct the label, or give the count with '
        '--n-class N (or put labels.txt beside the list)'.format(
            os.path.join(where, 'train.txt')))
    assert not os.path.exists(out)
    # Given a count, the label is checked against it.
    assert train_imagenet.main(train_args(data, where, out, '--n-class',
                                          '3')) == 2
    assert 'train.txt:5: label 999 is outside the 3 classes (0-2)' in \
        one_line(capsys.readouterr().err)


def test_n_class_makes_the_count_explicit(data, tmp_path):
    where = lists(tmp_path)
    out = str(tmp_path / 'out')
    assert train_imagenet.main(train_args(data, where, out, '--test',
                                          '--n-class', '5')) == 0
    summary = read_summary(out)
    assert summary['n_class'] == 5
    assert summary['class_names'] == ['0', '1', '2', '3', '4']


def test_n_class_that_contradicts_labels_txt(data, tmp_path, capsys):
    where = lists(tmp_path, labels='red\ngreen\nblue\n')
    assert train_imagenet.main(train_args(
        data, where, str(tmp_path / 'out'), '--n-class', '4')) == 2
    assert one_line(capsys.readouterr().err) == \
        'error: --n-class 4: {} names 3 classes'.format(
            os.path.join(where, 'labels.txt'))


@pytest.mark.parametrize('value', [numpy.nan, numpy.inf])
def test_a_mean_with_nan_or_inf_is_refused_on_load(value, data, tmp_path,
                                                   capsys):
    mean = numpy.full((3, 32, 32), 100, numpy.float32)
    mean[1, 3, 4] = value
    path = str(tmp_path / 'mean.npy')
    numpy.save(path, mean)
    where = lists(tmp_path, labels='red\ngreen\nblue\n')
    assert train_imagenet.main(train_args(
        data, where, str(tmp_path / 'out'), '--preprocess', 'example',
        '--mean', path)) == 2
    assert one_line(capsys.readouterr().err) == (
        'error: --mean {}: 1 of its 3072 values are NaN or infinite (make '
        'one with compute_mean.py, or pass --mean none)'.format(path))


def test_a_mean_given_as_npz(data, tmp_path, capsys):
    path = str(tmp_path / 'mean.npz')
    numpy.savez(path, mean=numpy.zeros((3, 32, 32), numpy.float32))
    where = lists(tmp_path, labels='red\ngreen\nblue\n')
    assert train_imagenet.main(train_args(
        data, where, str(tmp_path / 'out'), '--preprocess', 'example',
        '--mean', path)) == 2
    assert one_line(capsys.readouterr().err).startswith(
        'error: --mean {}: an .npz archive, not a mean image (.npy)'.format(
            path))


def mean_args(data, where, clean, tmp_path):
    return [os.path.join(where, 'train.txt'), '--root',
            os.path.join(data, 'images'), '--insize', '8', '--output',
            str(tmp_path / 'mean.npy'), '--clean-list', clean,
            '--loaderjob', '1']


def test_the_clean_list_takes_its_class_names_along(data, tmp_path,
                                                    capsys):
    where = lists(tmp_path, labels='red\ngreen\nblue\n')
    other = tmp_path / 'elsewhere'
    other.mkdir()
    clean = str(other / 'train_clean.txt')
    assert compute_mean.main(mean_args(data, where, clean, tmp_path)) == 0
    assert listfile.read_labels(str(other / 'labels.txt')) == [
        'red', 'green', 'blue']
    shutil.copy(os.path.join(where, 'val.txt'), str(other / 'val.txt'))
    out = str(tmp_path / 'out')
    assert train_imagenet.main([clean, str(other / 'val.txt'), '--root',
                                os.path.join(data, 'images'), '--out', out,
                                '--loaderjob', '0', '--test'] +
                               tiny_runs.TINY) == 0
    assert read_summary(out)['class_names'] == ['red', 'green', 'blue']


def test_a_clean_list_beside_other_class_names_is_refused(data, tmp_path,
                                                          capsys):
    where = lists(tmp_path, labels='red\ngreen\nblue\n')
    other = lists(tmp_path, train=None, val=None, labels='cat\ndog\n',
                  folder='other')
    before = tree_digest(where, other)
    clean = os.path.join(other, 'train_clean.txt')
    assert compute_mean.main(mean_args(data, where, clean, tmp_path)) == 2
    assert one_line(capsys.readouterr().err) == (
        'error: --clean-list {}: {} holds other class names than {} beside '
        'the list; write the clean list to another folder'.format(
            clean, os.path.join(other, 'labels.txt'),
            os.path.join(where, 'labels.txt')))
    assert tree_digest(where, other) == before
    assert not os.path.exists(str(tmp_path / 'mean.npy'))


def test_links_to_folders_are_not_followed(data, tmp_path, capsys):
    root = tmp_path / 'photos'
    for name in ('red', 'green'):
        shutil.copytree(os.path.join(data, 'images', name), str(root / name))
    outside = tmp_path / 'outside'
    shutil.copytree(os.path.join(data, 'images', 'blue'), str(outside))
    os.symlink(str(root), str(root / 'all'))            # back to the root
    os.symlink(str(outside), str(root / 'blue'))        # out of the tree
    os.symlink(str(root), str(root / 'red' / 'again'))  # a loop inside
    os.symlink(str(tmp_path / 'nowhere.png'), str(root / 'green' / 'x.png'))
    out = str(tmp_path / 'lists')
    assert labeling.main([str(root), '--out', out, '--val-ratio', '0']) == 0
    err = capsys.readouterr().err
    assert "warning: skipped 'all': a link to the folder {}".format(root) \
        in err
    assert "warning: skipped 'blue': a link to the folder {}".format(
        outside) in err
    assert "warning: 1 link(s) to folders inside the classes are not " \
        "followed, e.g. 'red/again'" in err
    assert "warning: broken 'green/x.png': a link to a file that does not " \
        "exist; left out" in err
    assert listfile.read_labels(os.path.join(out, 'labels.txt')) == [
        'green', 'red']
    pairs = listfile.read_list(os.path.join(out, 'train.txt'))
    assert sorted(path for path, _ in pairs) == sorted(
        '{}/{}.png'.format(name, k) for name in ('red', 'green')
        for k in range(tiny_runs.PER_CLASS))


def png_declaring(width, height):
    """A 1x1 PNG whose header says width x height: a bomb's header, with
    nothing behind it to decode."""
    buffer = io.BytesIO()
    Image.new('1', (1, 1)).save(buffer, format='PNG')
    png = bytearray(buffer.getvalue())
    png[16:24] = struct.pack('>II', width, height)
    png[29:33] = struct.pack('>I', zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(
        data, tmp_path, capsys):
    root = tmp_path / 'photos'
    shutil.copytree(os.path.join(data, 'images'), str(root))
    (root / 'red' / 'bomb.png').write_bytes(png_declaring(13000, 13000))
    with pytest.raises(ImageReadError, match=r'13000x13000 = 169000000 '
                       r'pixels, over the limit of {} \(--max-pixels\)'
                       .format(MAX_PIXELS)):
        read_image(str(root / 'red' / 'bomb.png'))
    out = str(tmp_path / 'lists')
    assert labeling.main([str(root), '--out', out, '--check',
                          '--loaderjob', '1']) == 0
    with open(os.path.join(out, 'broken.txt'), encoding='utf-8') as f:
        assert f.read() == 'red/bomb.png\t13000x13000 = 169000000 pixels, ' \
            'over the limit of {} (--max-pixels)\n'.format(MAX_PIXELS)
    # The limit is the user's to set: a tiny one refuses the 20x16 images.
    assert compute_mean.main([
        os.path.join(data, 'train.txt'), '--root', str(root), '--insize',
        '8', '--output', str(tmp_path / 'mean.npy'), '--loaderjob', '1',
        '--max-pixels', '300']) == 1
    assert 'skipped red/0.png: 20x16 = 320 pixels, over the limit of 300' \
        in capsys.readouterr().err


def test_each_readable_image_counts_once_in_the_evaluation(
        data, run, tmp_path, capfd):
    root = tmp_path / 'images'
    shutil.copytree(os.path.join(data, 'images'), str(root))
    (root / 'red' / 'broken.png').write_bytes(b'\x89PNG not really')
    val = listfile.read_list(os.path.join(data, 'val.txt'))
    with_broken = val[:2] + [('red/broken.png', 0)] + val[2:]
    for name, pairs in (('val.txt', val), ('with_broken.txt', with_broken)):
        listfile.write_list(str(tmp_path / name), pairs)
    results = {}
    for name in ('val.txt', 'with_broken.txt'):
        out = str(tmp_path / ('eval-' + name))
        assert evaluate.main([run, str(tmp_path / name), '--root',
                              str(root), '--out', out]) == 0
        with open(os.path.join(out, 'evaluation.json')) as f:
            results[name] = json.load(f)
        with open(os.path.join(out, 'confusion_matrix.csv')) as f:
            results[name]['matrix'] = f.read()
    err = capfd.readouterr().err  # the loader writes to fd 2 itself
    assert 'red/broken.png: cannot read image' in err
    assert 'warning: 1 of 7 images could not be read and are left out of ' \
        'the evaluation' in err
    clean, broken = results['val.txt'], results['with_broken.txt']
    assert broken['images'] == clean['images'] == len(val)
    assert broken['unreadable'] == ['red/broken.png']
    assert broken['unreadable_images'] == 1
    assert broken['accuracy'] == clean['accuracy']
    assert broken['matrix'] == clean['matrix']


def test_gpu_without_cupy_names_the_two_ways_forward(data, tmp_path,
                                                     monkeypatch, capsys):
    if chainer.backends.cuda.available:  # say what a CPU-only install says
        def no_cupy(spec):
            raise RuntimeError(
                'CUDA environment is not correctly set up\n(see '
                'https://github.com/chainer/chainer#installation).No module '
                "named 'cupy'")
        monkeypatch.setattr(chainer, 'get_device', no_cupy)
    out = str(tmp_path / 'out')
    assert train_imagenet.main(tiny_runs.train_args(data, out, '--gpu',
                                                    '0')) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith("error: device 0: Chainer cannot use CUDA here "
                          "(CUDA environment is not correctly set up; ")
    assert err.endswith('): install the gpu extra (pip install -e ".[gpu]"),'
                        ' or run on the CPU with --gpu -1')
    assert 'https://' not in err
    assert not os.path.exists(out)
