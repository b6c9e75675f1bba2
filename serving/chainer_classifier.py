"""A trained run's network in Chainer, with the same interface as
serving/onnx_runtime.py's OnnxClassifier: crop(path), probabilities(crops),
class_names, multi_label, insize."""
import chainer
import chainer.functions as F
import numpy

from imagedata import presets
from models import sizing
from trainer.errors import UsageError


def check_insize(insize, run, model, mean):
    """The input size to classify at: the run's unless `insize` says
    otherwise and the network can take it."""
    if insize is None or insize == run.insize:
        return run.insize
    if mean is not None:
        raise UsageError(
            '--insize {}: this run subtracts a {}x{} mean image, so it '
            'classifies only at that size'.format(insize, *mean.shape[1:]))
    if insize < 1 or not sizing.accepts(model.predict, insize):
        raise UsageError(
            '--insize {}: this {} run was built for {}x{} images and cannot '
            'classify {}x{} ones'.format(insize, run.arch, run.insize,
                                         run.insize, insize, insize))
    return insize


class ChainerClassifier(object):

    def __init__(self, run, model, device, insize=None):
        self.run = run
        self.arch = run.arch
        self.class_names = run.class_names
        self.n_class = run.n_class
        self.multi_label = run.multi_label
        self.mean = run.mean()
        self.insize = check_insize(insize, run, model, self.mean)
        self.preset = presets.Preset(run.preprocess, self.insize)
        model.to_device(device)
        device.use()
        self.model = model
        self.device = device

    def crop(self, path):
        """An image file as the run's validation crops: uint8 (3, insize,
        insize)."""
        return self.preset.crop_file(path, train=False, rng=None)

    def probabilities(self, crops):
        x = presets.normalise(numpy.asarray(crops), self.mean)
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            y = (F.sigmoid if self.multi_label else F.softmax)(
                self.model.predict(self.device.send(x)))
        return chainer.backend.CpuDevice().send(y.array)
