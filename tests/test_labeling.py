"""python -m labeling (scan, split, --check, --find-duplicates) and the
Fashion-MNIST exporter."""
import gzip
import os
import shutil
import struct

import numpy
import pytest
from PIL import Image

import image_factory
from imagedata import listfile
from labeling import __main__ as labeling_main
from labeling import duplicates, fashion_mnist
from labeling.scan import scan_tree, stratified_split, val_count

FASHION_MNIST = fashion_mnist.DEFAULT_SOURCE
HAS_FASHION_MNIST = os.path.isfile(os.path.join(
    FASHION_MNIST, 'train-images-idx3-ubyte.gz'))
needs_fashion_mnist = pytest.mark.skipif(
    not HAS_FASHION_MNIST,
    reason='Debian package dataset-fashion-mnist not installed '
           '(no {})'.format(FASHION_MNIST))


def _png(path, value=0, size=(12, 10)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new('RGB', size, (value, 255 - value, 40)).save(path)


def _jpeg(path, value=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new('RGB', (12, 10), (value, 20, 200)).save(path, 'JPEG')


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'crawl'
    r = str(root)
    _png(os.path.join(r, 'ワンピース', 'a.png'), 10)
    _jpeg(os.path.join(r, 'ワンピース', 'summer 2016', '赤 い.JPG'), 20)
    _png(os.path.join(r, 'ワンピース', 'deep', 'er', 'b.Png'), 30)
    _jpeg(os.path.join(r, 'long coat', 'c.jpeg'), 40)
    _png(os.path.join(r, 'long coat', 'd e.PNG'), 50)
    Image.new('RGB', (8, 8)).save(os.path.join(r, 'long coat', 'f.TIFF'))
    Image.new('RGB', (8, 8)).save(os.path.join(r, 'long coat', 'g.webp'))
    Image.new('RGB', (8, 8)).save(os.path.join(r, 'long coat', 'h.bmp'))
    Image.new('RGB', (8, 8)).save(os.path.join(r, 'long coat', 'i.gif'))
    # Ignored: hidden files and folders, non-images, loose files, a folder
    # without images.
    _png(os.path.join(r, 'long coat', '.thumb.png'))
    _png(os.path.join(r, 'long coat', '.cache', 'x.png'))
    _png(os.path.join(r, '.trash', 'y.png'))
    with open(os.path.join(r, 'long coat', 'notes.txt'), 'w') as f:
        f.write('not an image\n')
    _png(os.path.join(r, 'loose.png'))
    os.makedirs(os.path.join(r, 'empty', 'sub'))
    return root


EXPECTED = {
    'long coat/c.jpeg', 'long coat/d e.PNG', 'long coat/f.TIFF',
    'long coat/g.webp', 'long coat/h.bmp', 'long coat/i.gif',
    'ワンピース/a.png', 'ワンピース/summer 2016/赤 い.JPG',
    'ワンピース/deep/er/b.Png',
}


def test_scan_finds_classes_nested_images_and_ignores_the_rest(tree):
    found = scan_tree(str(tree))
    assert found.class_names == ['long coat', 'ワンピース']
    assert {p for p, _ in found.pairs} == EXPECTED
    labels = {p: l for p, l in found.pairs}
    assert labels['ワンピース/deep/er/b.Png'] == 1
    assert labels['long coat/d e.PNG'] == 0
    assert found.loose_files == ['loose.png']
    assert found.empty_classes == ['empty']
    assert found.ignored_files == 2  # .thumb.png and notes.txt


def test_lists_round_trip_spaces_and_japanese(tree, tmp_path, capsys):
    out = str(tmp_path / 'lists')
    assert labeling_main.main([str(tree), '--out', out, '--val-ratio', '0.3',
                               '--seed', '1']) == 0
    names = listfile.read_labels(os.path.join(out, 'labels.txt'))
    assert names == ['long coat', 'ワンピース']
    train = listfile.read_list(os.path.join(out, 'train.txt'))
    val = listfile.read_list(os.path.join(out, 'val.txt'))
    assert {p for p, _ in train + val} == EXPECTED
    assert not {p for p, _ in train} & {p for p, _ in val}
    for path, label in train + val:
        assert os.path.isfile(os.path.join(str(tree), path))
        assert path.split('/')[0] == names[label]
    table = capsys.readouterr().out
    assert 'long coat' in table and 'ワンピース' in table
    # Same seed, same lists; another seed, another split.
    out2 = str(tmp_path / 'again')
    labeling_main.main([str(tree), '--out', out2, '--val-ratio', '0.3',
                        '--seed', '1'])
    assert listfile.read_list(os.path.join(out2, 'train.txt')) == train


@pytest.mark.parametrize('n, ratio, expected', [
    (10, 0.1, 1), (20, 0.1, 2), (1, 0.1, 0), (3, 0.1, 1), (100, 0.25, 25),
    (5, 0.0, 0), (2, 0.9, 1)])
def test_val_count(n, ratio, expected):
    assert val_count(n, ratio) == expected


def test_stratified_split_sizes_per_class():
    sizes = [50, 20, 7, 1]
    pairs = [('c{}/{}.png'.format(c, k), c)
             for c, n in enumerate(sizes) for k in range(n)]
    train, val = stratified_split(pairs, len(sizes), 0.1, seed=0)
    for c, n in enumerate(sizes):
        n_val = sum(1 for _, l in val if l == c)
        n_train = sum(1 for _, l in train if l == c)
        assert (n_train, n_val) == (n - val_count(n, 0.1),
                                    val_count(n, 0.1))
    assert sorted(train + val) == sorted(pairs)
    other_train, _ = stratified_split(pairs, len(sizes), 0.1, seed=1)
    assert sorted(other_train) != sorted(train)


def test_tiny_class_warning(tree, tmp_path, capsys):
    labeling_main.main([str(tree), '--out', str(tmp_path / 'l'),
                        '--min-per-class', '4'])
    err = capsys.readouterr().err
    assert "class 'ワンピース' has only 3 image(s)" in err
    assert "'long coat'" not in err.split('has only')[0].splitlines()[-1]


def test_check_leaves_out_and_lists_broken_files(tree, tmp_path, capsys):
    broken = image_factory.write_broken(str(tree / 'long coat'))
    out = str(tmp_path / 'lists')
    assert labeling_main.main([str(tree), '--out', out, '--check',
                               '--loaderjob', '2']) == 0
    err = capsys.readouterr().err
    listed = listfile.read_list(os.path.join(out, 'train.txt')) + \
        listfile.read_list(os.path.join(out, 'val.txt'))
    paths = {p for p, _ in listed}
    assert paths == EXPECTED
    with open(os.path.join(out, 'broken.txt'), encoding='utf-8') as f:
        broken_lines = f.read().splitlines()
    assert len(broken_lines) == 3
    for path in broken:
        name = 'long coat/' + os.path.basename(path)
        assert name in err
        assert any(line.startswith(name + '\t') for line in broken_lines)


def test_without_check_broken_files_stay_listed(tree, tmp_path):
    image_factory.write_broken(str(tree / 'long coat'))
    out = str(tmp_path / 'lists')
    labeling_main.main([str(tree), '--out', out, '--val-ratio', '0'])
    assert len(listfile.read_list(os.path.join(out, 'train.txt'))) == 12


def test_average_hash_and_near_pairs():
    img = Image.fromarray(numpy.tile(numpy.arange(64, dtype=numpy.uint8)
                                     * 4, (64, 1)))
    h = duplicates.average_hash(img)
    assert h == duplicates.average_hash(img.resize((40, 40)))
    hashes = [h, h ^ 0b11, h ^ 0b111, (~h) & (2 ** 64 - 1)]
    assert duplicates.near_pairs(hashes, 2) == [(0, 1, 2), (1, 2, 1)]
    assert (0, 2, 3) in duplicates.near_pairs(hashes, 3)
    assert list(duplicates.hamming(numpy.array([h, 0], dtype=numpy.uint64),
                                   h)) == [0, bin(h).count('1')]


def test_find_duplicates_reports_cross_class_copies_only(tree, tmp_path,
                                                         capsys):
    r = str(tree)
    y, x = numpy.mgrid[0:40, 0:40]
    blob = ((x - 12) ** 2 + (y - 25) ** 2 < 120) * 200 + x
    photo = numpy.repeat(blob[:, :, None], 3, axis=2).astype(numpy.uint8)
    Image.fromarray(photo).save(os.path.join(r, 'long coat', 'dup.png'))
    Image.fromarray(photo).resize((60, 60)).save(
        os.path.join(r, 'ワンピース', 'dup copy.jpg'), quality=95)
    out = str(tmp_path / 'lists')
    out_plain = str(tmp_path / 'plain')
    labeling_main.main([r, '--out', out_plain])
    assert labeling_main.main([r, '--out', out, '--find-duplicates',
                               '--loaderjob', '1']) == 0
    with open(os.path.join(out, 'duplicates.txt'), encoding='utf-8') as f:
        rows = [line.split('\t') for line in f.read().splitlines()]
    pairs = {tuple(sorted(row[:2])) for row in rows}
    assert ('long coat/dup.png', 'ワンピース/dup copy.jpg') in pairs
    assert 'dup copy.jpg' in capsys.readouterr().err
    for name in ('train.txt', 'val.txt', 'labels.txt'):
        with open(os.path.join(out, name), 'rb') as f, \
                open(os.path.join(out_plain, name), 'rb') as g:
            assert f.read() == g.read()


def test_bad_root_is_a_one_line_error(tmp_path, capsys):
    assert labeling_main.main([str(tmp_path / 'nope'), '--out',
                               str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert err.strip().count('\n') == 0 and 'not a folder' in err
    os.makedirs(str(tmp_path / 'flat'))
    _png(str(tmp_path / 'flat' / 'a.png'))
    assert labeling_main.main([str(tmp_path / 'flat'), '--out',
                               str(tmp_path / 'o')]) == 2
    assert 'no class folders with images' in capsys.readouterr().err


# ------------------------------------------------------------ Fashion-MNIST

def _write_idx(path, array):
    header = struct.pack('>BBBB', 0, 0, 0x08, array.ndim) + struct.pack(
        '>{}I'.format(array.ndim), *array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(numpy.uint8).tobytes())


@pytest.fixture
def fake_source(tmp_path):
    """A tiny IDX set in the official layout: 25 train, 12 test images."""
    source = tmp_path / 'idx'
    source.mkdir()
    rng = numpy.random.default_rng(0)
    for prefix, n in (('train', 25), ('t10k', 12)):
        _write_idx(str(source / '{}-images-idx3-ubyte.gz'.format(prefix)),
                   rng.integers(0, 256, (n, 28, 28)))
        _write_idx(str(source / '{}-labels-idx1-ubyte.gz'.format(prefix)),
                   numpy.arange(n) % 10)
    return source


def test_export_keeps_the_official_splits_apart(fake_source, tmp_path):
    out = str(tmp_path / 'fm')
    assert fashion_mnist.main([out, '--source', str(fake_source)]) == 0
    names = listfile.read_labels(os.path.join(out, 'labels.txt'))
    assert names == sorted(fashion_mnist.CLASS_NAMES)
    train = listfile.read_list(os.path.join(out, 'train.txt'))
    test = listfile.read_list(os.path.join(out, 'test.txt'))
    assert (len(train), len(test)) == (25, 12)
    assert all(p.startswith('train/') for p, _ in train)
    assert all(p.startswith('test/') for p, _ in test)
    # Image 3 of the training file has official label 3 (Dress).
    assert ('train/Dress/train-00003.png', names.index('Dress')) in train
    with Image.open(os.path.join(out, 'train/Dress/train-00003.png')) as img:
        assert img.size == (28, 28) and img.mode == 'L'
    assert 'MIT License' in open(os.path.join(out, 'LICENSE')).read()


def test_export_limit_per_class_and_one_split(fake_source, tmp_path):
    out = str(tmp_path / 'fm')
    fashion_mnist.main([out, '--source', str(fake_source), '--split',
                        'train', '--limit-per-class', '2'])
    train = listfile.read_list(os.path.join(out, 'train.txt'))
    assert len(train) == 20  # 25 images: classes 0-4 have 3, 5-9 have 2
    assert not os.path.exists(os.path.join(out, 'test.txt'))
    assert all(p.count('/') == 1 for p, _ in train)  # OUT/<class>/<file>


def test_export_reports_a_missing_or_bad_source(fake_source, tmp_path,
                                                capsys):
    assert fashion_mnist.main([str(tmp_path / 'o'), '--source',
                               str(tmp_path / 'none')]) == 1
    assert 'dataset-fashion-mnist' in capsys.readouterr().err
    with gzip.open(str(fake_source / 'train-labels-idx1-ubyte.gz'),
                   'wb') as f:
        f.write(b'\0\0\x08\x01\0\0\0\x05\0\1')  # 5 declared, 2 present
    assert fashion_mnist.main([str(tmp_path / 'o'), '--source',
                               str(fake_source)]) == 1
    assert '2 bytes of data, the header declares 5' in \
        capsys.readouterr().err


def test_sample_in_the_repository_matches_its_exporter():
    sample = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'sample', 'fashion-mnist')
    found = scan_tree(sample)
    assert found.class_names == sorted(fashion_mnist.CLASS_NAMES)
    assert list(found.counts()) == [100] * 10
    assert os.path.isfile(os.path.join(sample, 'LICENSE'))
    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, files in os.walk(sample) for f in files)
    assert total < 1024 * 1024


@needs_fashion_mnist
def test_official_files_declare_60000_and_10000():
    counts = {}
    for split in ('train', 'test'):
        images = fashion_mnist.read_idx(
            fashion_mnist.idx_path(FASHION_MNIST, split, 'images')).shape
        labels = fashion_mnist.read_idx(
            fashion_mnist.idx_path(FASHION_MNIST, split, 'labels')).shape
        assert images[1:] == (28, 28) and images[0] == labels[0]
        counts[split] = images[0]
    assert counts == {'train': 60000, 'test': 10000}


@needs_fashion_mnist
def test_official_export_with_a_limit(tmp_path):
    out = str(tmp_path / 'fm')
    counts = fashion_mnist.export(FASHION_MNIST, out, ('train', 'test'), 3)
    assert counts == {'train': 30, 'test': 30}
    found = scan_tree(os.path.join(out, 'test'))
    assert list(found.counts()) == [3] * 10


@pytest.mark.slow
@needs_fashion_mnist
def test_official_full_export_counts(tmp_path):
    out = str(tmp_path / 'fm')
    counts = fashion_mnist.export(FASHION_MNIST, out)
    assert counts == {'train': 60000, 'test': 10000}
    assert len(scan_tree(os.path.join(out, 'train')).pairs) == 60000
    assert len(scan_tree(os.path.join(out, 'test')).pairs) == 10000
    shutil.rmtree(out)
