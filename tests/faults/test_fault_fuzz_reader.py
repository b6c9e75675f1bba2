"""A few hundred damaged image files through the image reader: each one is
decoded to a valid RGB array or rejected with ImageReadError; never another
exception, a crash of the process or a hang."""
import io
import json
import os
import subprocess
import sys
import textwrap

import numpy
import pytest
from PIL import Image

from fault_runs import REPO

N_FILES = 300
SECONDS_PER_FILE = 10
EXTENSIONS = ('.jpg', '.png', '.gif', '.bmp', '.tif', '.webp')

# The child reads each file whole and as compute_mean and the feeder do
# (drafted and squashed to a 32-pixel input), a watchdog armed per file: a
# hang dumps the stack and ends the child, which the parent then reports.
_CHILD = textwrap.dedent('''
    import faulthandler, json, sys
    faulthandler.enable()
    from imagedata.presets import Preset
    from imagedata.reader import ImageReadError, read_image

    def verdict(read, path):
        try:
            array = read(path)
        except ImageReadError:
            return 'rejected'
        except BaseException as e:
            return 'raised {}: {}'.format(type(e).__name__, e)
        if (array.dtype.name != 'uint8' or array.ndim != 3
                or array.shape[0] != 3 or 0 in array.shape
                or not array.flags.c_contiguous):
            return 'bad array {} {}'.format(array.dtype, array.shape)
        return 'decoded'

    seconds = float(sys.argv[1])
    for path in sys.argv[2:]:
        print(json.dumps({'path': path, 'started': True}), flush=True)
        faulthandler.dump_traceback_later(seconds, exit=True)
        result = [verdict(read_image, path),
                  verdict(Preset('blog', 32).read_stored, path)]
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({'path': path, 'result': result}), flush=True)
''')


def originals():
    """Small valid images of every format the fuzz starts from."""
    rng = numpy.random.default_rng(1)
    pixels = rng.integers(0, 256, (30, 40, 3), dtype=numpy.uint8)
    rgb = Image.fromarray(pixels)
    made = []
    for fmt, img, options in (
            ('JPEG', rgb, {'quality': 90}),
            ('JPEG', rgb, {'progressive': True}),
            ('PNG', rgb.convert('RGBA'), {}),
            ('PNG', rgb.convert('L'), {}),
            ('GIF', rgb.convert('P'), {}),
            ('BMP', rgb, {}),
            ('TIFF', rgb, {'compression': 'tiff_deflate'}),
            ('WEBP', rgb, {'quality': 80})):
        buffer = io.BytesIO()
        img.save(buffer, format=fmt, **options)
        made.append(buffer.getvalue())
    return made


def damage(content, rng):
    """One seeded corruption: bit flips, a header hit, a truncation, a
    zeroed or repeated span; possibly several."""
    data = bytearray(content)
    for _ in range(int(rng.integers(1, 3))):
        kind = rng.integers(5)
        if kind == 0:  # bit flips anywhere
            for at in rng.integers(0, len(data), int(rng.integers(1, 20))):
                data[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # the header, where sizes and modes live
            for at in rng.integers(0, min(64, len(data)),
                                   int(rng.integers(1, 4))):
                data[at] = int(rng.integers(256))
        elif kind == 2:  # truncated
            data = data[:int(rng.integers(0, len(data)))]
        elif kind == 3 and len(data) > 8:  # zeroed span
            start = int(rng.integers(len(data)))
            end = min(len(data), start + int(rng.integers(1, 64)))
            data[start:end] = bytes(end - start)
        elif len(data) > 8:  # a span repeated
            start = int(rng.integers(len(data)))
            data[start:start] = data[start:start + int(rng.integers(1, 64))]
    return bytes(data)


def write_fuzz_files(directory, n_files, seed=0):
    rng = numpy.random.default_rng(seed)
    sources = originals()
    paths = []
    for k in range(n_files):
        content = sources[k % len(sources)]
        # One in five keeps its bytes intact but gets a wrong extension.
        if k % 5 != 4:
            content = damage(content, rng)
        path = os.path.join(directory, '{:03d}{}'.format(
            k, EXTENSIONS[int(rng.integers(len(EXTENSIONS)))]))
        with open(path, 'wb') as f:
            f.write(content)
        paths.append(path)
    return paths


def read_in_child(paths):
    child = subprocess.run(
        [sys.executable, '-c', _CHILD, str(SECONDS_PER_FILE)] + paths,
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=SECONDS_PER_FILE * 10 + 60)
    lines = [json.loads(line) for line in child.stdout.splitlines()]
    results = {line['path']: line['result'] for line in lines
               if 'result' in line}
    started = [line['path'] for line in lines if 'started' in line]
    unfinished = [path for path in started if path not in results]
    assert child.returncode == 0 and not unfinished, (
        'the reader crashed or hung on {}: {}'.format(
            unfinished, child.stderr[-2000:]))
    return results


def test_fuzzed_files_are_decoded_or_rejected(tmp_path):
    paths = write_fuzz_files(str(tmp_path), N_FILES)
    results = read_in_child(paths)
    assert sorted(results) == sorted(paths)
    wrong = {path: result for path, result in results.items()
             if any(r not in ('decoded', 'rejected') for r in result)}
    assert wrong == {}
    verdicts = [r for result in results.values() for r in result]
    # The corpus really exercises both outcomes.
    assert verdicts.count('decoded') > N_FILES // 5
    assert verdicts.count('rejected') > N_FILES // 5


def test_fuzz_child_reports_a_hang(tmp_path, monkeypatch):
    # The watchdog itself: a reader stuck on a FIFO that nobody writes.
    fifo = str(tmp_path / 'stuck.jpg')
    os.mkfifo(fifo)
    monkeypatch.setattr(sys.modules[__name__], 'SECONDS_PER_FILE', 1)
    with pytest.raises(AssertionError, match='crashed or hung on'):
        read_in_child([fifo])
