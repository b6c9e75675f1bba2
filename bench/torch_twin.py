"""The same network in PyTorch, read off one Chainer forward pass.

A Chainer model is Python code, not a file of layers; its computational
graph is what it computed. Walking that graph (functions in order, with
their strides, pads, ratios and the parameters they used) gives a PyTorch
module that computes the same thing with copies of the same weights, so
the two frameworks are timed on one architecture defined once, in models/.

Only the functions the blog's four networks use are known; another one
raises UnsupportedFunction naming it.
"""
import chainer
import numpy

import kernels

import torch
import torch.nn.functional as F


class UnsupportedFunction(NotImplementedError):
    pass


def _as_numpy(array):
    return array.get() if hasattr(array, 'get') else numpy.asarray(array)


def _graph_functions(loss):
    """The function nodes behind `loss`, inputs first (Chainer's rank)."""
    seen, stack = {}, [loss.creator_node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(v.creator_node for v in node.inputs)
    return sorted(seen.values(), key=lambda node: node.rank)


def _pair(a, b):
    return (int(a), int(b))


class TorchTwin(torch.nn.Module):
    """forward(x, t) -> loss, as `model(x, t)` computed it in training."""

    def __init__(self, model, x, t):
        super(TorchTwin, self).__init__()
        # Read Chainer's own function nodes, not those of kernels/.
        with chainer.using_config('train', True), \
                chainer.using_config('enable_backprop', True), \
                kernels.reference():
            x, t = chainer.Variable(x), chainer.Variable(t)
            loss = model(x, t)
        self.weights = torch.nn.ParameterDict()
        keys = {id(x.node): 'x', id(t.node): 't'}
        for name, p in model.namedparams():
            key = name.strip('/').replace('/', '__')  # no dots allowed
            self.weights[key] = torch.nn.Parameter(torch.from_numpy(
                _as_numpy(p.array).copy()))
            keys[id(p.node)] = ('param', key)
        self.ops = []
        for index, node in enumerate(_graph_functions(loss)):
            inputs = [keys.get(id(v)) for v in node.inputs]
            if any(k is None for k in inputs):
                raise UnsupportedFunction(
                    '{}: an input that is not a parameter, x or t'.format(
                        type(node).__name__))
            attrs = self._attributes(node, index)
            out = 'v{}'.format(index)
            self.ops.append((type(node).__name__, attrs, inputs, out))
            keys[id(node.outputs[0]())] = out
        self.loss_key = keys[id(loss.node)]

    def _attributes(self, node, index):
        kind = type(node).__name__
        if kind == 'Convolution2DFunction':
            return dict(stride=_pair(node.sy, node.sx),
                        padding=_pair(node.ph, node.pw),
                        dilation=_pair(node.dy, node.dx),
                        groups=int(node.groups))
        if kind == 'MaxPoolingND':
            return dict(kernel_size=tuple(node.ksize),
                        stride=tuple(node.stride), padding=tuple(node.pad),
                        ceil_mode=bool(node.cover_all))
        if kind == 'AveragePooling2D':
            return dict(kernel_size=_pair(node.kh, node.kw),
                        stride=_pair(node.sy, node.sx),
                        padding=_pair(node.ph, node.pw),
                        count_include_pad=True)
        if kind == 'BatchNormalization':
            mean = 'bn{}_mean'.format(index)
            var = 'bn{}_var'.format(index)
            self.register_buffer(mean, torch.from_numpy(
                _as_numpy(node.running_mean).copy()))
            self.register_buffer(var, torch.from_numpy(
                _as_numpy(node.running_var).copy()))
            return dict(eps=float(node.eps), momentum=1 - float(node.decay),
                        buffers=(mean, var))
        if kind == 'LocalResponseNormalization':
            # Chainer: k + alpha * sum; PyTorch: k + alpha / n * sum.
            return dict(size=int(node.n), alpha=float(node.alpha * node.n),
                        beta=float(node.beta), k=float(node.k))
        if kind == 'Dropout':
            return dict(p=float(node.dropout_ratio))
        if kind == 'Reshape':
            return dict(shape=tuple(node.shape))
        if kind == 'Concat':
            return dict(dim=int(node.axis))
        if kind == 'MulConstant':
            return dict(value=float(node.value))
        if kind == 'SoftmaxCrossEntropy':
            return dict(ignore_index=int(node.ignore_label))
        if kind in ('LinearFunction', 'ReLU', 'Add'):
            return {}
        raise UnsupportedFunction(kind)

    def forward(self, x, t):
        values = {'x': x, 't': t}

        def get(key):
            if isinstance(key, tuple):
                return self.weights[key[1]]
            return values[key]

        for kind, attrs, inputs, out in self.ops:
            args = [get(k) for k in inputs]
            values[out] = self._run_op(kind, attrs, args)
        return values[self.loss_key]

    def _run_op(self, kind, attrs, args):
        if kind == 'Convolution2DFunction':
            return F.conv2d(*args, **attrs)
        if kind == 'LinearFunction':
            x = args[0].reshape(args[0].shape[0], -1)
            return F.linear(x, *args[1:])
        if kind == 'ReLU':
            return F.relu(args[0])
        if kind == 'MaxPoolingND':
            return F.max_pool2d(args[0], **attrs)
        if kind == 'AveragePooling2D':
            return F.avg_pool2d(args[0], **attrs)
        if kind == 'BatchNormalization':
            mean, var = (getattr(self, name) for name in attrs['buffers'])
            return F.batch_norm(args[0], mean, var, args[1], args[2],
                                training=self.training,
                                momentum=attrs['momentum'], eps=attrs['eps'])
        if kind == 'LocalResponseNormalization':
            return F.local_response_norm(args[0], **attrs)
        if kind == 'Dropout':
            return F.dropout(args[0], training=self.training, **attrs)
        if kind == 'Reshape':
            return args[0].reshape(attrs['shape'])
        if kind == 'Concat':
            return torch.cat(args, dim=attrs['dim'])
        if kind == 'Add':
            return sum(args[1:], args[0])
        if kind == 'MulConstant':
            return args[0] * attrs['value']
        if kind == 'SoftmaxCrossEntropy':
            return F.cross_entropy(args[0], args[1].long(), **attrs)
        raise UnsupportedFunction(kind)
