"""Random erasing (--random-erase): one rectangle of a training crop, in
the paper's ranges, never a validation image, nothing at all at P = 0."""
import argparse
import os

import numpy
import pytest

import image_factory
import tiny_runs
import train_imagenet
from imagedata import erasing
from imagedata.dataset import ImageDataset
from tiny_runs import read_summary, train_args


def make_pairs(root, n=6):
    pairs = []
    for k in range(n):
        relative = 'img{}.png'.format(k)
        image_factory.write_photo(os.path.join(root, relative), 60 + 7 * k,
                                  45 + 5 * k, seed=k, fmt='PNG')
        pairs.append((relative, k % 2))
    return pairs


def dataset(root, pairs, preset, augment=None, train=True, insize=24,
            mean=None, seed=0):
    return ImageDataset(pairs, root, insize, preset=preset, mean=mean,
                        train=train, dtype=numpy.uint8, seed=seed,
                        augment=augment)


def examples(data):
    return [data[i][0] for i in range(len(data))]


def changed_box(original, erased):
    """(top, left, h, w) of the pixels that differ, asserting that they
    fill that rectangle exactly."""
    mask = (original != erased).any(axis=0)
    rows = numpy.flatnonzero(mask.any(axis=1))
    cols = numpy.flatnonzero(mask.any(axis=0))
    top, left = rows[0], cols[0]
    h, w = rows[-1] - top + 1, cols[-1] - left + 1
    assert mask.sum() == h * w  # every pixel inside changed, none outside
    return top, left, h, w


def assert_in_ranges(box, height, width):
    top, left, h, w = box
    assert 0 <= top and top + h <= height and 0 <= left and left + w <= width
    assert 0.02 <= h * w / (height * width) <= 0.4
    assert 0.3 <= h / w <= 1 / 0.3


@pytest.mark.parametrize('side', [4, 8, 24, 39, 227])
def test_rectangles_stay_in_the_papers_ranges(side):
    rng = numpy.random.default_rng(side)
    boxes = [erasing.draw_box(side, side, rng) for _ in range(300)]
    for box in boxes:
        assert box is not None
        assert_in_ranges(box, side, side)
    if side >= 24:  # the whole ranges are used
        fractions = [h * w / side ** 2 for _, _, h, w in boxes]
        aspects = [h / w for _, _, h, w in boxes]
        assert min(fractions) < 0.05 and max(fractions) > 0.3
        assert min(aspects) < 0.5 and max(aspects) > 2


def test_an_image_too_small_for_any_rectangle_stays_as_it_is():
    chw = numpy.full((3, 1, 2), 7, numpy.uint8)  # 0.02..0.4 of 2 pixels
    out, box = erasing.erase(chw, numpy.random.default_rng(0))
    assert box is None and out is chw


def test_erase_copies_and_fills_with_noise_or_the_mean():
    rng = numpy.random.default_rng(1)
    chw = rng.integers(0, 256, (3, 20, 30), dtype=numpy.uint8)
    keep = chw.copy()
    out, (top, left, h, w) = erasing.erase(chw, rng, 'noise')
    assert numpy.array_equal(chw, keep)  # the input (maybe the cache) kept
    assert changed_box(chw, out) == (top, left, h, w)
    out, (top, left, h, w) = erasing.erase(chw, rng, 'mean')
    inside = (slice(None), slice(top, top + h), slice(left, left + w))
    expected = numpy.rint(chw.reshape(3, -1).mean(axis=1)).astype(numpy.uint8)
    assert (out[inside] == expected[:, None, None]).all()
    mean = rng.uniform(0, 255, (3, 20, 30)).astype(numpy.float32)
    out, (top, left, h, w) = erasing.erase(chw, rng, 'mean', mean)
    inside = (slice(None), slice(top, top + h), slice(left, left + w))
    assert numpy.array_equal(out[inside],
                             numpy.rint(mean[inside]).astype(numpy.uint8))


@pytest.mark.parametrize('preset', ['blog', 'example'])
def test_an_erased_training_image_differs_in_one_rectangle_only(tmp_path,
                                                                 preset):
    root = str(tmp_path)
    pairs = make_pairs(root)
    for i in range(len(pairs)):
        # Fresh datasets: the same seed gives the same crop for example i.
        plain = dataset(root, pairs, preset)[i][0]
        erased = dataset(root, pairs, preset,
                         erasing.RandomErasing(1.0))[i][0]
        assert erased.dtype == numpy.uint8 and erased.shape == plain.shape
        assert_in_ranges(changed_box(plain, erased), 24, 24)


def test_validation_images_never_change(tmp_path):
    root = str(tmp_path)
    pairs = make_pairs(root)
    for preset in ('blog', 'example'):
        plain = examples(dataset(root, pairs, preset, train=False))
        erased = examples(dataset(root, pairs, preset,
                                  erasing.RandomErasing(1.0), train=False))
        assert [x.tobytes() for x in erased] == [x.tobytes() for x in plain]


def test_p_0_is_byte_identical_to_no_erasing(tmp_path):
    root = str(tmp_path)
    pairs = make_pairs(root)
    args = argparse.Namespace(random_erase=0.0, random_erase_fill='noise')
    assert erasing.from_args(args) is None
    for preset in ('blog', 'example'):
        for augment in (None, erasing.RandomErasing(0.0)):
            data = dataset(root, pairs, preset, augment)
            # Twice over: the random stream (crops) is not disturbed.
            got = examples(data) + examples(data)
            plain = dataset(root, pairs, preset)
            want = examples(plain) + examples(plain)
            assert [x.tobytes() for x in got] == [x.tobytes() for x in want]


def test_erasing_is_reproducible_with_the_seed(tmp_path):
    root = str(tmp_path)
    pairs = make_pairs(root)
    runs = [examples(dataset(root, pairs, 'example',
                             erasing.RandomErasing(0.5), seed=3))
            for _ in range(2)]
    assert [x.tobytes() for x in runs[0]] == [x.tobytes() for x in runs[1]]
    plain = examples(dataset(root, pairs, 'example', seed=3))
    changed = sum(a.tobytes() != b.tobytes() for a, b in zip(runs[0], plain))
    assert 0 < changed < len(plain) or len(plain) < 4


def test_probability_is_checked_by_the_parser(capsys):
    for bad in ('1.5', '-0.1', 'half', 'nan'):
        with pytest.raises(SystemExit):
            train_imagenet.parse_args(['t.txt', 'v.txt', '--random-erase',
                                       bad])
        assert 'expected a probability from 0 to 1' in capsys.readouterr().err
    args = train_imagenet.parse_args(['t.txt', 'v.txt'])
    assert args.random_erase == 0.0 and args.random_erase_fill == 'noise'


def test_training_run_records_random_erasing(tmp_path_factory, tmp_path):
    data = tiny_runs.data_dir(tmp_path_factory)
    out = str(tmp_path / 'erase')
    assert train_imagenet.main(train_args(
        data, out, '--test', '--random-erase', '0.5',
        '--random-erase-fill', 'mean')) == 0
    summary = read_summary(out)
    assert summary['random_erase'] == 0.5
    assert summary['random_erase_fill'] == 'mean'


def test_plain_run_records_random_erasing_off(tmp_path_factory):
    summary = read_summary(tiny_runs.two_epoch_run(tmp_path_factory))
    assert summary['random_erase'] == 0.0
    assert summary['random_erase_fill'] == 'noise'
