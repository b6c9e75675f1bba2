"""Record a model's forward pass: every function node and where it ran.

``trace`` runs ``model(x, t)`` once for a single image under a Chainer
FunctionHook (every function node with its inputs) and a LinkHook (which
link was running), on Chainer's own kernels: those are the nodes whose
sizes ``shapes.replay`` recomputes for any input size from the layer
objects. Nothing about an architecture is written here.
"""
import chainer_compat  # noqa: F401  (must precede chainer)

import re

import chainer
import chainer.links as L
import numpy as np

import kernels

CHANNELS = 3  # images are fed as RGB

CONV = 'Convolution2DFunction'
LINEAR = 'LinearFunction'
POOLS = {'MaxPoolingND': 'max pool', 'MaxPooling2D': 'max pool',
         'AveragePooling2D': 'avg pool', 'AveragePoolingND': 'avg pool'}
CONCAT = 'Concat'
RESHAPE = 'Reshape'
# Functions whose output has the shape of their first input.
SAME_SHAPE = {'ReLU': 'relu', 'LocalResponseNormalization': 'LRN',
              'FixedBatchNormalization': 'BN', 'BatchNormalization': 'BN',
              'Dropout': 'dropout', 'Sigmoid': 'sigmoid', 'Tanh': 'tanh',
              'LeakyReLU': 'leaky relu', 'Softmax': 'softmax'}
LONG_NAMES = {'LRN': 'local response normalization',
              'BN': 'batch normalization'}
OP_NAMES = dict(SAME_SHAPE, **POOLS)
OP_NAMES.update({CONV: 'conv', LINEAR: 'fc', CONCAT: 'concat',
                 RESHAPE: 'reshape'})


class ForwardFailed(Exception):
    """Chainer raised during the traced forward pass."""

    def __init__(self, error, link_path, steps):
        first = (str(error).strip() or type(error).__name__).splitlines()[0]
        super(ForwardFailed, self).__init__(link_path + ': ' + first)
        self.error, self.link_path, self.steps = error, link_path, steps


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def shape_text(shape):
    """``(1, 256, 6, 6)`` -> ``'256x6x6'``: one image, batch axis left out."""
    return 'x'.join(str(d) for d in shape[1:]) or '1'


def _is_container(link):
    return isinstance(link, (chainer.Chain, chainer.ChainList))


class Step(object):
    """One function node of the forward pass and where it was called."""

    def __init__(self, index, node, scope, links, in_data, weight_ids):
        self.index = index
        self.node = node
        self.kind = type(node).__name__
        self.scope = scope  # link paths on the call stack, outermost first
        self.link = links[-1] if links and not _is_container(links[-1]) \
            else None
        # The innermost Chain or ChainList whose forward made this call.
        self.callsite = [p for p, lk in zip(scope, links)
                         if _is_container(lk)][-1] if links else '/'
        self.in_shapes = [a.shape for a in in_data]
        self.data_pos = [i for i, a in enumerate(in_data)
                         if id(a) not in weight_ids]
        self.weights = [weight_ids[id(a)] for a in in_data
                        if id(a) in weight_ids]
        self.sources = []  # producing step index per data input, -1: input
        self.observed = None
        self.name = None

    @property
    def op(self):
        return OP_NAMES.get(self.kind, self.node.label)

    @property
    def is_scalar(self):
        """Loss and metric nodes: nothing spatial left to compute."""
        return self.observed is None or len(self.observed) == 0

    @property
    def is_main(self):
        """A step that can change the shape, shown as a table row."""
        if self.is_scalar:
            return False
        if self.kind == RESHAPE and isinstance(self.link, L.Linear):
            return False  # the flattening inside Linear belongs to its row
        return self.kind not in SAME_SHAPE

    def window(self):
        """(kernel, stride, pad, cover_all) per axis of a conv or pooling."""
        node = self.node
        if self.kind == CONV:
            link = self.link  # the layer object is the source of truth
            kh, kw = link.W.shape[2:]
            dy, dx = _pair(link.dilate)
            return (((kh - 1) * dy + 1, (kw - 1) * dx + 1),
                    _pair(link.stride), _pair(link.pad), node.cover_all)
        if hasattr(node, 'ksize'):  # MaxPoolingND
            return (tuple(node.ksize), tuple(node.stride), tuple(node.pad),
                    node.cover_all)
        return ((node.kh, node.kw), (node.sy, node.sx), (node.ph, node.pw),
                node.cover_all)


