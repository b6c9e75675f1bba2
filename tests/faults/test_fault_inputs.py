"""Every bad input the trainer can be given: exit status 2 and one line
naming the file (and the line), before any training."""
import os

import models
import numpy
import pytest

import tiny_runs
import train_imagenet
from fault_runs import write_lists
from trainer import safety
from tiny_runs import read_summary

GOOD_VAL = 'red/8.png 0\ngreen/8.png 1\nblue/8.png 2\n'
GOOD_TRAIN = 'red/0.png 0\ngreen/0.png 1\nblue/0.png 2\nred/1.png 0\n'



def lists(tmp_path, train=GOOD_TRAIN, val=GOOD_VAL, labels=None):
    folder = write_lists(tmp_path, train, val, labels)
    return (os.path.join(folder, 'train.txt'),
            os.path.join(folder, 'val.txt'))


def one_line_error(capsys, args):
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0, err
    assert err.startswith('error: ')
    return err


def args_for(data, tmp_path, train, val, *extra):
    return [train, val, '--root', os.path.join(data, 'images'), '--out',
            str(tmp_path / 'out'), '--loaderjob', '0'] + tiny_runs.TINY + \
        list(extra)


LIST_FAULTS = {
    # name: (train.txt, labels.txt, expected "where: what")
    'missing list': (None, None, 'train.txt: list file not found'),
    'empty list': ('\n\n', None, 'train.txt: list file is empty'),
    'line without a label': ('red/0.png 0\n\nred/1.png\n', None,
                             'train.txt:3: no label'),
    'non-integer label': ('red/0.png 0\nred/1.png one\n', None,
                          "train.txt:2: label 'one' is not an integer"),
    'negative label': ('red/0.png -1\n', None,
                       'train.txt:1: label -1 is negative'),
    'label outside the classes': ('red/0.png 0\nblue/0.png 2\n',
                                  'red\ngreen\n',
                                  'train.txt:2: label 2 is outside the 2 '
                                  'classes (0-1)'),
}


@pytest.mark.parametrize('fault', sorted(LIST_FAULTS))
def test_bad_list_is_one_line_naming_file_and_line(fault, data, tmp_path,
                                                   capsys):
    train_text, labels, expected = LIST_FAULTS[fault]
    train, val = lists(tmp_path, train_text, 'red/8.png 0\n', labels)
    err = one_line_error(capsys, args_for(data, tmp_path, train, val))
    assert train in err
    assert expected in err


def test_missing_images_are_counted_before_training_and_left_out(
        data, tmp_path, capsys, monkeypatch):
    train, val = lists(tmp_path, GOOD_TRAIN + 'red/gone.png 0\n'
                       'green/also gone.png 1\n')
    out = str(tmp_path / 'out')
    before_training = []
    run = safety.run

    def run_recording_stderr(trainer, batchsize):
        before_training.append(capsys.readouterr().err)
        return run(trainer, batchsize)
    monkeypatch.setattr(safety, 'run', run_recording_stderr)
    assert train_imagenet.main(args_for(data, tmp_path, train, val,
                                        '--epoch', '1')) == 0
    assert '{}:5: {} not found; 2 of 6 listed images are missing and left ' \
        'out'.format(train, os.path.join(data, 'images', 'red/gone.png')) \
        in before_training[0]
    assert read_summary(out)['n_train'] == 4


def test_every_image_missing_points_at_root(data, tmp_path, capsys):
    train, val = lists(tmp_path)
    args = args_for(data, tmp_path, train, val)
    args[args.index('--root') + 1] = str(tmp_path)
    err = one_line_error(capsys, args)
    assert '{}:1: '.format(train) in err
    assert 'nor any of the 4 listed images' in err and '--root' in err


def test_validation_class_unknown_to_training(data, tmp_path, capsys):
    train, val = lists(tmp_path, 'red/0.png 0\ngreen/0.png 1\n',
                       'red/8.png 0\nblue/8.png 2\nblue/9.png 2\n',
                       'red\ngreen\nblue\n')
    err = one_line_error(capsys, args_for(data, tmp_path, train, val))
    assert '{}:2: label 2 (blue) has no training images; 2 validation ' \
        'image(s)'.format(val) in err


def test_mean_of_another_size_names_the_file_and_both_shapes(
        data, tmp_path, capsys):
    mean = str(tmp_path / 'mean256.npy')
    numpy.save(mean, numpy.zeros((3, 256, 256), numpy.float32))
    train, val = lists(tmp_path)
    err = one_line_error(capsys, args_for(
        data, tmp_path, train, val, '--preprocess', 'example', '--mean',
        mean))
    assert '--mean {}: the mean image is 3x256x256 but the model input is ' \
        '3x32x32'.format(mean) in err
    assert 'compute_mean.py --insize 32' in err


def test_unreadable_mean_file(data, tmp_path, capsys):
    mean = tmp_path / 'mean.npy'
    mean.write_text('not numpy')
    train, val = lists(tmp_path)
    err = one_line_error(capsys, args_for(
        data, tmp_path, train, val, '--preprocess', 'example', '--mean',
        str(mean)))
    assert str(mean) in err


def test_unknown_arch_lists_the_valid_ones(data, tmp_path, capsys):
    train, val = lists(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        train_imagenet.main([train, val, '--arch', 'resnet'])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "invalid choice: 'resnet'" in err
    for name in models.ARCHS:
        assert repr(name) in err
