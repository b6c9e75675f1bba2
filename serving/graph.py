"""A network read off one Chainer forward pass: its functions in order,
each with the values it took (the images, parameters, constants such as
batch normalization's running statistics, or an earlier function's
output).

A Chainer model is Python code, not a file of layers; its computational
graph is what it computed. The PyTorch twin (bench/torch_twin.py) and the
ONNX exporter (serving/onnx_export.py) both rebuild the network from it,
so the architecture stays defined once, in models/.
"""
import chainer
import numpy

import kernels


class UnsupportedFunction(NotImplementedError):
    """A function of the graph that a rebuilder does not know."""


def as_numpy(array):
    return array.get() if hasattr(array, 'get') else numpy.asarray(array)


def function_nodes(variable):
    """The function nodes behind `variable`, inputs first (Chainer's
    rank)."""
    seen, stack = {}, [variable.creator_node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(v.creator_node for v in node.inputs)
    return sorted(seen.values(), key=lambda node: node.rank)


class Graph(object):
    """ops: (kind, node, input keys, output key), in order. A key is 'x',
    't', ('param', name), ('constant', name) or an op's output 'vN';
    params and constants map names to NumPy arrays; `output` is the key of
    the value the forward pass returned."""

    def __init__(self, model, x, t=None):
        """The graph of model(x, t) in training mode, or, without t, of
        model.predict(x) as at test time (running statistics, no
        dropout). Chainer's own function nodes are read, not those of
        kernels/."""
        train = t is not None
        with chainer.using_config('train', train), \
                chainer.using_config('enable_backprop', True), \
                kernels.reference():
            x = chainer.Variable(x)
            if train:
                t = chainer.Variable(t)
                out = model(x, t)
            else:
                out = model.predict(x)
        keys = {id(x.node): 'x'}
        if train:
            keys[id(t.node)] = 't'
        self.params = {}
        for name, p in model.namedparams():
            key = name.strip('/').replace('/', '__')  # no dots in names
            self.params[key] = as_numpy(p.array)
            keys[id(p.node)] = ('param', key)
        self.constants = {}
        self.ops = []
        for index, node in enumerate(function_nodes(out)):
            inputs = [self._key(keys, v, index, k)
                      for k, v in enumerate(node.inputs)]
            key = 'v{}'.format(index)
            self.ops.append((type(node).__name__, node, inputs, key))
            keys[id(node.outputs[0]())] = key
        self.output = keys[id(out.node)]
        # Keeps the last node's output alive for rebuilders reading its
        # shape (nodes hold their outputs only weakly).
        self.result = out

    def _key(self, keys, variable_node, index, position):
        key = keys.get(id(variable_node))
        if key is not None:
            return key
        # An input that is neither computed nor a parameter: a constant
        # of the function (e.g. FixedBatchNormalization's running mean),
        # which Chainer keeps on the node when the function retained it.
        if variable_node.creator_node is None and \
                variable_node.data is not None:
            name = 'c{}_{}'.format(index, position)
            self.constants[name] = as_numpy(variable_node.data)
            return ('constant', name)
        raise UnsupportedFunction(
            'an input of function {} that is neither the images, a '
            'parameter nor a constant'.format(index))
