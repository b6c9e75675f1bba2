"""An exported network (export_onnx.py) run by onnxruntime: what serving
predictions needs without Chainer (onnxruntime, NumPy, Pillow).

The model's metadata gives the preset, the input size and the class
names; images are cropped as the run's validation images were
(imagedata/presets.py), and the model applies the mean and the scale
itself.
"""
import json

import numpy

from imagedata import presets


class OnnxError(Exception):
    """An ONNX file that cannot be loaded or is not one of ours."""


def load_runtime():
    try:
        import onnxruntime
    except ImportError:
        raise OnnxError('--onnx needs onnxruntime: pip install onnxruntime '
                        '(or pip install -e ".[onnx]")')
    return onnxruntime


class OnnxClassifier(object):
    """probabilities(crops) for uint8 (N, 3, insize, insize) crops, with
    the class names, input size and preset the model was exported with."""

    def __init__(self, path, threads=None):
        onnxruntime = load_runtime()
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = onnxruntime.InferenceSession(
                path, options, providers=['CPUExecutionProvider'])
        except Exception as e:  # onnxruntime raises its own types
            raise OnnxError('{}: not a loadable ONNX model ({})'.format(
                path, str(e).splitlines()[0] if str(e) else type(e).__name__))
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.arch = meta.get('arch', 'unknown')
            self.insize = int(meta['insize'])
            self.class_names = json.loads(meta['class_names'])
            self.multi_label = json.loads(meta.get('multi_label', 'false'))
            self.preset = presets.Preset(meta.get('preprocess', 'blog'),
                                         self.insize)
        except (KeyError, ValueError) as e:
            raise OnnxError('{}: no metadata of export_onnx.py ({})'.format(
                path, e))
        self.n_class = len(self.class_names)

    def crop(self, path):
        """An image file as the model's input: uint8 (3, insize, insize)."""
        return self.preset.crop_file(path, train=False, rng=None)

    def probabilities(self, crops):
        batch = numpy.asarray(crops, dtype=numpy.float32)
        probabilities, = self.session.run(['probabilities'],
                                          {'image': batch})
        return probabilities
