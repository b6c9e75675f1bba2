"""compute_mean.py: the mean, the clean list, the cache, broken files."""
import os

import numpy
import pytest
from PIL import Image

import compute_mean
import image_factory
from imagedata import listfile, presets
from imagedata.cache import ImageCache
from imagedata.dataset import ImageDataset
from imagedata.parallel import CHUNK_SIZE


def _tree(root, n, seed=0):
    """n small RGB images of assorted sizes and modes; the pairs."""
    rng = numpy.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    pairs = []
    for k in range(n):
        w, h = (int(v) for v in rng.integers(8, 40, 2))
        array = rng.integers(0, 256, (h, w, 3), dtype=numpy.uint8)
        img = Image.fromarray(array)
        name = 'img {:03d}.png'.format(k)
        if k % 5 == 1:
            img = img.convert('L')
        elif k % 5 == 2:
            img = img.convert('RGBA')
        img.save(os.path.join(root, name))
        pairs.append((name, k % 3))
    return pairs


def _write(path, pairs):
    listfile.write_list(path, pairs)
    return path


def test_mean_equals_a_direct_numpy_mean_blog(tmp_path):
    root = str(tmp_path / 'img')
    pairs = _tree(root, 12)
    mean, loaded, failed = compute_mean.compute_mean(pairs, root, 16, 'blog')
    preset = presets.Preset('blog', 16)
    direct = numpy.mean([preset.read_stored(os.path.join(root, p))
                         .astype(numpy.float64) for p, _ in pairs], axis=0)
    assert mean.shape == (3, 16, 16) and mean.dtype == numpy.float32
    numpy.testing.assert_allclose(mean, direct, rtol=1e-6)
    assert loaded == pairs and failed == []


def test_mean_equals_a_direct_numpy_mean_example(tmp_path):
    root = str(tmp_path / 'img')
    pairs = _tree(root, 6)
    preset = presets.Preset('example', 8)
    mean, _, _ = compute_mean.compute_mean(pairs, root, 8, 'example')
    crops = []
    for path, _ in pairs:
        stored = preset.read_stored(os.path.join(root, path))
        _, h, w = stored.shape
        top, left = (h - 8) // 2, (w - 8) // 2
        crops.append(stored[:, top:top + 8, left:left + 8])
    direct = numpy.mean(numpy.asarray(crops, numpy.float64), axis=0)
    numpy.testing.assert_allclose(mean, direct, rtol=1e-6)


def test_same_mean_for_any_worker_count(tmp_path):
    root = str(tmp_path / 'img')
    pairs = _tree(root, 2 * CHUNK_SIZE + 5)
    one, _, _ = compute_mean.compute_mean(pairs, root, 12, 'blog', jobs=1)
    two, loaded, _ = compute_mean.compute_mean(pairs, root, 12, 'blog',
                                               jobs=2)
    assert one.tobytes() == two.tobytes()
    assert loaded == pairs  # list order kept


def test_cli_skips_broken_files_and_writes_everything(tmp_path, capsys):
    root = str(tmp_path / 'img')
    pairs = _tree(root, 8)
    broken = [os.path.basename(p) for p in image_factory.write_broken(root)]
    list_path = _write(str(tmp_path / 'train.txt'),
                       pairs + [(name, 0) for name in broken]
                       + [('missing.jpg', 1)])
    out = str(tmp_path / 'out' / 'mean.npy')
    cache = str(tmp_path / 'cache')
    assert compute_mean.main([list_path, '--root', root, '--insize', '10',
                              '--preset', 'example', '--output', out,
                              '--cache', cache, '--loaderjob', '2']) == 0
    captured = capsys.readouterr()
    for name in broken + ['missing.jpg']:
        assert 'skipped {}:'.format(name) in captured.err
    assert '8 of 12 images loaded, 4 skipped' in captured.out
    mean = numpy.load(out)
    assert mean.shape == (3, 10, 10) and mean.dtype == numpy.float32
    with Image.open(str(tmp_path / 'out' / 'mean.png')) as picture:
        assert picture.size == (10, 10) and picture.mode == 'RGB'
    clean = listfile.read_list(str(tmp_path / 'out' / 'train_clean.txt'))
    assert clean == pairs
    # The cache holds exactly the loaded images and feeds the dataset.
    assert ImageCache(cache).paths == [p for p, _ in pairs]
    dataset = ImageDataset(clean, root, 10, preset='example', mean=mean,
                           cache=cache, train=True)
    x, t = dataset[3]
    assert x.shape == (3, 10, 10) and int(t) == clean[3][1]


def test_cli_explicit_clean_list(tmp_path):
    root = str(tmp_path / 'img')
    list_path = _write(str(tmp_path / 'l.txt'), _tree(root, 3))
    clean = str(tmp_path / 'keep.txt')
    compute_mean.main([list_path, '--root', root, '--insize', '4',
                       '--output', str(tmp_path / 'm.npy'), '--clean-list',
                       clean, '-j', '1'])
    assert len(listfile.read_list(clean)) == 3


def test_cli_errors_are_one_line(tmp_path, capsys):
    bad = str(tmp_path / 'bad.txt')
    with open(bad, 'w') as f:
        f.write('a.png 0\nb.png x\n')
    assert compute_mean.main([bad, '--insize', '8']) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: {}:2: label 'x' is not an integer".format(
        bad)
    nothing = _write(str(tmp_path / 'none.txt'), [('gone.png', 0)])
    assert compute_mean.main([nothing, '--root', str(tmp_path), '--insize',
                              '8', '--output',
                              str(tmp_path / 'm.npy')]) == 1
    assert 'none of the 1 images' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'm.npy'))


def test_help_works():
    with pytest.raises(SystemExit) as info:
        compute_mean.main(['--help'])
    assert info.value.code == 0
