"""Data-parallel training over MPI: mpiexec -n 2 on the CPU, tiny data."""
import os
import re
import shutil
import subprocess
import sys
import types

import chainer
import numpy
import pytest

import models
from trainer import inputs, multinode
from trainer.errors import UsageError
from imagedata.dataset import ImageDataset, make_iterator
from tiny_runs import TINY, data_dir, read_log, read_summary, train_args

HERE = os.path.dirname(os.path.abspath(__file__))
RANKS = 2
TIMEOUT_S = 120  # a rank that dies mid-collective leaves the other waiting


def _mpi_missing():
    mpiexec = shutil.which('mpiexec')
    if mpiexec is None:
        return 'mpiexec not found (Debian: apt-get install openmpi-bin ' \
               'libopenmpi-dev)'
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return 'mpi4py not installed (pip install ".[mpi]")'
    version = subprocess.run([mpiexec, '--version'], capture_output=True,
                             text=True).stdout
    if 'Open MPI' not in version and 'OpenRTE' not in version:
        return 'the test drives Open MPI\'s mpiexec; found: {}'.format(
            version.splitlines()[:1])
    return None


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None,
                               reason=str(_mpi_missing()))


def mpiexec(argv):
    # Root in CI; more ranks than cores on a small machine.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1',
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1',
               OMPI_MCA_rmaps_base_oversubscribe='1',
               PYTHONPATH=os.pathsep.join(
                   [os.path.dirname(HERE), HERE,
                    os.environ.get('PYTHONPATH', '')]))
    command = ['mpiexec', '-n', str(RANKS), sys.executable,
               os.path.join(HERE, 'mpi_train.py')] + argv
    return subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return data_dir(tmp_path_factory)


@pytest.fixture(scope='module')
def mpi_run(data, tmp_path_factory):
    """2 epochs on 2 ranks, 12 training images each, batch 4 per rank, a
    loader process per rank (the forkserver start method)."""
    out = str(tmp_path_factory.mktemp('mpi'))
    argv = train_args(data, out, '--epoch', '2', '--communicator', 'naive')
    argv[argv.index('--batchsize') + 1] = '4'
    argv[argv.index('--loaderjob') + 1] = '1'
    finished = mpiexec(argv)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return out, finished.stdout


def load(path):
    model = models.get_model('densenet', 3, n_layer=2, growth_rate=4,
                             in_ch=8)
    chainer.serializers.load_npz(path, model)
    return model


@needs_mpi
def test_both_ranks_finish_and_rank_0_writes_the_run(mpi_run):
    out, stdout = mpi_run
    assert sorted(re.findall(r'rank \d+ finished', stdout)) == \
        ['rank {} finished'.format(r) for r in range(RANKS)]
    assert stdout.count('wrote ') == 1  # the summary, by rank 0 alone
    log = read_log(out)
    # 24 images shared by 2 ranks at 4 per rank: 3 iterations an epoch.
    assert [(e['epoch'], e['iteration']) for e in log] == [(1, 3), (2, 6)]
    summary = read_summary(out)
    assert summary['processes'] == RANKS
    assert summary['communicator'] == 'naive'
    assert summary['n_train'] == 24 and summary['finished'] is True


@needs_mpi
def test_replicas_are_identical_after_training(mpi_run):
    out, _ = mpi_run
    replicas = [dict(numpy.load(os.path.join(out, 'replica_{}.npz'.format(r))))
                for r in range(RANKS)]
    saved = dict(numpy.load(os.path.join(out, 'model.npz')))
    assert sorted(replicas[0]) == sorted(replicas[1]) == sorted(saved)
    # Weights and batch-norm statistics alike (the latter averaged).
    assert any(key.endswith('avg_mean') for key in saved)
    for key in saved:
        numpy.testing.assert_array_equal(replicas[0][key], replicas[1][key],
                                         err_msg=key)
        numpy.testing.assert_array_equal(replicas[0][key], saved[key],
                                         err_msg=key)
    initial = models.get_model('densenet', 3, n_layer=2, growth_rate=4,
                               in_ch=8)
    assert not numpy.array_equal(saved['conv1/W'], initial.conv1.W.array)


