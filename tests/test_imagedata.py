"""The image reader, the presets, the cache and the feeder (imagedata/)."""
import faulthandler
import os
import warnings

import chainer
import numpy
import pytest
from PIL import Image

import image_factory
from imagedata import listfile, presets
from imagedata.cache import CacheError, CacheWriter, ImageCache
from imagedata.dataset import BatchConverter, ImageDataset, make_iterator
from imagedata.reader import ImageReadError, load_rgb, read_image, to_chw

WORKER_TIMEOUT_S = 120


@pytest.fixture
def worker_timeout():
    """Kill the run with a traceback instead of hanging on a stuck worker
    pool (forking a threaded process can deadlock)."""
    faulthandler.dump_traceback_later(WORKER_TIMEOUT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# ---------------------------------------------------------------- reader

@pytest.mark.parametrize('name', sorted(image_factory.MODES))
def test_every_colour_mode_reads_as_rgb_uint8(tmp_path, name):
    path = image_factory.write_mode(tmp_path, name)
    _, expected, mode = image_factory.MODES[name]
    with Image.open(path) as img:
        assert img.mode == mode  # the file really is in that mode
    array = read_image(path)
    assert array.shape == (3, image_factory.HEIGHT, image_factory.WIDTH)
    assert array.dtype == numpy.uint8
    assert array.flags.c_contiguous
    if expected is not None:
        numpy.testing.assert_allclose(array[:, 0, 0], expected, atol=3)


def test_palette_transparency_composited_on_white_keeps_opaque_pixels(
        tmp_path):
    array = read_image(image_factory.write_mode(tmp_path,
                                                'P-transparent.png'))
    assert tuple(array[:, 0, 0]) == (255, 255, 255)
    assert tuple(array[:, -1, -1]) == (0, 0, 0)


def test_exif_orientation_is_applied(tmp_path):
    path = image_factory.write_rotated_jpeg(str(tmp_path / 'rot.jpg'))
    array = read_image(path)
    # Stored 24 wide x 16 high; displayed (and read) 16 wide x 24 high.
    assert array.shape == (3, image_factory.WIDTH, image_factory.HEIGHT)
    assert array[:, :8].max() < 30  # black top after the rotation
    assert array[:, -8:].min() > 225


@pytest.mark.parametrize('name', sorted(image_factory.BROKEN))
def test_broken_file_raises_one_error_type_naming_the_path(tmp_path, name):
    path = image_factory.BROKEN[name](str(tmp_path / name))
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert isinstance(info.value, ValueError)
    assert path in str(info.value)
    assert '\n' not in str(info.value)


def test_missing_file_is_an_image_read_error(tmp_path):
    with pytest.raises(ImageReadError, match='nothere.jpg'):
        read_image(str(tmp_path / 'nothere.jpg'))


def test_big_jpeg_is_decoded_in_draft_mode(tmp_path):
    path = image_factory.write_photo(str(tmp_path / 'big.jpg'), 800, 600)
    img = load_rgb(path, draft_for=lambda w, h: (64, 64))
    assert img.size == (100, 75)  # 1/8 scale, still >= 64 on each side
    stored = presets.Preset('blog', 64).read_stored(path)
    assert stored.shape == (3, 64, 64) and stored.dtype == numpy.uint8


def test_japanese_and_space_names_read(tmp_path):
    path = str(tmp_path / 'ワンピース 赤.png')
    Image.new('RGB', (5, 4), (1, 2, 3)).save(path)
    assert tuple(read_image(path)[:, 0, 0]) == (1, 2, 3)


# ---------------------------------------------------------------- presets

def test_example_short_side():
    assert presets.example_short_side(227) == 256
    assert presets.example_short_side(224) == 256
    assert presets.example_short_side(32) == 37
    assert presets.example_short_side(299) >= 299


def test_stored_sizes():
    example = presets.Preset('example', 227)
    assert example.stored_size(600, 400) == (384, 256)
    assert example.stored_size(50, 100) == (256, 512)  # small: upscaled
    assert presets.Preset('blog', 32).stored_size(600, 400) == (32, 32)


def _gradient_image(width=300, height=200):
    x = numpy.linspace(0, 255, width)[None, :, None]
    y = numpy.linspace(0, 255, height)[:, None, None]
    array = numpy.concatenate(
        [numpy.broadcast_to(x, (height, width, 1)),
         numpy.broadcast_to(y, (height, width, 1)),
         numpy.full((height, width, 1), 90.0)], axis=2)
    return Image.fromarray(array.astype(numpy.uint8))


@pytest.mark.parametrize('train', [True, False])
def test_crop_of_the_region_equals_crop_of_the_resized_image(train):
    preset = presets.Preset('example', 64)
    img = _gradient_image()
    direct = preset.crop_image(img, train, numpy.random.default_rng(3))
    stored = to_chw(preset.resize_stored(img))
    assert stored.shape[1] == preset.short_side
    via_stored = preset.crop_stored(stored, train,
                                    numpy.random.default_rng(3))
    assert direct.shape == via_stored.shape == (3, 64, 64)
    diff = numpy.abs(direct.astype(int) - via_stored.astype(int))
    assert diff.max() <= 2


def test_example_training_crops_vary_and_flip():
    preset = presets.Preset('example', 32)
    img = _gradient_image()
    rng = numpy.random.default_rng(0)
    crops = [preset.crop_image(img, True, rng) for _ in range(20)]
    # Channel 0 rises left to right unless flipped.
    flipped = [c[0, 0, 0] > c[0, 0, -1] for c in crops]
    assert any(flipped) and not all(flipped)
    assert len({c.tobytes() for c in crops}) > 10
    centre = [preset.crop_image(img, False, rng) for _ in range(3)]
    assert centre[0].tobytes() == centre[1].tobytes() == centre[2].tobytes()


def test_normalise_values():
    image = numpy.full((3, 4, 4), 255, numpy.uint8)
    assert numpy.array_equal(presets.normalise(image),
                             numpy.ones((3, 4, 4), numpy.float32))
    mean = numpy.full((3, 4, 4), 55.0, numpy.float32)
    out = presets.normalise(image, mean)
    assert out.dtype == numpy.float32
    numpy.testing.assert_allclose(out, 200.0 / 255.0, rtol=1e-6)


def test_mean_is_checked():
    with pytest.raises(ValueError, match='blog preset subtracts no mean'):
        presets.Preset('blog', 8).check_mean(numpy.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match='3x256x256 but the model input is '
                                         '3x227x227'):
        presets.Preset('example', 227).check_mean(numpy.zeros((3, 256, 256)))
    with pytest.raises(ValueError, match='unknown preset'):
        presets.Preset('imagenet', 8)


# ---------------------------------------------------------------- dataset

def make_tree(root, sizes=((40, 30), (30, 50), (64, 64), (80, 40))):
    """Two classes of good RGB images plus the broken files; returns the
    pairs (path relative to root, label) with the broken ones in class 1."""
    pairs = []
    for label, name in enumerate(['シャツ', 'long coat']):
        os.makedirs(os.path.join(root, name))
        for k, (w, h) in enumerate(sizes):
            relative = os.path.join(name, 'img {}.jpg'.format(k))
            image_factory.write_photo(os.path.join(root, relative), w, h,
                                      seed=10 * label + k, fmt='JPEG')
            pairs.append((relative, label))
    for path in image_factory.write_broken(os.path.join(root, 'long coat')):
        pairs.append((os.path.relpath(path, root), 1))
    return pairs


@pytest.mark.parametrize('preset', presets.PRESETS)
def test_dataset_examples_shapes_and_ranges(tmp_path, preset):
    pairs = make_tree(str(tmp_path))
    mean = numpy.full((3, 16, 16), 128, numpy.float32) \
        if preset == 'example' else None
    dataset = ImageDataset(pairs[:8], str(tmp_path), 16, preset=preset,
                           mean=mean, train=True, seed=0)
    assert len(dataset) == 8
    for i in range(len(dataset)):
        x, t = dataset[i]
        assert x.shape == (3, 16, 16) and x.dtype == numpy.float32
        assert t.dtype == numpy.int32 and int(t) == pairs[i][1]
        if preset == 'blog':
            assert 0.0 <= x.min() and x.max() <= 1.0
        else:
            assert -128 / 255.0 - 1e-6 <= x.min()
            assert x.max() <= 127 / 255.0 + 1e-6
            assert x.min() < 0 < x.max()


def test_broken_images_are_reported_once_and_replaced(tmp_path, capfd):
    pairs = make_tree(str(tmp_path))
    dataset = ImageDataset(pairs, str(tmp_path), 16, train=False)
    broken = [i for i, (p, _) in enumerate(pairs) if 'image' not in p
              and p.endswith(('truncated.jpg', 'empty.png', 'page.jpg'))]
    assert len(broken) == 3
    for _ in range(2):
        for i in range(len(dataset)):
            x, t = dataset[i]
            assert x.shape == (3, 16, 16)
    err = capfd.readouterr().err
    for i in broken:
        assert err.count(pairs[i][0]) == 1
    assert dataset.broken_count == 3


def test_all_broken_is_a_clear_error(tmp_path):
    paths = image_factory.write_broken(tmp_path)
    pairs = [(os.path.basename(p), 0) for p in paths]
    dataset = ImageDataset(pairs, str(tmp_path), 8)
    with pytest.raises(RuntimeError, match='none of the 3 listed images'):
        dataset[0]


def test_uint8_examples_with_converter_equal_float32(tmp_path):
    pairs = make_tree(str(tmp_path))[:8]
    mean = numpy.random.default_rng(0).uniform(
        0, 255, (3, 16, 16)).astype(numpy.float32)
    kwargs = dict(preset='example', mean=mean, train=False)
    floats = ImageDataset(pairs, str(tmp_path), 16, **kwargs)
    raw = ImageDataset(pairs, str(tmp_path), 16, dtype=numpy.uint8,
                       **kwargs)
    assert raw.example_nbytes * 4 == floats.example_nbytes
    assert raw[0][0].dtype == numpy.uint8
    batch = [raw[i] for i in range(len(raw))]
    x, t = raw.converter(batch, None)
    x_ref, t_ref = chainer.dataset.concat_examples(
        [floats[i] for i in range(len(floats))])
    assert x.dtype == numpy.float32
    numpy.testing.assert_allclose(x, x_ref, rtol=1e-6, atol=1e-6)
    assert numpy.array_equal(t, t_ref)
    # Float batches pass through unchanged.
    assert BatchConverter(mean)([floats[0]], None)[0].shape == (1, 3, 16, 16)


def test_serial_iterator_when_no_workers(tmp_path):
    pairs = make_tree(str(tmp_path))[:4]
    dataset = ImageDataset(pairs, str(tmp_path), 8)
    it = make_iterator(dataset, 2, 0, repeat=False, shuffle=False)
    assert isinstance(it, chainer.iterators.SerialIterator)
    assert [len(b) for b in it] == [2, 2]


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.uint8])
def test_multiprocess_iterator_one_epoch(tmp_path, capfd, worker_timeout,
                                         dtype):
    pairs = make_tree(str(tmp_path))
    dataset = ImageDataset(pairs, str(tmp_path), 16, preset='example',
                           train=True, dtype=dtype)
    it = make_iterator(dataset, 4, 2, repeat=False, shuffle=True)
    assert isinstance(it, chainer.iterators.MultiprocessIterator)
    assert it.shared_mem >= dataset.example_nbytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            seen = 0
            for batch in it:
                x, t = dataset.converter(batch, None)
                assert x.dtype == numpy.float32 and x.shape[1:] == (3, 16, 16)
                assert t.dtype == numpy.int32
                seen += len(batch)
        finally:
            it.finalize()
    assert seen == len(pairs)
    assert not [w for w in caught if 'Shared memory' in str(w.message)]
    # Flags set in the workers are visible here.
    assert dataset.broken_count == 3
    err = capfd.readouterr().err
    for name in image_factory.BROKEN:
        assert err.count(name) == 1


