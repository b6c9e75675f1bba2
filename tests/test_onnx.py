"""export_onnx.py and predict.py --onnx: onnxruntime computes what Chainer
does (needs the onnx extra: pip install -e ".[onnx]")."""
import glob
import json
import os
import subprocess
import sys

import chainer
import numpy
import pytest

import export_onnx
import models
import predict
from imagedata import presets

pytest.importorskip('onnx', reason='the onnx extra is not installed')
pytest.importorskip('onnxruntime', reason='the onnx extra is not installed')

from serving import onnx_export  # noqa: E402
from serving.onnx_runtime import OnnxClassifier  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = sorted(glob.glob(os.path.join(ROOT, 'sample', 'fashion-mnist', '*',
                                       '*.png')))[::10]


class _Reference(object):
    """Chainer's probabilities as predict.py computes them."""

    def __init__(self, model, mean):
        self.model, self.mean = model, mean

    def probabilities(self, crops):
        x = presets.normalise(crops, self.mean)
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            return chainer.functions.softmax(self.model.predict(x)).array


def _trained_looking(model, rng):
    """Batch normalization statistics other than the initial 0 and 1."""
    for link in model.links():
        if isinstance(link, chainer.links.BatchNormalization):
            link.avg_mean[:] = rng.uniform(-0.5, 0.5, link.avg_mean.shape)
            link.avg_var[:] = rng.uniform(0.5, 2, link.avg_var.shape)
    return model


@pytest.mark.parametrize('arch', models.BLOG_ARCHS)
def test_onnxruntime_equals_chainer_on_random_and_real_images(arch, tmp_path):
    rng = numpy.random.RandomState(0)
    model = _trained_looking(models.get_model(arch, 5), rng)
    size = model.insize
    mean = rng.uniform(0, 255, (3, size, size)).astype(numpy.float32)
    names = ['c{}'.format(k) for k in range(5)]
    path = str(tmp_path / 'model.onnx')
    with open(path, 'wb') as f:
        f.write(onnx_export.export(model, mean=mean, class_names=names,
                                   arch=arch).SerializeToString())
    classifier = OnnxClassifier(path)
    assert (classifier.arch, classifier.insize) == (arch, size)
    assert classifier.class_names == names
    reference = _Reference(model, mean)
    real = numpy.stack([classifier.crop(p) for p in SAMPLE[:2]])
    for crops in (export_onnx.random_crops(size, 2), real):
        assert export_onnx.largest_difference(
            reference, classifier, crops) <= export_onnx.TOLERANCE


def test_export_leaves_out_what_inference_does_not_use():
    model = models.get_model('googlenet', 5)
    proto = onnx_export.export(model)
    stored = {t.name for t in proto.graph.initializer}
    assert not any(name.startswith(('outa', 'outb', 'lina', 'linb'))
                   for name in stored)  # the auxiliary classifiers
    ops = {node.op_type for node in proto.graph.node}
    assert {'Conv', 'BatchNormalization', 'Concat', 'MaxPool',
            'AveragePool', 'Gemm', 'Softmax'} <= ops
    assert 'Dropout' not in ops


def test_export_script_writes_and_checks_the_run(run, tmp_path, capsys):
    out = tmp_path / 'run.onnx'
    assert export_onnx.main([run, '-o', str(out), '--check'] +
                            SAMPLE[:3]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('wrote {}'.format(out))
    assert len(lines) == 3 and all('within' in line for line in lines[1:])
    meta = OnnxClassifier(str(out))
    with open(os.path.join(run, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)
    assert meta.class_names == summary['class_names']
    assert meta.insize == summary['insize']


def test_export_of_a_missing_run_is_one_line(tmp_path, capsys):
    assert export_onnx.main([str(tmp_path / 'nothing')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and len(err.splitlines()) == 1


def _top1(argv, tmp_path, name):
    out = tmp_path / name
    assert predict.main(argv + SAMPLE + ['--jsonl', '-o', str(out)]) == 0
    return [(r['path'], r['label'], r['probability'])
            for r in map(json.loads, out.read_text().splitlines())]


def test_predict_onnx_gives_plain_predicts_top1(run, tmp_path):
    model = tmp_path / 'run.onnx'
    assert export_onnx.main([run, '-o', str(model), '--no-check']) == 0
    plain = _top1(['--run', run], tmp_path, 'plain.jsonl')
    onnx = _top1(['--onnx', str(model)], tmp_path, 'onnx.jsonl')
    assert [(p, label) for p, label, _ in plain] == \
        [(p, label) for p, label, _ in onnx]
    assert numpy.allclose([p for *_, p in plain], [p for *_, p in onnx],
                          atol=1e-4)


def test_predict_onnx_runs_without_chainer(run, tmp_path):
    model = tmp_path / 'run.onnx'
    assert export_onnx.main([run, '-o', str(model), '--no-check']) == 0
    code = ('import sys; sys.modules["chainer"] = None; import predict; '
            'sys.exit(predict.main(sys.argv[1:]))')
    done = subprocess.run(
        [sys.executable, '-c', code, '--onnx', str(model), '--jsonl'] +
        SAMPLE[:2], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_export_of_a_run_with_no_intact_model_is_one_line(run, tmp_path,
                                                          capsys):
    import shutil
    copy = tmp_path / 'run'
    shutil.copytree(run, str(copy))
    for name in ('model.npz', 'model_best.npz'):
        (copy / name).write_bytes(b'PK\x03\x04 truncated')
    assert export_onnx.main([str(copy), '-o', str(tmp_path / 'm.onnx')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('error: ') and 'model' in err[-1]
    assert not any('Traceback' in line for line in err)
    assert not (tmp_path / 'm.onnx').exists()
