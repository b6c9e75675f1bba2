"""Run under mpiexec by test_mpi.py: train_imagenet.main(argv), then every
rank saves its replica to OUT/replica_<rank>.npz so that the test can
compare the ranks' parameters."""
import os
import sys

import chainer_compat  # noqa: F401  (must precede chainer)

import chainer

import models
import train_imagenet


def main(argv):
    replicas = []
    get_model = models.get_model

    def keep_model(*args, **kwargs):
        replicas.append(get_model(*args, **kwargs))
        return replicas[-1]

    models.get_model = keep_model
    status = train_imagenet.main(argv)
    if status == 0:
        from mpi4py import MPI
        rank = MPI.COMM_WORLD.Get_rank()
        out = argv[argv.index('--out') + 1]
        chainer.serializers.save_npz(
            os.path.join(out, 'replica_{}.npz'.format(rank)),
            replicas[0])
        print('rank {} finished'.format(rank))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
