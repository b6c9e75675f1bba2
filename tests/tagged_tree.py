"""A tree of tagged images for the multi-label tests: an image has a
colour tag when that channel is bright; tags.csv names each image's tags,
and `python -m labeling --tags` makes the lists."""
import csv
import os

import numpy
from PIL import Image

from labeling import __main__ as labeling_main

TAGS = ('blue', 'green', 'red')   # sorted, as labels.txt will hold them
CHANNEL = {'red': 0, 'green': 1, 'blue': 2}
COMBOS = [('red',), ('green',), ('blue',), ('red', 'green'),
          ('green', 'blue'), ('red', 'blue'), ('red', 'green', 'blue'), ()]
PER_COMBO = 4

_cache = {}


def make_tagged_tree(directory):
    """directory/images/c<k>/<j>.png, bright in the channels of
    COMBOS[k]; directory/tags.csv naming each image's tags."""
    rng = numpy.random.RandomState(0)
    rows = []
    for k, combo in enumerate(COMBOS):
        folder = os.path.join(directory, 'images', 'c {}'.format(k))
        os.makedirs(folder, exist_ok=True)
        for j in range(PER_COMBO):
            pixels = rng.randint(0, 80, (16, 20, 3))
            for tag in combo:
                pixels[:, :, CHANNEL[tag]] += 150
            relative = 'c {}/{}.png'.format(k, j)
            Image.fromarray(pixels.astype(numpy.uint8)).save(
                os.path.join(directory, 'images', relative))
            rows.append([relative, ' '.join(combo)])
    with open(os.path.join(directory, 'tags.csv'), 'w', encoding='utf-8',
              newline='') as f:
        csv.writer(f).writerows(rows)
    return directory


def tagged_data(tmp_path_factory):
    """The tagged tree and its lists by `python -m labeling --tags`."""
    if 'data' not in _cache:
        data = make_tagged_tree(str(tmp_path_factory.mktemp('tagged')))
        assert labeling_main.main([
            os.path.join(data, 'images'), '--tags',
            os.path.join(data, 'tags.csv'), '--out', data, '--val-ratio',
            '0.25']) == 0
        _cache['data'] = data
    return _cache['data']


def tags_of(labels):
    return tuple(TAGS[k] for k in labels)