# ---------------------------------------------------------------- cache

def _write_cache(directory, root, pairs, preset):
    with CacheWriter(directory, preset.name, preset.insize) as writer:
        for path, label in pairs:
            writer.add(path, label,
                       preset.read_stored(os.path.join(root, path)))


@pytest.mark.parametrize('preset_name', presets.PRESETS)
def test_cache_gives_the_same_examples_as_the_files(tmp_path, preset_name):
    root = str(tmp_path / 'images')
    pairs = make_tree(root)[:8]
    preset = presets.Preset(preset_name, 16)
    cache_dir = str(tmp_path / 'cache')
    _write_cache(cache_dir, root, pairs[:6], preset)  # two left out
    cache = ImageCache(cache_dir)
    assert len(cache) == 6
    assert cache.image(0).shape[1:] == preset.stored_size(40, 30)[::-1]
    files = ImageDataset(pairs, root, 16, preset=preset_name, train=False)
    cached = ImageDataset(pairs, root, 16, preset=preset_name, train=False,
                          cache=cache_dir)
    for i in range(len(pairs)):
        x_file, t_file = files[i]
        x_cache, t_cache = cached[i]
        assert t_file == t_cache
        numpy.testing.assert_allclose(x_cache, x_file, atol=2.5 / 255)


def test_cache_mismatch_and_unfinished_cache_are_refused(tmp_path):
    root = str(tmp_path / 'images')
    pairs = make_tree(root)[:2]
    cache_dir = str(tmp_path / 'cache')
    _write_cache(cache_dir, root, pairs, presets.Preset('blog', 16))
    with pytest.raises(CacheError, match="holds preset 'blog' at insize 16"):
        ImageDataset(pairs, root, 32, cache=cache_dir)
    os.remove(os.path.join(cache_dir, 'cache.json'))
    with pytest.raises(CacheError, match='not a finished image cache'):
        ImageCache(cache_dir)


def test_cache_pickles_without_its_memory_map(tmp_path):
    import pickle
    root = str(tmp_path / 'images')
    pairs = make_tree(root)[:2]
    cache_dir = str(tmp_path / 'cache')
    _write_cache(cache_dir, root, pairs, presets.Preset('blog', 16))
    cache = ImageCache(cache_dir)
    first = cache.image(1).copy()
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._data is None
    assert numpy.array_equal(clone.image(1), first)
    assert listfile.read_list(os.path.join(cache_dir, 'list.txt')) == pairs
