"""--label-smoothing EPS: softmax cross-entropy against smoothed targets.

The target of an image of class t among K classes is 1 - EPS + EPS/K on t
and EPS/K on every other class (EPS/K spread over all K classes, the true
one included: PyTorch's ``cross_entropy(label_smoothing=EPS)`` convention).
Its cross-entropy with the softmax p of the scores is

    (1 - EPS) * (-log p_t) + EPS * mean_k(-log p_k)

averaged over the batch; EPS = 0 is the blog's plain softmax cross-entropy.
"""
import argparse
import functools

import chainer
import chainer.functions as F


def label_smoothing_cross_entropy(x, t, eps=0.0, ignore_label=-1):
    """Mean over the batch of the cross-entropy between softmax(`x`) and
    the smoothed one-hot targets of `t` (shape (N, K) and (N,)). Images
    labelled `ignore_label` count in neither term, as in
    F.softmax_cross_entropy, which this equals at `eps` 0."""
    hard = F.softmax_cross_entropy(x, t, ignore_label=ignore_label)
    if eps == 0:
        return hard
    xp = chainer.backend.get_array_module(x)
    valid = (getattr(t, 'array', t) != ignore_label).astype(x.dtype)
    # On the device, no host synchronisation: at least 1 against 0/0.
    count = xp.maximum(valid.sum(), xp.asarray(1, dtype=x.dtype))
    # mean_k(-log p_k) of each image, summed over the valid ones
    spread = -F.sum(F.mean(F.log_softmax(x), axis=1) * valid)
    return (1.0 - eps) * hard + eps * spread / count


def smoothing(value):
    """argparse type of --label-smoothing: a float in [0, 1)."""
    try:
        eps = float(value)
    except ValueError:
        eps = None
    if eps is None or not 0.0 <= eps < 1.0:
        raise argparse.ArgumentTypeError(
            'must be a number from 0 up to (not including) 1, not '
            '{!r}'.format(value))
    return eps


def add_arguments(parser):
    parser.add_argument('--label-smoothing', type=smoothing, default=0.0,
                        metavar='EPS',
                        help='train against smoothed targets: EPS/K on '
                             'each of the K classes plus 1-EPS on the true '
                             "one (PyTorch's convention; e.g. 0.1 or 0.2; "
                             'default 0: the blog\'s plain softmax '
                             'cross-entropy)')


def check_args(parser, args):
    """Label smoothing spreads one label's softmax target; several labels
    per image (sigmoid outputs, --multi-label) have no such target."""
    if args.label_smoothing and getattr(args, 'multi_label', False):
        parser.error('--label-smoothing smooths the softmax target of one '
                     'label per image; it does not apply to --multi-label')


def set_loss(model, eps):
    """Makes every softmax cross-entropy of `model` (GoogLeNet's auxiliary
    heads too) the label-smoothed one; nothing at `eps` 0."""
    if eps:
        model.lossfun = functools.partial(label_smoothing_cross_entropy,
                                          eps=eps)
