"""Fine-tuning (--initmodel from a run with another class count) and
--freeze-features: what is copied, what starts afresh, what trains."""
import os

import chainer
import numpy
import pytest

import models
import tiny_runs
import train_imagenet
from imagedata import listfile
from tiny_runs import read_summary, train_args
from trainer import finetune
from trainer.errors import UsageError

TINY_OPTIONS = dict(n_layer=2, growth_rate=4, in_ch=8)




@pytest.fixture(scope='module')
def two_classes(data, tmp_path_factory):
    """Lists of the first two classes (labels.txt of 2 names), over the
    same images; returns the args that point train_imagenet at them."""
    folder = str(tmp_path_factory.mktemp('two'))
    for name in ('train', 'val'):
        pairs = listfile.read_list(os.path.join(data, name + '.txt'))
        listfile.write_list(os.path.join(folder, name + '.txt'),
                            [pair for pair in pairs if pair[1] < 2])
    listfile.write_labels(os.path.join(folder, 'labels.txt'),
                          tiny_runs.CLASSES[:2])

    def args(out, *extra):
        argv = train_args(folder, out, *extra)
        argv[argv.index('--root') + 1] = os.path.join(data, 'images')
        return argv
    return args


def tiny(n_class):
    return models.DenseNet(n_class=n_class, **TINY_OPTIONS)


def params(model):
    return {name.strip('/'): param.array.copy()
            for name, param in model.namedparams()}


def file_values(path):
    with numpy.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def is_classifier(name, model):
    return any(name.startswith(head + '/')
               for head in finetune.classifier_paths(model))


def link_at(model, path):
    link = model
    for part in path.split('/'):
        link = link[int(part)] if isinstance(link, chainer.ChainList) \
            else link[part]
    return link


# ------------------------------------------------------------- the models

@pytest.mark.parametrize('arch, options', [
    ('alex', dict(insize=39)), ('nin', dict(insize=39)),
    ('googlenet', dict(insize=59)), ('densenet', TINY_OPTIONS),
    ('densenet', dict(TINY_OPTIONS, block=2))])
def test_every_model_names_its_classifier_links(arch, options):
    model = models.get_model(arch, 5, **options)
    heads = finetune.classifier_paths(model)
    assert heads
    for path in heads:
        link = link_at(model, path)
        assert link.W.shape[0] == 5, path  # n_class outputs
    # Everything else has the same shapes at another class count.
    other = models.get_model(arch, 7, **options)
    differ = {name for name, value in params(model).items()
              if value.shape != params(other)[name].shape}
    assert differ == {'{}/{}'.format(h, leaf) for h in heads
                      for leaf in ('W', 'b')}


# ------------------------------------------------------- loading by layer

def test_features_are_copied_bit_exact_and_the_classifier_starts_afresh(
        run, capsys):
    source = file_values(os.path.join(run, 'model_best.npz'))
    model = tiny(2)
    fresh = params(model)
    path = finetune.start_from(run, model)
    assert path == os.path.abspath(os.path.join(run, 'model_best.npz'))
    loaded = params(model)
    for name, value in loaded.items():
        if is_classifier(name, model):
            assert value.shape[0] == 2 and source[name].shape[0] == 3
            assert numpy.array_equal(value, fresh[name])  # untouched
        else:
            assert value.dtype == source[name].dtype
            assert numpy.array_equal(value, source[name]), name
    # Batch-norm statistics come along with their layers.
    bn = model['bn4']
    assert numpy.array_equal(bn.avg_mean, source['bn4/avg_mean'])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Load model from {}'.format(
        os.path.join(run, 'model_best.npz'))
    assert out[1] == ('  copied 18 of 19 layers: bn4, conv1, dense2 (4 '
                      'layers), dense3 (4 layers), dense4 (4 layers), '
                      'trans2 (2 layers), trans3 (2 layers)')
    assert out[2] == ('  not copied, initialised afresh: fc5, the '
                      'classifier (W: 3x32 in the file, 2x32 here; b: 3 in '
                      'the file, 2 here)')
    assert len(out) == 3


def test_a_run_directory_without_best_model_uses_model_npz(run, tmp_path):
    os.link(os.path.join(run, 'model.npz'), str(tmp_path / 'model.npz'))
    assert finetune.model_file(str(tmp_path)) == str(tmp_path / 'model.npz')
    assert finetune.model_file(run) == os.path.join(run, 'model_best.npz')


def test_same_class_count_is_the_exact_load_as_before(run, capsys):
    model = tiny(3)
    finetune.start_from(os.path.join(run, 'model.npz'), model)
    source = file_values(os.path.join(run, 'model.npz'))
    assert all(numpy.array_equal(value, source[name])
               for name, value in params(model).items())
    assert capsys.readouterr().out == 'Load model from {}\n'.format(
        os.path.join(run, 'model.npz'))


