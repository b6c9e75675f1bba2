"""Redo the size arithmetic of a traced forward pass for any input size.

``replay`` recomputes every node's output shape for an input size from the
layer objects: kernel, stride and pad of each ``Convolution2D``, the window
of each pooling call, the input width of each ``Linear``; ``check`` holds it
against the shapes the traced pass produced. Nothing about an architecture
is written here.
"""
import inspect

import numpy as np

from shapes.trace import (CHANNELS, CONCAT, CONV, LINEAR, POOLS, RESHAPE,
                          SAME_SHAPE, shape_text)


class SizeError(Exception):
    """An input size the network cannot take; the message is one line."""

    def __init__(self, message, step):
        super(SizeError, self).__init__(message)
        self.step = step


class Arith(object):
    """One axis of (N + 2P - F)/S + 1 with the rounding Chainer applies."""

    def __init__(self, n, pad, kernel, stride, cover_all):
        self.n, self.pad, self.kernel, self.stride = n, pad, kernel, stride
        self.cover_all = cover_all
        span = n + 2 * pad - kernel
        self.remainder = span % stride
        if cover_all:  # Chainer: (N + 2P - F + S - 1) // S + 1
            self.out = (span + stride - 1) // stride + 1
        else:
            self.out = span // stride + 1

    @property
    def dropped(self):
        """Edge pixels no window reaches (rounding down, inexact)."""
        return 0 if self.cover_all else self.remainder

    @property
    def partial(self):
        """A last window that hangs over the edge (rounding up, inexact)."""
        return self.cover_all and self.remainder != 0

    def text(self):
        inner = '({} + 2*{} - {})/{}'.format(
            self.n, self.pad, self.kernel, self.stride)
        if self.cover_all:
            inner = 'ceil({})'.format(inner)
        elif self.remainder:
            inner = 'floor({})'.format(inner)
        return '{} + 1 = {}'.format(inner, self.out)


class Replay(object):
    """Computed shapes (and arithmetic) per step; ``error`` if one broke."""

    def __init__(self, shapes, arith, error):
        self.shapes, self.arith, self.error = shapes, arith, error


def _window_rule(step, ins, follows_input):
    (n, c, h, w), = ins
    kernel, stride, pad, cover_all = step.window()
    if follows_input:  # e.g. average_pooling_2d(h, h.shape[2])
        stride = (h, w) if stride == kernel else stride
        kernel = (h, w)
    if step.kind == CONV:
        want = step.link.W.shape[1] * step.link.groups
        if c != want:
            raise SizeError('{} expects {} input channels, got {}'.format(
                step.name, want, c), step)
        c = step.link.W.shape[0]
    ah, aw = (Arith(size, p, k, s, cover_all) for size, p, k, s in
              zip((h, w), pad, kernel, stride))
    if ah.out < 1 or aw.out < 1:
        raise SizeError('{}: a {}x{} window does not fit in {}x{} (pad {})'
                        .format(step.name, kernel[0], kernel[1], h, w,
                                pad[0]), step)
    return (n, c, ah.out, aw.out), ah


def _concat_rule(step, ins):
    axis = step.node.axis
    first = ins[0]
    for other in ins[1:]:
        if other[:axis] + other[axis + 1:] != first[:axis] + first[axis + 1:]:
            raise SizeError('{}: its inputs disagree, {} vs {}'.format(
                step.name, shape_text(first), shape_text(other)), step)
    return first[:axis] + (sum(s[axis] for s in ins),) + first[axis + 1:]


def _reshape_rule(step, ins):
    (shape,), target = ins, tuple(step.node.shape)
    size = int(np.prod(shape))
    known = int(np.prod([d for d in target if d != -1]))
    if -1 in target and size % known == 0:
        return tuple(size // known if d == -1 else d for d in target)
    if -1 not in target and known == size:
        return target
    raise SizeError('{} expects {} values per image, got {} = {}'.format(
        step.name, shape_text(target), shape_text(shape), size), step)


def _linear_rule(step, ins, shapes, steps, size, width_follows):
    (shape,) = ins
    want = step.link.W.shape[1]
    if shape[1] != want and not width_follows:
        got = str(shape[1])
        src = steps[step.sources[0]] if step.sources[0] >= 0 else None
        if src is not None and src.kind == RESHAPE:
            flat = ins_of(src, shapes, size)[0]
            if len(flat) > 2:
                got = '{} = {}'.format(shape_text(flat), shape[1])
        raise SizeError('{} expects {} inputs, got {}'.format(
            step.name, want, got), step)
    return (shape[0], step.link.W.shape[0])


def ins_of(step, shapes, size=None):
    """Computed shapes of a step's data inputs (-1: the image)."""
    image = (1, CHANNELS, size, size)
    return [image if s < 0 else shapes[s] for s in step.sources]


def builds_per_size(model):
    """Whether the model's class takes ``insize`` and sizes its fully
    connected layers from it (as the blog models do)."""
    return 'insize' in inspect.signature(type(model)).parameters


def replay(trace_, size, follows_input=frozenset()):
    """Recompute every step's output shape for a ``size`` x ``size`` image.

    ``follows_input``: indices of pooling steps whose window is the whole
    input (see ``shapes.cli.input_dependent_windows``). A model that
    builds per size takes any width into its fully connected layers: it
    is built for that size.
    """
    widths_follow = builds_per_size(trace_.model)
    shapes, arith = {}, {}
    for step in trace_.steps:
        if step.is_scalar:
            continue
        ins = ins_of(step, shapes, size)
        try:
            if step.kind == CONV or step.kind in POOLS:
                shape, arith[step.index] = _window_rule(
                    step, ins, step.index in follows_input)
            elif step.kind == CONCAT:
                shape = _concat_rule(step, ins)
            elif step.kind == RESHAPE:
                shape = _reshape_rule(step, ins)
            elif step.kind == LINEAR:
                shape = _linear_rule(step, ins, shapes, trace_.steps, size,
                                     widths_follow)
            elif step.kind in SAME_SHAPE or (
                    len(ins) == 1 and step.in_shapes[step.data_pos[0]] ==
                    step.observed):
                shape = ins[0]
            else:
                raise RuntimeError('no size rule for {} ({})'.format(
                    step.kind, step.name))
        except SizeError as error:
            return Replay(shapes, arith, error)
        shapes[step.index] = shape
    return Replay(shapes, arith, None)


def check(trace_):
    """Replay at the traced size; raise if any shape differs from Chainer's."""
    result = replay(trace_, trace_.insize)
    if result.error is not None:
        raise AssertionError('size arithmetic rejects {} but the forward '
                             'pass ran: {}'.format(trace_.insize,
                                                   result.error))
    for step in trace_.steps:
        if not step.is_scalar and result.shapes[step.index] != step.observed:
            raise AssertionError(
                '{}: computed {}, the forward pass gave {}'.format(
                    step.name, shape_text(result.shapes[step.index]),
                    shape_text(step.observed)))
    return result
