"""The four blog models: sizes, gradients, evaluation before training, I/O."""
import chainer
from chainer import iterators, training
from chainer.training import extensions
import numpy as np
import pytest

import models

N_CLASS = 34
# Parameter counts of the blog's configurations at its 34 classes.
BLOG_PARAMS = {'alex': 58420642, 'nin': 6605026, 'densenet': 10893346}
SMALL_DENSENET = dict(n_layer=2, growth_rate=4, in_ch=8)


@pytest.fixture(scope='module', params=['alex', 'nin', 'googlenet',
                                        'densenet'])
def arch(request):
    return request.param


_cache = {}


def full_model(arch):
    """The blog-sized model, built once per test session (Alex takes ~3 s)."""
    if arch not in _cache:
        _cache[arch] = models.get_model(arch, N_CLASS)
    return _cache[arch]


def small_model(arch, n_class=N_CLASS):
    """Cheap stand-in for training-path tests: only DenseNet is shrunk."""
    if arch == 'densenet':
        return models.DenseNet(n_class=n_class, **SMALL_DENSENET)
    return models.get_model(arch, n_class)


def batch(model, n=2, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 1, (n, 3, model.insize, model.insize))
    t = rng.randint(0, model.n_class, n)
    return x.astype(np.float32), t.astype(np.int32)


def test_registry_names():
    assert sorted(models.ARCHS) == [
        'alex', 'densenet', 'googlenet', 'googlenetbn', 'nin']
    assert models.ARCHS['googlenet'] is models.ARCHS['googlenetbn']


def test_unknown_arch_lists_valid_names():
    with pytest.raises(ValueError, match='alex, densenet, googlenet'):
        models.get_model('resnet')


@pytest.mark.parametrize('arch,insize,layers', [
    ('alex', 227, 8), ('nin', 227, 12), ('googlenet', 224, 22),
    ('densenet', 32, 120)])
def test_blog_attributes(arch, insize, layers):
    model = full_model(arch)
    assert model.insize == insize
    assert model.n_layers == layers


@pytest.mark.parametrize('arch', sorted(BLOG_PARAMS))
def test_parameter_count_matches_blog(arch):
    assert full_model(arch).count_params() == BLOG_PARAMS[arch]


def test_googlenet_parameter_count_matches_its_layers():
    model = full_model('googlenet')
    # Every Linear input is written out; the aux fc sees 128 x 4 x 4.
    assert model.lina.W.shape == (1024, 2048)
    assert model.out.W.shape == (N_CLASS, 1024)
    total = sum(p.size for p in model.params())
    assert model.count_params() == total == 14616678


def test_densenet_count_follows_its_definition():
    k, n, c0, blocks, n_class = 4, 2, 8, 3, 5
    model = models.DenseNet(n_layer=n, growth_rate=k, in_ch=c0,
                            block=blocks, n_class=n_class)
    expected = 3 * 9 * c0 + c0  # first conv
    for b in range(blocks):
        start = c0 + b * n * k
        for i in range(n):
            c = start + i * k
            expected += 2 * c + 9 * c * k + k  # BN + conv3x3
        if b < blocks - 1:
            c = start + n * k
            expected += 2 * c + c * c + c  # BN + conv1x1
    c = c0 + blocks * n * k
    expected += 2 * c + c * n_class + n_class  # final BN + fc
    assert model.count_params() == expected
    assert model.n_layers == blocks * n


def test_every_parameter_exists_before_first_forward(arch):
    # The blog's input-dimension fix: no lazily sized (None) layers.
    model = full_model(arch)
    for name, param in model.namedparams():
        assert param.array is not None, name


def test_predict_shape_and_finite(arch):
    model = full_model(arch)
    x, _ = batch(model)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        y = model.predict(x)
    assert y.shape == (2, N_CLASS)
    assert np.isfinite(y.array).all()


def test_forward_backward_gives_finite_gradients(arch):
    model = small_model(arch)
    x, t = batch(model)
    model.cleargrads()
    loss = model(x, t)
    loss.backward()
    assert np.isfinite(float(loss.array))
    for name, param in model.namedparams():
        assert param.grad is not None, name
        assert np.isfinite(param.grad).all(), name
    assert any(np.abs(p.grad).sum() > 0 for p in model.params())


def test_forward_reports_loss_and_accuracy(arch):
    model = small_model(arch)
    x, t = batch(model)
    observation = {}
    reporter = chainer.Reporter()
    reporter.add_observer('main', model)
    with reporter.scope(observation):
        model(x, t)
    assert 0.0 <= float(observation['main/accuracy'].array) <= 1.0
    assert np.isfinite(float(observation['main/loss'].array))


