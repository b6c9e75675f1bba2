"""OUT/summary.json: what one training run was and how it ended.

The trainer writes it after every epoch (``finished: false``) and once more
when training ends, so an interrupted run still has one; `python -m
results`, `results.evaluate` and `predict.py` read it back.
"""
import json
import os
import platform

import chainer
import numpy
from chainer.training import extension

SUMMARY_FILE = 'summary.json'
MODEL_FILE = 'model.npz'
BEST_MODEL_FILE = 'model_best.npz'
MEAN_FILE = 'mean.npy'


class SummaryError(ValueError):
    """A run directory without a readable summary.json."""


def input_shape(insize):
    return '3x{0}x{0}'.format(insize)


def log_results(log):
    """Accuracies from LogReport entries: the final epoch's training and
    validation accuracy (the blog's train acc and test acc) and the best
    validation accuracy with its epoch."""
    def last(key):
        values = [entry[key] for entry in log if key in entry]
        return float(values[-1]) if values else None

    val = [(entry['validation/main/accuracy'], entry.get('epoch'))
           for entry in log if 'validation/main/accuracy' in entry]
    best, best_epoch = max(val, key=lambda pair: pair[0]) if val else (
        None, None)
    return {
        'train_accuracy': last('main/accuracy'),
        'test_accuracy': last('validation/main/accuracy'),
        'train_loss': last('main/loss'),
        'test_loss': last('validation/main/loss'),
        'best_test_accuracy': None if best is None else float(best),
        'best_epoch': best_epoch,
    }


def describe_device(device):
    """'cpu (model name, N cores)' or 'gpu 0 (NVIDIA ...)'."""
    if device.xp is numpy:
        return 'cpu ({}, {} cores)'.format(_cpu_name(), os.cpu_count())
    name = str(device)
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(device.device.id)
        name = 'gpu {} ({})'.format(device.device.id,
                                    props['name'].decode('utf-8', 'replace'))
    except Exception:  # the name is informative only
        pass
    return name


def _cpu_name():
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions():
    """Python, Chainer, NumPy; CuPy, its CUDA runtime and cuDNN (None
    where absent)."""
    found = {'python': platform.python_version(),
             'chainer': chainer.__version__,
             'numpy': numpy.__version__,
             'cupy': None, 'cuda': None, 'cudnn': None}
    try:
        import cupy
        found['cupy'] = cupy.__version__
    except Exception:  # not installed, or no CUDA: both mean "no CuPy"
        return found
    try:  # 12090 -> '12.9'
        runtime = cupy.cuda.runtime.runtimeGetVersion()
        found['cuda'] = '{}.{}'.format(runtime // 1000, runtime % 1000 // 10)
    except Exception:
        pass
    try:
        from cupy.cuda import cudnn
        found['cudnn'] = cudnn.getVersion()
    except Exception:  # CuPy 14 has no cuDNN
        pass
    return found


class SummaryReport(extension.Extension):
    """Writes OUT/summary.json from `fields` (what the run is) plus the
    log's accuracies, wall time and the updater's training throughput.

    Runs after LogReport (lower priority) so the epoch just ended is in.
    """

    trigger = 1, 'epoch'
    priority = extension.PRIORITY_READER - 50

    def __init__(self, fields):
        self.fields = dict(fields)

    def __call__(self, trainer, finished=False):
        log = trainer.get_extension('LogReport').log
        updater = trainer.updater
        data = dict(self.fields)
        data.update(log_results(log))
        data.update({
            'epoch': updater.epoch,
            'epoch_detail': round(updater.epoch_detail, 4),
            'iteration': updater.iteration,
            'images_seen': getattr(updater, 'images_seen', 0) * getattr(
                updater, 'processes', 1),
            'wall_time_s': round(trainer.elapsed_time, 2),
            'train_images_per_s': _rounded(
                getattr(updater, 'images_per_second', None)),
            'finished': finished,
        })
        write(trainer.out, data)


def _rounded(value, digits=2):
    return None if value is None else round(value, digits)


def write(run_dir, data):
    path = os.path.join(run_dir, SUMMARY_FILE)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write('\n')
    os.replace(tmp, path)


def load(run_dir):
    """The summary of a run directory; SummaryError names what is wrong."""
    path = os.path.join(run_dir, SUMMARY_FILE)
    if not os.path.isdir(run_dir):
        raise SummaryError('{}: not a directory'.format(run_dir))
    if not os.path.isfile(path):
        raise SummaryError('{}: no {} (is it the --out of a training '
                           'run?)'.format(run_dir, SUMMARY_FILE))
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except ValueError as e:
        raise SummaryError('{}: not valid JSON ({})'.format(path, e))
    missing = [key for key in ('arch', 'n_class', 'insize') if key not in data]
    if missing:
        raise SummaryError('{}: missing {}'.format(path, ', '.join(missing)))
    return data