def test_a_trainer_snapshot_gives_its_model(run, capsys):
    model = tiny(2)
    finetune.start_from(os.path.join(run, 'snapshot_epoch_2'), model)
    source = file_values(os.path.join(run, 'model.npz'))
    for name, value in params(model).items():
        if not is_classifier(name, model):
            assert numpy.array_equal(value, source[name]), name
    assert 'copied 18 of 19 layers' in capsys.readouterr().out


def test_a_file_that_is_no_model_is_one_line(run, tmp_path):
    text = tmp_path / 'notes.npz'
    text.write_text('not weights\n')
    numpy.save(str(tmp_path / 'mean.npy'), numpy.zeros((3, 4, 4)))
    numpy.savez(str(tmp_path / 'other.npz'), a=numpy.zeros(3))
    for path, message in [
            (str(text), 'not a model file'),
            (str(tmp_path / 'mean.npy'), 'not a model file (one array'),
            (str(tmp_path / 'other.npz'), 'holds none of the 19 layers'),
            (str(tmp_path / 'missing.npz'), 'no such file or directory'),
            (str(tmp_path), 'a directory without model_best.npz or '
                            'model.npz')]:
        with pytest.raises(UsageError, match='^--initmodel ') as error:
            finetune.start_from(path, tiny(2))
        assert message in str(error.value)
        assert '\n' not in str(error.value)


def test_another_architecture_is_one_line(run):
    with pytest.raises(UsageError, match='no layer of this Alex has the '
                                         'shapes'):
        finetune.start_from(run, models.get_model('alex', 2, insize=39))
    with pytest.raises(UsageError, match='holds none of the .* layers of '
                                         'this NIN'):
        finetune.start_from(run, models.get_model('nin', 2, insize=39))


# ---------------------------------------------------------------- freezing

def test_frozen_features_do_not_move_while_the_classifier_trains(run):
    model = tiny(2)
    finetune.start_from(run, model, freeze=True)
    before = params(model)
    optimizer = chainer.optimizers.MomentumSGD(lr=0.1)
    optimizer.setup(model)
    optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(1e-3))
    finetune.freeze_features(model)
    rng = numpy.random.RandomState(0)
    for _ in range(3):
        x = rng.uniform(0, 1, (4, 3, 32, 32)).astype(numpy.float32)
        t = rng.randint(0, 2, 4).astype(numpy.int32)
        optimizer.update(model, x, t)
    after = params(model)
    moved = {name for name in after
             if not numpy.array_equal(after[name], before[name])}
    assert moved == {'fc5/W', 'fc5/b'}


def test_freezing_keeps_the_nin_head_inside_mlpconv4_trainable():
    model = models.get_model('nin', 2, insize=39)
    chainer.optimizers.MomentumSGD().setup(model)
    finetune.freeze_features(model, say=lambda line: None)
    enabled = {name.strip('/') for name, param in model.namedparams()
               if param.update_rule.enabled}
    assert enabled == {'mlpconv4/2/W', 'mlpconv4/2/b'}


def test_freeze_features_without_initmodel_is_one_line(data, tmp_path,
                                                       capsys):
    out = str(tmp_path / 'run')
    assert train_imagenet.main(train_args(data, out, '--test',
                                          '--freeze-features')) == 2
    assert capsys.readouterr().err.strip() == (
        'error: --freeze-features needs --initmodel (the weights to keep)')


def test_fine_tuning_run_from_3_to_2_classes_with_frozen_features(
        run, two_classes, tmp_path, capsys):
    out = str(tmp_path / 'tuned')
    tuning = ('--epoch', '2', '--initmodel', run, '--freeze-features')
    assert train_imagenet.main(two_classes(out, *tuning)) == 0
    printed = capsys.readouterr().out
    assert 'Load model from {}'.format(
        os.path.join(run, 'model_best.npz')) in printed
    assert '  copied 18 of 19 layers: ' in printed
    assert '  not copied, initialised afresh: fc5, the classifier' in printed
    assert '--freeze-features: training fc5 alone' in printed
    source = file_values(os.path.join(run, 'model_best.npz'))
    tuned = file_values(os.path.join(out, 'model.npz'))
    model = tiny(2)
    for name in params(model):
        if is_classifier(name, model):
            assert tuned[name].shape[0] == 2
        else:  # W, b, gamma, beta: exactly the source's after training
            assert numpy.array_equal(tuned[name], source[name]), name
    summary = read_summary(out)
    assert summary['n_class'] == 2
    assert summary['initmodel'] == os.path.abspath(
        os.path.join(run, 'model_best.npz'))
    assert summary['freeze_features'] is True
    # A frozen run resumes (the frozen layers have no optimizer state).
    resumed = str(tmp_path / 'resumed')
    assert train_imagenet.main(two_classes(
        resumed, *tuning, '--resume',
        os.path.join(out, 'snapshot_epoch_1'))) == 0
    again = file_values(os.path.join(resumed, 'model.npz'))
    assert all(numpy.array_equal(again[name], tuned[name])
               for name in params(model))


def test_plain_run_records_no_initmodel(run):
    summary = read_summary(run)
    assert summary['initmodel'] is None
    assert summary['freeze_features'] is False
