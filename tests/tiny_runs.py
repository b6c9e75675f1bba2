"""A few dozen generated images and tiny training runs, shared by the
trainer and results tests (built once per test session)."""
import json
import os

import numpy
from PIL import Image

import train_imagenet
from imagedata import listfile

CLASSES = ('red', 'green', 'blue')
PER_CLASS = 10   # 8 train + 2 val
N_VAL = 2 * len(CLASSES)
# A real DenseNet, shrunk: 3 blocks of 2 layers (the blog's is 3 x 40).
TINY = ['--arch', 'densenet', '--model-option', 'n_layer=2',
        '--model-option', 'growth_rate=4', '--model-option', 'in_ch=8']

_runs = {}


def make_data(directory, with_labels=True):
    """directory/images/<class>/<k>.png (20x16, class colour plus noise);
    directory/train.txt, val.txt and (optionally) labels.txt."""
    rng = numpy.random.RandomState(0)
    train, val = [], []
    for label, name in enumerate(CLASSES):
        os.makedirs(os.path.join(directory, 'images', name), exist_ok=True)
        for k in range(PER_CLASS):
            pixels = rng.randint(0, 80, (16, 20, 3))
            pixels[:, :, label] += 150
            relative = '{}/{}.png'.format(name, k)
            Image.fromarray(pixels.astype(numpy.uint8)).save(
                os.path.join(directory, 'images', relative))
            (val if k >= PER_CLASS - 2 else train).append((relative, label))
    listfile.write_list(os.path.join(directory, 'train.txt'), train)
    listfile.write_list(os.path.join(directory, 'val.txt'), val)
    if with_labels:
        listfile.write_labels(os.path.join(directory, 'labels.txt'), CLASSES)
    return directory


def train_args(data, out, *extra):
    return [os.path.join(data, 'train.txt'), os.path.join(data, 'val.txt'),
            '--root', os.path.join(data, 'images'), '--out', out,
            '--batchsize', '8', '--loaderjob', '0', '--seed', '0'] + \
        TINY + list(extra)


def data_dir(tmp_path_factory):
    if 'data' not in _runs:
        _runs['data'] = make_data(str(tmp_path_factory.mktemp('data')))
    return _runs['data']


def two_epoch_run(tmp_path_factory):
    """A 2-epoch run whose lr drops after epoch 1; returns its --out."""
    if 'two_epochs' not in _runs:
        out = str(tmp_path_factory.mktemp('run2'))
        args = train_args(data_dir(tmp_path_factory), out, '--epoch', '2',
                          '--lr-drop-epoch', '1')
        assert train_imagenet.main(args) == 0
        _runs['two_epochs'] = out
    return _runs['two_epochs']


def read_log(run_dir):
    with open(os.path.join(run_dir, 'log'), encoding='utf-8') as f:
        return json.load(f)


def read_summary(run_dir):
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        return json.load(f)