def test_evaluator_runs_before_any_training_step(arch):
    # chainer#1691: evaluating a fresh model crashed the blog's example.
    model = small_model(arch, n_class=3)
    rng = np.random.RandomState(1)
    data = [(rng.uniform(0, 1, (3, model.insize, model.insize))
             .astype(np.float32), np.int32(i % 3)) for i in range(4)]
    it = iterators.SerialIterator(data, 2, repeat=False, shuffle=False)
    result = extensions.Evaluator(it, model)()
    assert set(result) >= {'main/loss', 'main/accuracy'}
    assert np.isfinite(result['main/loss'])


def test_save_and_load_npz_round_trip(arch, tmp_path):
    model = small_model(arch)
    path = str(tmp_path / 'model.npz')
    chainer.serializers.save_npz(path, model)
    other = small_model(arch)
    chainer.serializers.load_npz(path, other)
    for (name, a), (_, b) in zip(sorted(model.namedparams()),
                                 sorted(other.namedparams())):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)
    x, _ = batch(model)
    with chainer.using_config('train', False):
        np.testing.assert_array_equal(model.predict(x).array,
                                      other.predict(x).array)


def test_train_and_test_modes_differ(arch):
    model = small_model(arch)
    x, _ = batch(model, n=4)
    with chainer.using_config('train', False):
        y_test = model.predict(x).array
        y_test_again = model.predict(x).array
    y_train = model.predict(x).array  # dropout on / BN on batch statistics
    np.testing.assert_array_equal(y_test, y_test_again)
    assert not np.allclose(y_train, y_test)


@pytest.mark.parametrize('arch', ['alex', 'nin', 'densenet'])
def test_dropout_is_random_only_in_training(arch):
    model = small_model(arch)
    x, _ = batch(model)
    first = model.predict(x).array
    second = model.predict(x).array
    assert not np.allclose(first, second)


def test_trainer_step_updates_parameters(tmp_path):
    model = small_model('densenet', n_class=2)
    before = model.conv1.W.array.copy()
    data = [(np.full((3, 32, 32), i, np.float32), np.int32(i))
            for i in (0, 1)]
    optimizer = chainer.optimizers.MomentumSGD(lr=0.01)
    optimizer.setup(model)
    it = iterators.SerialIterator(data, 2)
    updater = training.StandardUpdater(it, optimizer)
    trainer = training.Trainer(updater, (1, 'iteration'), out=str(tmp_path))
    trainer.run()
    assert not np.array_equal(before, model.conv1.W.array)


# The smallest input each network takes; the shape tool derives the same.
SMALLEST = {'alex': 39, 'nin': 39, 'googlenet': 59, 'densenet': 4}


@pytest.mark.parametrize('arch', sorted(SMALLEST))
def test_each_network_is_built_for_a_smaller_input(arch):
    size = SMALLEST[arch]
    options = SMALL_DENSENET if arch == 'densenet' else {}
    model = models.get_model(arch, 5, insize=size, **options)
    assert model.insize == size
    x = np.zeros((2, 3, size, size), np.float32)
    with chainer.using_config('train', False):
        assert model.predict(x).shape == (2, 5)
    with pytest.raises(models.InputSizeError,
                       match=r'cannot take {0}x{0} images; nearest sizes it '
                             r'takes: {1}\b'.format(size - 1, size)):
        models.get_model(arch, 5, insize=size - 1, **options)


def test_fully_connected_widths_follow_the_input():
    # 39: pool5 leaves 256 x 1 x 1; 100: 256 x 2 x 2.
    assert models.Alex(n_class=5, insize=39).fc6.W.shape == (4096, 256)
    assert models.Alex(n_class=5, insize=100).fc6.W.shape == (4096, 1024)
    google = models.GoogLeNetBN(n_class=5, insize=128)
    # 128 -> inc4a's map 9 x 9, pooled 5/3 to 2 x 2, 128 maps each.
    assert google.lina.W.shape == google.linb.W.shape == (1024, 512)
    # Weights that do not depend on the size are the same shapes.
    nin = [p.shape for _, p in sorted(models.NIN(5, insize=39).namedparams())]
    assert nin == [p.shape for _, p in sorted(
        models.NIN(5, insize=227).namedparams())]


def test_input_size_must_be_positive():
    with pytest.raises(models.InputSizeError, match='must be positive'):
        models.NIN(5, insize=0)
