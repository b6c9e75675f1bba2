#!/usr/bin/env python
"""A network's Winograd layers (3x3 pad 1 and 5x5 pad 2, stride 1),
forward and backward: patch matrices against Winograd's F(2x2, 3x3),
F(4x4, 3x3) or F(2x2, 5x5) against PyTorch's.

    .venv-torch/bin/python bench/winograd_probe.py --arch alex --arch googlenet

kernels/winograd.py computes these layers with 2.25x or 4x (3x3) or 2.8x
(5x5) fewer multiplications than the patch matrix's product, plus transforms of
the input, the output and their gradients (compiled loops, numba). For
every such layer of the
network, at batch --batchsize, forward + backward (both gradients, or the
weights' alone for a layer that reads the images), median of --repeats:

  patches      kernels/convolution.py's patch-matrix path (numba off)
  Winograd     kernels/winograd.py
  products     Winograd's matrix products alone (16 or 36 each for y,
               gx and gW)
  transforms   Winograd less its products: the transforms' share
  PyTorch      torch's convolution and convolution_backward (oneDNN)

Needs numba (the `numba` extra) and torch (make torch-venv).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kernels.openblas  # noqa: F401,E402  (before NumPy loads)
import chainer_compat  # noqa: F401,E402

import argparse  # noqa: E402

import numpy  # noqa: E402

from kernels import compiled, convolution  # noqa: E402
from conv_ceiling import (  # noqa: E402
    blas_name, convolution_layers, median_seconds, torch_for_bench)

COLUMNS = ('patches', 'Winograd', 'products', 'transforms', 'PyTorch')


def winograd_layers(arch, batchsize):
    """(x shape, W shape, pad, calls, reads the images) of every layer
    that kernels/convolution.py hands to kernels/winograd.py."""
    insize, layers = convolution_layers(arch, batchsize)
    was, compiled.ENABLED = compiled.ENABLED, True
    try:
        return [(x_shape, w_shape, pad, calls,
                 x_shape[1:] == (3, insize, insize))
                for (x_shape, w_shape, stride, pad), calls
                in sorted(layers.items())
                if convolution._Geometry(x_shape, w_shape, stride, pad,
                                         False).winograd]
    finally:
        compiled.ENABLED = was


def compiled_loops(on, run):
    def switched():
        was, compiled.ENABLED = compiled.ENABLED, on
        try:
            run()
        finally:
            compiled.ENABLED = was
    return switched


def layer_times(x_shape, w_shape, pad, input_layer, repeats):
    """Seconds of one layer's forward + backward, one per COLUMNS but
    'transforms' (derived)."""
    import torch
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, x_shape).astype(numpy.float32)
    w = rng.uniform(-1, 1, w_shape).astype(numpy.float32)
    gy = rng.uniform(-1, 1, (x_shape[0], w_shape[0]) + x_shape[2:]).astype(
        numpy.float32)
    node = convolution.Convolution2D(1, pad)
    wanted = (1,) if input_layer else (0, 1)

    def ours():
        node.forward((x, w))
        convolution.Convolution2DGrad(node, wanted).forward((x, w, gy))
    tiles = x_shape[0] * ((x_shape[2] + 1) // 2) * ((x_shape[3] + 1) // 2)
    k, c = w_shape[:2]
    elements = (w_shape[2] + 1) ** 2  # of a tile: 16 or 36
    u = rng.uniform(-1, 1, (elements, k, c)).astype(numpy.float32)
    v = rng.uniform(-1, 1, (elements, c, tiles)).astype(numpy.float32)
    m = rng.uniform(-1, 1, (elements, k, tiles)).astype(numpy.float32)

    def products():
        numpy.matmul(u, v)  # forward
        numpy.matmul(m, v.transpose(0, 2, 1))  # gW
        if not input_layer:
            numpy.matmul(u.transpose(0, 2, 1), m)  # gx
    tx, tw, tgy = (torch.from_numpy(a) for a in (x, w, gy))

    def pytorch():
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tw, padding=pad)
        torch.ops.aten.convolution_backward(
            tgy, tx, tw, None, [1, 1], list(pad), [1, 1], False, [0, 0], 1,
            [not input_layer, True, False])
    patches, wino = compiled_loops(False, ours), compiled_loops(True, ours)
    return [median_seconds(run, repeats)
            for run in (patches, wino, products, pytorch)]


def row(label, patches, wino, products, pytorch):
    ms = (patches, wino, products, wino - products, pytorch)
    cells = [label] + ['{:.1f}'.format(t * 1e3) for t in ms]
    cells += ['{:.2f}'.format(patches / wino), '{:.2f}'.format(pytorch / wino)]
    return '| ' + ' | '.join(cells) + ' |'


def table(arch, batchsize, repeats):
    """Markdown rows: one per layer shape, then the network's sum."""
    rows, total = [], numpy.zeros(4)
    for x_shape, w_shape, pad, calls, input_layer in winograd_layers(
            arch, batchsize):
        seconds = layer_times(x_shape, w_shape, pad, input_layer, repeats)
        total += calls * numpy.array(seconds)
        rows.append(row('{} -> {}, {}x{}, {}x{}{}'.format(
            x_shape[1], w_shape[0], w_shape[2], w_shape[3], x_shape[2],
            x_shape[3], '' if calls == 1 else ' (x{})'.format(calls)),
            *seconds))
    rows.append(row('**{}, all**'.format(arch), *total))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', '-a', action='append',
                        choices=('alex', 'nin', 'googlenet', 'densenet'),
                        help='network (repeatable; default alex, nin, '
                             'googlenet)')
    parser.add_argument('--batchsize', '-B', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    if not compiled.numba:
        parser.error('kernels/winograd.py needs numba (the numba extra)')
    torch = torch_for_bench(parser)
    print('NumPy {} ({}), PyTorch {}, {} threads; batch {}; forward + '
          'backward, ms, median of {}\n'.format(
              numpy.__version__, blas_name(), torch.__version__,
              torch.get_num_threads(), args.batchsize, args.repeats))
    print('| layer | ' + ' | '.join(COLUMNS) + ' | patches / Winograd | '
          'PyTorch / Winograd |')
    print('|---|' + '---:|' * (len(COLUMNS) + 2))
    for arch in args.arch or ['alex', 'nin', 'googlenet']:
        for line in table(arch, args.batchsize, args.repeats):
            print(line)
            sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
