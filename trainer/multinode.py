r"""Data-parallel training over MPI with ChainerMN, for train_imagenet.py.

    mpiexec -n 4 python train_imagenet.py train.txt val.txt \
        --communicator naive

Every process trains a replica on its shard of the training list; the
multi-node optimizer averages the gradients, so the replicas stay identical.
--batchsize is per process (N processes: an effective batch of N x it).
Without --communicator, `Workers` stands for this process alone and every
method below falls back to plain Chainer.
"""
import importlib
import multiprocessing

import chainer

from trainer.errors import UsageError

# 'naive' is ChainerMN's only communicator without CUDA.
CPU_COMMUNICATORS = ('naive',)
COMMUNICATORS = ('naive', 'flat', 'non_cuda_aware', 'pure_nccl')
# These reduce over NCCL (CuPy's cupy.cuda.nccl), which loads only where
# a NCCL library is installed (the gpu extra's wheel).
NCCL_COMMUNICATORS = ('non_cuda_aware', 'pure_nccl')


def nccl_problem():
    """None if CuPy's NCCL loads in this process, else why not (short)."""
    try:
        nccl = importlib.import_module('cupy.cuda.nccl')
    except Exception as e:  # no CuPy, or a CuPy that fails to start
        return _one_line(e)
    if getattr(nccl, 'available', False):
        return None
    try:  # cupy.cuda.nccl keeps only a warning of why
        importlib.import_module('cupy_backends.cuda.libs.nccl')
    except Exception as e:
        return _one_line(e)
    return 'cupy.cuda.nccl.available is False'


def _one_line(error):
    return ' '.join(str(error).split()) or type(error).__name__


def check_nccl(communicator):
    """A one-line UsageError when `communicator` needs NCCL and it cannot
    be loaded: ChainerMN would fail later, after MPI has started."""
    if communicator not in NCCL_COMMUNICATORS:
        return
    why = nccl_problem()
    if why is not None:
        raise UsageError(
            '--communicator {}: NCCL cannot be loaded here ({}); install '
            'the gpu extra, or use flat'.format(communicator, why))


class Workers(object):
    """The processes of one run: rank, size and the ChainerMN wrappers."""

    def __init__(self, communicator=None, device=None, loaderjob=0):
        """device: from --gpu/--device; on GPUs each process takes the
        next one (--gpu N + its rank within the node)."""
        self.comm = None
        self.device = device
        if not communicator:
            return
        on_gpu = isinstance(device, chainer.backend.GpuDevice)
        if not on_gpu and communicator not in CPU_COMMUNICATORS:
            raise UsageError(
                '--communicator {} needs GPUs (--gpu 0); on the CPU use '
                '{}'.format(communicator, ' or '.join(CPU_COMMUNICATORS)))
        check_nccl(communicator)
        if loaderjob:
            # MultiprocessIterator's workers must not fork an MPI process
            # (ChainerMN's documented requirement): set before MPI starts.
            if multiprocessing.get_start_method(allow_none=True) != \
                    'forkserver':
                multiprocessing.set_start_method('forkserver', force=True)
        try:
            import chainermn
            from mpi4py import MPI  # noqa: F401
        except ImportError as e:  # mpi4py, or the MPI library, missing
            raise UsageError('--communicator needs mpi4py and MPI ({}); '
                             'pip install ".[mpi]"'.format(e))
        self._chainermn = chainermn
        try:
            self.comm = chainermn.create_communicator(communicator)
        except (RuntimeError, ValueError) as e:  # e.g. no NCCL in CuPy
            raise UsageError('--communicator {}: {}'.format(communicator, e))
        # A traceback on one rank aborts them all instead of leaving the
        # others waiting forever in the next allreduce.
        chainermn.global_except_hook.add_hook()
        if on_gpu:
            self.device = chainer.get_device('@cupy:{}'.format(
                device.device.id + self.comm.intra_rank))

    @property
    def rank(self):
        return self.comm.rank if self.comm else 0

    @property
    def size(self):
        return self.comm.size if self.comm else 1

    @property
    def is_root(self):
        return self.rank == 0

    def read_on_root(self, read):
        """read() on rank 0 only, its result (or its UsageError) sent to
        every rank, so that a bad list stops all of them with its message."""
        if not self.comm:
            return read()
        result = error = None
        if self.is_root:
            try:
                result = read()
            except UsageError as e:
                error = str(e)
        result, error = self.comm.bcast_obj(
            (result, error) if self.is_root else None, root=0)
        if error is not None:
            raise UsageError(error)
        return result

    def scatter(self, pairs, shuffle, seed):
        """This rank's shard of rank 0's (path, label) pairs (equal lengths:
        a short shard repeats examples)."""
        if not self.comm:
            return pairs
        shard = self._chainermn.scatter_dataset(
            pairs if self.is_root else None, self.comm, shuffle=shuffle,
            seed=seed)
        return [shard[i] for i in range(len(shard))]

    def optimizer(self, optimizer):
        if not self.comm:
            return optimizer
        return self._chainermn.create_multi_node_optimizer(optimizer,
                                                           self.comm)

    def evaluator(self, evaluator):
        if not self.comm:
            return evaluator
        return self._chainermn.create_multi_node_evaluator(evaluator,
                                                           self.comm)

    def average_statistics(self, trainer, model, trigger):
        """Averages batch-norm statistics over the replicas before each
        validation (`trigger`: the evaluator's), so that every rank
        evaluates, and rank 0 saves, the same model."""
        if self.comm:
            trainer.extend(self._chainermn.extensions.AllreducePersistent(
                model, self.comm), trigger=trigger)

    def root_only(self, function):
        """`function` on rank 0; a no-op elsewhere (logs, plots, snapshots,
        printing: one copy, written once)."""
        if self.is_root:
            return function
        return lambda *args, **kwargs: None
