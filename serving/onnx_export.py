"""A trained network as an ONNX model, for onnxruntime or any other ONNX
runtime.

Written here for exactly the functions the blog's four networks use
(convolution, ReLU, local response and batch normalization, max and
average pooling, concatenation, reshape, fully connected) instead of
through onnx-chainer: its last release imports `onnx.mapping`, which
current onnx no longer has, and it converts the whole of Chainer where
these networks need ten functions. The graph is read off one test-time
forward pass (serving/graph.py), so dropout is absent and batch
normalization uses the running statistics.

The model takes what the run's preset crops, before normalisation:
"image", float32 (N, 3, insize, insize), RGB values 0-255. The mean
subtraction and the 1/255 scale are the model's first nodes; it returns
"scores" and "probabilities" (softmax, or sigmoid for a multi-label run).
The metadata says the rest: architecture, input size, preset, class
names.
"""
import json

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper

from imagedata import presets
from serving.graph import Graph, UnsupportedFunction

OPSET = 17
# onnxruntime reads IR versions up to what its release knows; 8 goes with
# opset 17 and every onnxruntime from 1.14 on.
IR_VERSION = 8
PRODUCER = 'chainer-fashion-cnn'
INPUT, SCORES, PROBABILITIES = 'image', 'scores', 'probabilities'


def _name(key):
    return key[1] if isinstance(key, tuple) else key


def _pair_list(a, b):
    return [int(a), int(b)]


class _Builder(object):

    def __init__(self, batch):
        self.batch = batch
        self.nodes = []
        self.initializers = []

    def constant(self, name, array, dtype=numpy.float32):
        self.initializers.append(numpy_helper.from_array(
            numpy.asarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output],
                                           name=output, **attrs))
        return output

    def function(self, kind, node, inputs, out):
        """The ONNX node(s) for one Chainer function node."""
        if kind == 'Convolution2DFunction':
            if node.cover_all:
                raise UnsupportedFunction('convolution with cover_all')
            kh, kw = node.inputs[1].shape[2:]
            return self.node('Conv', inputs, out,
                             kernel_shape=[kh, kw],
                             strides=_pair_list(node.sy, node.sx),
                             pads=_pair_list(node.ph, node.pw) * 2,
                             dilations=_pair_list(node.dy, node.dx),
                             group=int(node.groups))
        if kind == 'ReLU':
            return self.node('Relu', inputs, out)
        if kind == 'LocalResponseNormalization':
            # Chainer: k + alpha * sum; ONNX: bias + alpha / size * sum.
            return self.node('LRN', inputs, out, size=int(node.n),
                             alpha=float(node.alpha * node.n),
                             beta=float(node.beta), bias=float(node.k))
        if kind == 'MaxPoolingND':
            return self.node('MaxPool', inputs, out,
                             kernel_shape=[int(k) for k in node.ksize],
                             strides=[int(s) for s in node.stride],
                             pads=[int(p) for p in node.pad] * 2,
                             ceil_mode=int(bool(node.cover_all)))
        if kind == 'AveragePooling2D':
            # Chainer divides by the whole window, padding included.
            return self.node('AveragePool', inputs, out,
                             kernel_shape=_pair_list(node.kh, node.kw),
                             strides=_pair_list(node.sy, node.sx),
                             pads=_pair_list(node.ph, node.pw) * 2,
                             count_include_pad=1)
        if kind == 'FixedBatchNormalization':
            return self.node('BatchNormalization', inputs, out,
                             epsilon=float(node.eps))
        if kind == 'Concat':
            return self.node('Concat', inputs, out, axis=int(node.axis))
        if kind == 'Reshape':
            shape = list(node.outputs[0]().shape)  # no -1 left in it
            if shape[0] != self.batch:
                raise UnsupportedFunction('a reshape across the batch axis')
            target = self.constant(out + '_shape', [-1] + shape[1:],
                                   numpy.int64)
            return self.node('Reshape', [inputs[0], target], out)
        if kind == 'LinearFunction':
            x = inputs[0]
            if len(node.inputs[0].shape) > 2:
                x = self.node('Flatten', [x], out + '_flat', axis=1)
            return self.node('Gemm', [x] + inputs[1:], out, transB=1)
        if kind in ('Dropout', 'Identity'):
            return self.node('Identity', inputs[:1], out)
        if kind == 'Add':
            return self.node('Sum', inputs, out)
        if kind == 'MulConstant':
            value = self.constant(out + '_value', float(node.value))
            return self.node('Mul', [inputs[0], value], out)
        raise UnsupportedFunction(kind)


def export(model, mean=None, class_names=None, arch=None, preprocess='blog',
           multi_label=False):
    """The onnx.ModelProto of `model`'s test-time forward pass. `mean`
    (3, insize, insize) is subtracted inside the model when given."""
    insize = int(model.insize)
    probe = numpy.zeros((1, 3, insize, insize), dtype=numpy.float32)
    graph = Graph(model, probe)
    build = _Builder(batch=1)
    used = {key[1] for _, _, inputs, _ in graph.ops for key in inputs
            if isinstance(key, tuple)}
    # Only what the test-time pass reads (not GoogLeNet's auxiliary heads).
    for key, array in sorted(list(graph.params.items()) +
                             list(graph.constants.items())):
        if key in used:
            build.constant(key, array)
    scaled = 'normalised'
    if mean is not None:
        build.constant('mean', mean)
        build.node('Sub', [INPUT, 'mean'], 'centred')
        build.node('Mul', ['centred', build.constant('scale', presets.SCALE)],
                   scaled)
    else:
        build.node('Mul', [INPUT, build.constant('scale', presets.SCALE)],
                   scaled)
    for kind, node, inputs, out in graph.ops:
        names = [scaled if key == 'x' else _name(key) for key in inputs]
        build.function(kind, node, names, out)
    build.node('Identity', [graph.output], SCORES)
    build.node('Sigmoid' if multi_label else 'Softmax', [SCORES],
               PROBABILITIES, **({} if multi_label else {'axis': 1}))
    n_class = int(model.n_class)
    onnx_graph = helper.make_graph(
        build.nodes, arch or type(model).__name__,
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT,
                                       ['batch', 3, insize, insize])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                       ['batch', n_class])
         for name in (SCORES, PROBABILITIES)],
        build.initializers)
    onnx_model = helper.make_model(
        onnx_graph, producer_name=PRODUCER,
        opset_imports=[helper.make_opsetid('', OPSET)])
    onnx_model.ir_version = IR_VERSION
    names = list(class_names or [str(k) for k in range(n_class)])
    helper.set_model_props(onnx_model, {
        'arch': arch or type(model).__name__,
        'insize': str(insize),
        'preprocess': preprocess,
        'class_names': json.dumps(names),
        'multi_label': json.dumps(bool(multi_label)),
        'input': 'RGB crop of the preset, float32 (N, 3, {0}, {0}), values '
                 '0-255; mean and 1/255 are applied inside'.format(insize),
    })
    onnx.checker.check_model(onnx_model)
    return onnx_model