class Trace(object):
    """The steps of one forward pass at ``insize`` and its output."""

    def __init__(self, model, insize, steps, output):
        self.model, self.insize = model, insize
        self.steps, self.output = steps, output


def modules(trace_):
    """Paths of the model's children that branch or concatenate inside."""
    return {s.scope[1] for s in trace_.steps if not s.is_scalar and
            len(s.sources) > 1 and len(s.scope) > 1}


class _LinkStack(chainer.LinkHook):
    name = 'shapes_trace_links'

    def __init__(self):
        self.stack = []

    def forward_preprocess(self, args):
        self.stack.append(args.link)

    def forward_postprocess(self, args):
        self.stack.pop()


class _Recorder(chainer.FunctionHook):
    name = 'shapes_trace_functions'

    def __init__(self, model, links):
        self.links = links
        self.paths = {id(lk): path for path, lk in model.namedlinks()}
        # Parameters and BN statistics are inputs too; they are not data.
        self.weight_ids = {id(p.array): p for p in model.params()}
        for link in model.links():
            for name in link._persistent:
                value = getattr(link, name)
                if isinstance(value, np.ndarray):
                    self.weight_ids[id(value)] = None
        self.steps = []

    def forward_postprocess(self, function, in_data):
        stack = list(self.links.stack)
        scope = tuple(self.paths[id(lk)] for lk in stack)
        self.steps.append(Step(len(self.steps), function, scope, stack,
                               in_data, self.weight_ids))


def _link_up(steps, output):
    """Fill each step's data sources and observed output shape."""
    index = {id(s.node): s.index for s in steps}
    for step in steps:
        inputs = getattr(step.node, 'inputs', None)
        if inputs is None:
            continue
        step.sources = [index.get(id(inputs[i].creator_node), -1)
                        if inputs[i].creator_node is not None else -1
                        for i in step.data_pos]
        out = step.node.outputs[0]() if step.node.outputs else None
        step.observed = out.shape if out is not None else None
    _name_steps(steps)


def _suffix(name):
    """'conv1' -> '1', 'inc5b' -> '5b', 'mlpconv3/2' -> '3'."""
    match = re.search(r'\d\w*$', name.split('/')[0])
    return match.group(0) if match else ''


def _layer_before(step, steps):
    """The nearest step up the data path that is a layer or changes the
    shape (a pooling after conv1, relu and LRN follows conv1)."""
    while step.sources and step.sources[0] >= 0:
        step = steps[step.sources[0]]
        if step.link is not None or step.is_main:
            return step.name
    return ''


def _name_steps(steps):
    """Links give names; a bare pooling is named after the layer it
    pools."""
    for step in steps:
        if step.link is not None:
            step.name = step.scope[-1].lstrip('/')
        elif step.callsite != '/':
            step.name = '{}/{}'.format(step.callsite.lstrip('/'),
                                       step.op.split()[-1])
        elif step.kind in POOLS:
            step.name = 'pool' + _suffix(_layer_before(step, steps))
        else:
            step.name = step.op.replace(' ', '_')
    # Repeated names of bare functions (a dense block's concats) get numbers.
    bare = [s for s in steps if s.is_main and s.link is None]
    for name in {s.name for s in bare}:
        same = [s for s in bare if s.name == name]
        if len(same) > 1:
            for n, step in enumerate(same, 1):
                step.name = '{}{}'.format(name, n)


def trace(model, insize):
    """Run ``model(x, t)`` on one zero image of ``insize`` and record it.

    Runs with ``train=False`` so BatchNormalization statistics stay as they
    are (dropout is then an identity and leaves no node). Raises
    ForwardFailed naming the innermost link that was running.
    """
    x = np.zeros((1, CHANNELS, insize, insize), np.float32)
    t = np.zeros((1,), np.int32)
    links = _LinkStack()
    recorder = _Recorder(model, links)
    # The size rules read Chainer's own function nodes.
    with chainer.using_config('train', False), kernels.reference(), links, \
            recorder:
        try:
            output = model(x, t)
        except Exception as error:  # any Chainer/NumPy complaint about sizes
            path = recorder.paths[id(links.stack[-1])] if links.stack \
                else '/'
            _link_up(recorder.steps, None)
            raise ForwardFailed(error, path.lstrip('/') or 'input',
                                recorder.steps)
    _link_up(recorder.steps, output)
    return Trace(model, insize, recorder.steps, output)
