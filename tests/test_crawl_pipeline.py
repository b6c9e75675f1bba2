"""A crawl-like tree of a few hundred mixed images, some broken, through
labeling, compute_mean.py and one pass of the feeder."""
import faulthandler
import os

import numpy
import pytest
from PIL import Image

import compute_mean
import image_factory
from imagedata import listfile
from imagedata.dataset import ImageDataset, make_iterator
from labeling import __main__ as labeling_main

CLASSES = ['tops', 'ワンピース', 'long coats']
PER_CLASS = 100
INSIZE = 16


def make_crawl(root):
    """300 images in every mode and many sizes, plus broken files in
    every class; returns the broken paths relative to root."""
    rng = numpy.random.default_rng(0)
    modes = ['RGB', 'L', 'LA', 'P', 'RGBA', 'CMYK', '1', 'I;16']
    for c, name in enumerate(CLASSES):
        for k in range(PER_CLASS):
            folder = os.path.join(root, name, 'page {}'.format(k % 3))
            os.makedirs(folder, exist_ok=True)
            w, h = (int(v) for v in rng.integers(6, 60, 2))
            array = rng.integers(0, 256, (h, w, 3), dtype=numpy.uint8)
            img = Image.fromarray(array)
            mode = modes[k % len(modes)]
            if mode == 'I;16':
                img = Image.fromarray(array[:, :, 0].astype(numpy.uint16)
                                      * 257)
            elif mode != 'RGB':
                img = img.convert(mode)
            ext = '.JPG' if mode in ('RGB', 'L', 'CMYK') and k % 2 else '.png'
            img.save(os.path.join(folder, 'item {:03d}{}'.format(k, ext)))
    broken = []
    for name in CLASSES:
        for path in image_factory.write_broken(os.path.join(root, name)):
            broken.append(os.path.relpath(path, root))
    return broken


@pytest.fixture
def worker_timeout():
    faulthandler.dump_traceback_later(180, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def test_crawl_to_feeder_reports_every_broken_file(tmp_path, capfd,
                                                   worker_timeout):
    root = str(tmp_path / 'crawl')
    broken = make_crawl(root)
    lists = str(tmp_path / 'lists')

    # Labeling without --check keeps the broken files (as a crawl would).
    assert labeling_main.main([root, '--out', lists, '--loaderjob', '2']) == 0
    train = listfile.read_list(os.path.join(lists, 'train.txt'))
    val = listfile.read_list(os.path.join(lists, 'val.txt'))
    assert len(train) + len(val) == 3 * PER_CLASS + len(broken)

    # compute_mean reports the broken training files and drops them.
    assert compute_mean.main([
        os.path.join(lists, 'train.txt'), '--root', root, '--insize',
        str(INSIZE), '--preset', 'example', '--output',
        str(tmp_path / 'mean.npy'), '--cache', str(tmp_path / 'cache'),
        '--loaderjob', '2']) == 0
    out = capfd.readouterr()
    assert 'Traceback' not in out.err
    broken_train = [p for p, _ in train if p in broken]
    broken_val = [p for p, _ in val if p in broken]
    assert broken_train and sorted(broken_train + broken_val) == \
        sorted(broken)
    for path in broken_train:
        assert 'skipped {}:'.format(path) in out.err
    clean = listfile.read_list(str(tmp_path / 'train_clean.txt'))
    assert len(clean) == len(train) - len(broken_train)
    mean = numpy.load(str(tmp_path / 'mean.npy'))

    # One pass of the feeder over the clean list (from the cache) and the
    # raw validation list (from files, broken ones included), both
    # iterators alive at once as in training.
    train_set = ImageDataset(clean, root, INSIZE, preset='example',
                             mean=mean, cache=str(tmp_path / 'cache'),
                             dtype=numpy.uint8)
    val_set = ImageDataset(val, root, INSIZE, preset='example', mean=mean,
                           train=False)
    train_iter = make_iterator(train_set, 16, 2, repeat=False)
    val_iter = make_iterator(val_set, 16, 2, repeat=False, shuffle=False)
    try:
        n_train = n_val = 0
        for batch in train_iter:
            x, t = train_set.converter(batch, None)
            assert x.shape[1:] == (3, INSIZE, INSIZE)
            assert x.dtype == numpy.float32 and numpy.isfinite(x).all()
            n_train += len(t)
        for batch in val_iter:
            x, t = val_set.converter(batch, None)
            assert x.shape[1:] == (3, INSIZE, INSIZE)
            n_val += len(t)
    finally:
        train_iter.finalize()
        val_iter.finalize()
    assert (n_train, n_val) == (len(clean), len(val))
    err = capfd.readouterr().err
    assert 'Traceback' not in err
    for path in broken_val:
        assert err.count(path) == 1
    assert train_set.broken_count == 0
    assert val_set.broken_count == len(broken_val)

    # --check finds every broken file by name.
    checked = str(tmp_path / 'checked')
    assert labeling_main.main([root, '--out', checked, '--check',
                               '--loaderjob', '2']) == 0
    err = capfd.readouterr().err
    for path in broken:
        assert path in err
    with open(os.path.join(checked, 'broken.txt'), encoding='utf-8') as f:
        assert sorted(line.split('\t')[0] for line in f) == sorted(broken)
