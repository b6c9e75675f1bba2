"""The same network in PyTorch, read off one Chainer forward pass
(serving/graph.py): the functions in order, with their strides, pads,
ratios and the parameters they used, become a PyTorch module that computes
the same thing with copies of the same weights, so the two frameworks are
timed on one architecture defined once, in models/.

Only the functions the blog's four networks use are known; another one
raises UnsupportedFunction naming it.
"""
import torch
import torch.nn.functional as F

from serving.graph import Graph, UnsupportedFunction, as_numpy  # noqa: F401


def _pair(a, b):
    return (int(a), int(b))


class TorchTwin(torch.nn.Module):
    """forward(x, t) -> loss, as `model(x, t)` computed it in training;
    built without t, forward(x) -> the scores of `model.predict(x)` at test
    time (call .eval() for PyTorch's test-time behaviour too)."""

    def __init__(self, model, x, t=None):
        super(TorchTwin, self).__init__()
        graph = Graph(model, x, t)
        self.weights = torch.nn.ParameterDict()
        for key, array in graph.params.items():
            self.weights[key] = torch.nn.Parameter(torch.from_numpy(
                array.copy()))
        for name, array in graph.constants.items():
            self.register_buffer(name, torch.from_numpy(array.copy()))
        self.ops = [(kind, self._attributes(node, index), inputs, out)
                    for index, (kind, node, inputs, out)
                    in enumerate(graph.ops)]
        self.output_key = graph.output

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
                as_numpy(node.running_mean).copy()))
            self.register_buffer(var, torch.from_numpy(
                as_numpy(node.running_var).copy()))
            return dict(eps=float(node.eps), momentum=1 - float(node.decay),
                        buffers=(mean, var))
        if kind == 'FixedBatchNormalization':
            return dict(eps=float(node.eps))
        if kind == 'LocalResponseNormalization':
            # Chainer: k + alpha * sum; PyTorch: k + alpha / n * sum.
            return dict(size=int(node.n), alpha=float(node.alpha * node.n),
                        beta=float(node.beta), k=float(node.k))
        if kind == 'Dropout':
            return dict(p=float(node.dropout_ratio))
        if kind == 'Reshape':
            # What it gave for this batch (no -1 left); the batch axis
            # follows the input, so the twin takes any batch size.
            return dict(shape=tuple(node.outputs[0]().shape[1:]))
        if kind == 'Concat':
            return dict(dim=int(node.axis))
        if kind == 'MulConstant':
            return dict(value=float(node.value))
        if kind == 'SoftmaxCrossEntropy':
            return dict(ignore_index=int(node.ignore_label))
        if kind in ('LinearFunction', 'ReLU', 'Add'):
            return {}
        raise UnsupportedFunction(kind)

    def forward(self, x, t=None):
        values = {'x': x, 't': t}

        def get(key):
            if isinstance(key, tuple):
                kind, name = key
                return (self.weights[name] if kind == 'param'
                        else getattr(self, name))
            return values[key]

        for kind, attrs, inputs, out in self.ops:
            args = [get(k) for k in inputs]
            values[out] = self._run_op(kind, attrs, args)
        return values[self.output_key]

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
        if kind == 'FixedBatchNormalization':
            x, gamma, beta, mean, var = args
            return F.batch_norm(x, mean, var, gamma, beta, training=False,
                                eps=attrs['eps'])
        if kind == 'LocalResponseNormalization':
            return F.local_response_norm(args[0], **attrs)
        if kind == 'Dropout':
            return F.dropout(args[0], training=self.training, **attrs)
        if kind == 'Reshape':
            return args[0].reshape((args[0].shape[0],) + attrs['shape'])
        if kind == 'Concat':
            return torch.cat(args, dim=attrs['dim'])
        if kind == 'Add':
            return sum(args[1:], args[0])
        if kind == 'MulConstant':
            return args[0] * attrs['value']
        if kind == 'SoftmaxCrossEntropy':
            return F.cross_entropy(args[0], args[1].long(), **attrs)
        raise UnsupportedFunction(kind)
