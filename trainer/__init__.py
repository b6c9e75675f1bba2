"""What train_imagenet.py wires together, kept out of the script so that
it reads top to bottom as Chainer code:

    errors      UsageError (bad input; StorageError: a full or read-only
                disk; ModelFileError) and TrainingStopped, one line each
    rundir      one live run per --out: the lock, --overwrite
    device      --gpu/--device, the GPU made current, seeding, cuDNN, and
                the one decision on this project's CPU kernels
    inputs      lists, images, mean, model and weights, checked up front
    extensions  images/s of the updates; batch-norm re-estimation
    safety      durable snapshots, --resume auto, NaN/inf and
                out-of-memory stops
    multinode   ChainerMN over MPI (--communicator)
    finetune    --initmodel (a model or run directory; with another class
                count, the layers that fit) and --freeze-features
    multilabel  --multi-label: several labels per image, sigmoid outputs
                and binary cross-entropy
    losses      --label-smoothing: softmax cross-entropy against smoothed
                targets
    schedules   --lr-schedule step (the blog's), cosine (with warm-up) or
                plateau, resumable
"""
