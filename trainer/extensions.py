"""The training extensions train_imagenet.py adds to Chainer's: an
updater that measures images per second, and batch-normalization
statistics re-estimated before each validation."""
import time

import chainer
import numpy
from chainer import training


class TimedUpdater(training.updaters.StandardUpdater):
    """StandardUpdater that also measures training throughput.

    Chainer reports only the total elapsed time, which includes validation
    and snapshots; the blog's speed comparison needs images per second of
    the updates alone (loading, forward, backward, optimizer step).
    processes: data-parallel replicas advancing in step with this one
    (their images count too).
    """

    def __init__(self, *args, processes=1, **kwargs):
        super(TimedUpdater, self).__init__(*args, **kwargs)
        self.processes = processes
        self.update_seconds = 0.0
        self.images_seen = 0

    def update_core(self):
        start = time.perf_counter()
        super(TimedUpdater, self).update_core()
        self.synchronize()
        self.update_seconds += time.perf_counter() - start
        self.images_seen += self.get_iterator('main').batch_size

    def synchronize(self):
        """Waits for the GPU: its kernels run after their launch returns,
        so the clock would otherwise stop before the work is done."""
        device = self.device
        if device is None or device.xp is numpy:
            return
        synchronize = getattr(getattr(device, 'device', None),
                              'synchronize', None)
        if synchronize is not None:  # GpuDevice: a cupy.cuda.Device
            synchronize()

    @property
    def images_per_second(self):
        if not self.update_seconds:
            return None
        return self.images_seen * self.processes / self.update_seconds

    def serialize(self, serializer):
        super(TimedUpdater, self).serialize(serializer)
        self.update_seconds = float(
            serializer('update_seconds', self.update_seconds))
        self.images_seen = int(serializer('images_seen', self.images_seen))


class BatchStatistics(training.Extension):
    """Re-estimates every BatchNormalization's mean and variance, before
    each validation, from `images` training images run through the model
    as it now is, with dropout off.

    The running averages kept while training follow the weights of the
    last few hundred iterations, seen through dropout; a network with
    dropout before each of many batch normalizations (the blog's DenseNet)
    then evaluates with statistics of another input than it gets at test
    time. Each batch counts equally (a cumulative average, as Chainer's
    BatchNormalization does with finetune=True).
    """

    priority = training.PRIORITY_WRITER + 1  # before the Evaluator

    def __init__(self, iterator, model, converter, device, images):
        self.iterator, self.model = iterator, model
        self.converter, self.device, self.images = converter, device, images

    def __call__(self, trainer=None):
        norms = [link for link in self.model.links()
                 if isinstance(link, chainer.links.BatchNormalization)]
        if not norms:
            return
        dropouts = [link for link in self.model.links()
                    if getattr(link, 'dropout_ratio', None)]
        saved = ([link.decay for link in norms],
                 [link.dropout_ratio for link in dropouts])
        for link in dropouts:
            link.dropout_ratio = 0.0
        seen, batches = 0, 0
        try:
            with chainer.using_config('train', True), \
                    chainer.no_backprop_mode():
                while seen < self.images:
                    batch = self.iterator.next()
                    x, _ = self.converter(batch, self.device)
                    batches += 1
                    for link in norms:
                        link.decay = 1.0 - 1.0 / batches
                    self.model.predict(x)
                    seen += len(batch)
        finally:
            for link, decay in zip(norms, saved[0]):
                link.decay = decay
            for link, ratio in zip(dropouts, saved[1]):
                link.dropout_ratio = ratio
