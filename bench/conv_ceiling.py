#!/usr/bin/env python
"""How close a network's convolutions are to what the BLAS underneath
allows: every convolution layer, forward and backward, four ways.

    .venv-torch/bin/python bench/conv_ceiling.py --arch nin --arch googlenet
    .venv-torch/bin/python bench/conv_ceiling.py --arch googlenet --by-kind

For each convolution of the network (read off one forward pass of the
model, batch --batchsize, at its input size), the layer's own shapes timed
as:

  kernels/      kernels/convolution.py's Convolution2D (forward) and
                Convolution2DGrad (backward: the weight gradient, and the
                input's unless the layer reads the images)
  NumPy GEMM    the layer's matrix products alone, e.g. (Cout x Cin*kh*kw)
                times (Cin*kh*kw x N*Ho*Wo) forward, in NumPy's BLAS: no
                patch matrix to build, the least time any convolution over
                that BLAS takes
  PyTorch conv  torch's convolution and convolution_backward (oneDNN)
  PyTorch GEMM  the same matrix products in torch.mm

The layers' times add up per network; the ratios say where the gap lies:
kernels/ over NumPy GEMM is what our patch matrices cost on top of the
product, NumPy GEMM over PyTorch GEMM is the BLAS libraries' difference on
the same product. Each time is the median of --repeats after one warm-up
(each way's calls in a row: NumPy's and PyTorch's thread pools each keep
their threads spinning a moment after a call, which would slow the other
on 2 cores if they took turns call by call).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402
import collections  # noqa: E402
import time  # noqa: E402

import chainer  # noqa: E402
import numpy  # noqa: E402

import models  # noqa: E402
from kernels import allocator, convolution  # noqa: E402
from train_speed import random_batch  # noqa: E402

WAYS = ('kernels/', 'NumPy GEMM', 'PyTorch conv', 'PyTorch GEMM')


class ConvolutionShapes(chainer.FunctionHook):
    """(x shape, W shape, stride, pad) -> calls, for every convolution a
    forward pass runs."""

    name = 'ConvolutionShapes'

    def __init__(self):
        self.layers = collections.Counter()

    def forward_preprocess(self, function, in_data):
        if not function.label.startswith('Convolution2D'):
            return
        x, w = in_data[:2]
        stride = tuple(getattr(function, 'stride', None) or
                       (function.sy, function.sx))
        pad = tuple(getattr(function, 'pad', None) or
                    (function.ph, function.pw))
        self.layers[(x.shape, w.shape, stride, pad)] += 1


def convolution_layers(arch, batchsize):
    model = models.get_model(arch, models.N_CLASS)
    x, _ = random_batch(model.insize, batchsize)
    hook = ConvolutionShapes()
    with hook, chainer.using_config('train', False), \
            chainer.no_backprop_mode():
        model.predict(x)
    return model.insize, hook.layers


def median_seconds(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def layer_runs(x_shape, w_shape, stride, pad, phase, input_layer):
    """The four ways to compute one layer's `phase` ('forward' or
    'backward'), as callables."""
    import torch
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, x_shape).astype(numpy.float32)
    w = rng.uniform(-1, 1, w_shape).astype(numpy.float32)
    y_shape = convolution.reference_convolution_2d(
        x[:1], w, stride=stride, pad=pad).shape
    rows = w_shape[1] * w_shape[2] * w_shape[3]
    columns = x_shape[0] * y_shape[2] * y_shape[3]
    gy = rng.uniform(-1, 1, (x_shape[0], w_shape[0]) + y_shape[2:]).astype(
        numpy.float32)
    tx, tw, tgy = (torch.from_numpy(a) for a in (x, w, gy))
    node = convolution.Convolution2D(stride, pad)
    # The images need no gradient: only the weights' (and bias's).
    wanted = (1, 2) if input_layer else (0, 1, 2)

    def ours_forward():
        node.forward((x, w))

    # A strided layer's backward reads the patches its forward kept (as in
    # a training step): each call gets them back.
    ours_forward()
    kept = getattr(node, '_kept', None)

    def ours_backward():
        if kept is not None:
            node._kept = kept
        convolution.Convolution2DGrad(node, wanted).forward((x, w, gy))

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tw, stride=stride, padding=pad)

    def torch_backward():
        torch.ops.aten.convolution_backward(
            tgy, tx, tw, [w_shape[0]], list(stride), list(pad), [1, 1],
            False, [0, 0], 1, [not input_layer, True, True])
    products = [(w_shape[0], rows, columns)]  # forward: W times patches
    if phase == 'backward':
        products = [(w_shape[0], columns, rows)]  # gW: gy times patches'
        if not input_layer:
            products.append((rows, w_shape[0], columns))  # W' times gy
    matrices = [(rng.uniform(-1, 1, (m, k)).astype(numpy.float32),
                 rng.uniform(-1, 1, (k, n)).astype(numpy.float32))
                for m, k, n in products]
    tensors = [tuple(torch.from_numpy(a) for a in pair) for pair in matrices]

    def numpy_gemm():
        for a, b in matrices:
            a @ b

    def torch_gemm():
        for a, b in tensors:
            torch.mm(a, b)
    if phase == 'forward':
        return ours_forward, numpy_gemm, torch_forward, torch_gemm
    return ours_backward, numpy_gemm, torch_backward, torch_gemm


def layer_times(arch, batchsize, repeats, phase, ways=WAYS):
    """(calls, seconds per way in WAYS, kind) for each distinct
    convolution of the network; the ways not in `ways` are not timed
    (0)."""
    insize, layers = convolution_layers(arch, batchsize)
    for (x_shape, w_shape, stride, pad), calls in layers.items():
        input_layer = x_shape[1:] == (3, insize, insize)
        runs = layer_runs(x_shape, w_shape, stride, pad, phase, input_layer)
        kind = layer_kind(x_shape, w_shape, stride, pad, input_layer)
        yield calls, [median_seconds(run, repeats) if way in ways else 0.0
                      for way, run in zip(WAYS, runs)], kind


def layer_kind(x_shape, w_shape, stride, pad, input_layer):
    """How kernels/convolution.py computes the layer, in a few words."""
    g = convolution._Geometry(x_shape, w_shape, stride, pad, False)
    if input_layer:
        return 'first layer'
    if g.pointwise:
        return '1x1'
    if g.winograd:
        return 'Winograd {0}x{0}'.format(g.kh)
    if g.shifted:
        return 'shifted products'
    return 'patch matrix, stride {}'.format(g.sy) if g.sy == g.sx else \
        'patch matrix'


def measure(arch, batchsize, repeats, phase):
    """{kind: (convolution calls, seconds per way in WAYS)} of the
    network, and 'all' of them."""
    totals = collections.OrderedDict()
    for calls, seconds, kind in layer_times(arch, batchsize, repeats,
                                            phase):
        for key in (kind, 'all'):
            count, sums = totals.get(key, (0, [0.0] * len(WAYS)))
            totals[key] = (count + calls,
                           [t + calls * s for t, s in zip(sums, seconds)])
    totals['all'] = totals.pop('all')
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=sorted(models.ARCHS),
                        help='network (repeatable; default nin, googlenet)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--by-kind', action='store_true',
                        help='a row per kind of layer (first layer, 1x1, '
                             'Winograd, ...) before each total')
    args = parser.parse_args(argv)
    torch = torch_for_bench(parser)
    print('NumPy {} ({}), PyTorch {}, {} threads; batch {}, median of {}\n'
          .format(numpy.__version__, blas_name(), torch.__version__,
                  torch.get_num_threads(), args.batchsize, args.repeats))
    print('| network | phase | layers | ' + ' | '.join(w + ' ms' for w in WAYS) +
          ' | kernels/ / NumPy GEMM | NumPy GEMM / PyTorch GEMM | '
          'kernels/ / PyTorch conv |')
    print('|---|---|---:|' + '---:|' * (len(WAYS) + 3))
    for arch in args.arch or ['nin', 'googlenet']:
        for phase in ('forward', 'backward'):
            totals = measure(arch, args.batchsize, args.repeats, phase)
            for kind, (count, seconds) in totals.items():
                if kind == 'all' or args.by_kind:
                    print(table_row(arch, phase, kind, count, seconds))
            sys.stdout.flush()
    return 0


def table_row(arch, phase, kind, count, seconds):
    ours, gemm, torch_conv, torch_gemm = seconds
    return '| {} | {} | {} | {} | {:.2f} | {:.2f} | {:.2f} |'.format(
        arch, phase if kind == 'all' else '{}: {}'.format(phase, kind),
        count, ' | '.join('{:.0f}'.format(t * 1e3) for t in seconds),
        ours / gemm, gemm / torch_gemm, ours / torch_conv)


def torch_for_bench(parser):
    """PyTorch, with freed memory kept as a CPU training run keeps it
    (kernels/allocator.py); without PyTorch, the parser's one-line error
    saying where to run the bench."""
    try:
        import torch
    except ImportError:
        parser.error('needs PyTorch: make torch-venv, then run it with '
                     '.venv-torch/bin/python')
    allocator.keep_freed_memory()
    return torch


def blas_name():
    try:
        config = numpy.show_config(mode='dicts')
        return config['Build Dependencies']['blas']['name']
    except Exception:  # NumPy 1.x prints instead of returning a dict
        return 'BLAS'


if __name__ == '__main__':
    sys.exit(main())