@needs_mpi
def test_validation_accuracy_is_that_of_one_process(mpi_run, data):
    out, _ = mpi_run
    model = load(os.path.join(out, 'model.npz'))
    pairs = inputs.read_lists(os.path.join(data, 'train.txt'),
                                       os.path.join(data, 'val.txt'))[1]
    val = ImageDataset(pairs, os.path.join(data, 'images'), model.insize,
                       train=False, dtype=numpy.uint8)
    evaluator = chainer.training.extensions.Evaluator(
        make_iterator(val, len(pairs), 0, repeat=False, shuffle=False),
        model, converter=val.converter)
    result = evaluator()
    last = read_log(out)[-1]
    assert float(result['main/accuracy']) == pytest.approx(
        last['validation/main/accuracy'], abs=1e-6)
    assert float(result['main/loss']) == pytest.approx(
        last['validation/main/loss'], rel=1e-5)


@needs_mpi
def test_bad_list_on_rank_0_stops_every_rank_with_its_message(data,
                                                              tmp_path):
    bad = tmp_path / 'train.txt'
    bad.write_text('red/0.png 0\nred/1.png\n')
    argv = [str(bad), os.path.join(data, 'val.txt'),
            '--root', os.path.join(data, 'images'), '--out',
            str(tmp_path / 'out'), '--communicator', 'naive'] + TINY
    finished = mpiexec(argv)
    assert finished.returncode == 2
    assert finished.stderr.count('train.txt:2:') == RANKS
    assert 'Traceback' not in finished.stderr


def test_without_communicator_the_workers_are_this_process():
    workers = multinode.Workers(None)
    pairs = [('a.png', 0), ('b.png', 1)]
    assert (workers.rank, workers.size, workers.is_root) == (0, 1, True)
    assert workers.scatter(pairs, shuffle=True, seed=0) is pairs
    assert workers.read_on_root(lambda: 42) == 42
    optimizer = chainer.optimizers.SGD()
    assert workers.optimizer(optimizer) is optimizer
    assert workers.root_only(len)([1, 2]) == 2


def test_gpu_communicator_on_the_cpu_is_a_one_line_error():
    with pytest.raises(UsageError,
                       match='pure_nccl needs GPUs.*use naive'):
        multinode.Workers('pure_nccl', chainer.get_device('@numpy'))


class StandInGpuDevice(chainer.backend.GpuDevice):
    """Passes for a GPU without CuPy or a device."""

    def __init__(self):
        pass


def test_nccl_communicator_without_nccl_is_one_line(monkeypatch):
    monkeypatch.setattr(multinode, 'nccl_problem', lambda: (
        'libnccl.so.2: cannot open shared object file'))
    # Checked before ChainerMN (or MPI) is asked.
    monkeypatch.setitem(sys.modules, 'chainermn', None)
    for name in multinode.NCCL_COMMUNICATORS:
        with pytest.raises(UsageError) as error:
            multinode.Workers(name, StandInGpuDevice())
        assert str(error.value) == (
            '--communicator {}: NCCL cannot be loaded here (libnccl.so.2: '
            'cannot open shared object file); install the gpu extra, or use '
            'flat'.format(name))


def test_flat_does_not_need_nccl(monkeypatch):
    def asked():
        raise AssertionError('flat reduces over MPI, not NCCL')
    monkeypatch.setattr(multinode, 'nccl_problem', asked)
    multinode.check_nccl('flat')
    multinode.check_nccl('naive')


def test_nccl_problem_reads_cupys_nccl_module(monkeypatch):
    nccl = types.SimpleNamespace(available=True)
    monkeypatch.setitem(sys.modules, 'cupy.cuda.nccl', nccl)
    assert multinode.nccl_problem() is None
    # CuPy sets available False when its NCCL binding fails to load.
    nccl.available = False
    monkeypatch.setitem(sys.modules, 'cupy_backends.cuda.libs.nccl', None)
    assert 'cupy_backends.cuda.libs.nccl' in multinode.nccl_problem()
    monkeypatch.setitem(sys.modules, 'cupy.cuda.nccl', None)
    assert 'cupy.cuda.nccl' in multinode.nccl_problem()


def test_help_says_which_communicators_need_nccl(capsys):
    import train_imagenet
    with pytest.raises(SystemExit):
        train_imagenet.parse_args(['--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert 'pure_nccl on GPUs (it and non_cuda_aware need NCCL, from the ' \
           'gpu extra; flat does not)' in help_text
