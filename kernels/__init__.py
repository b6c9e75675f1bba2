"""Faster CPU kernels for the functions the blog's networks spend their
training time in, switched on and off in this one place.

The models keep calling Chainer (L.Convolution2D, F.max_pooling_2d,
F.local_response_normalization). install() points those names at this
package's functions, which run their own FunctionNodes on NumPy arrays and
hand everything else (CuPy arrays, iDeep, dilation, groups) to Chainer's
original; uninstall() or reference() puts Chainer's own back. Each
replacement has its gradient checked against Chainer's in the tests, and
bench/train_speed.py measures both.
"""
import contextlib
import importlib

from kernels import allocator

# (Chainer module, name in it, our module, our function)
REPLACEMENTS = (
    ('chainer.functions.connection.convolution_2d', 'convolution_2d',
     'kernels.convolution', 'convolution_2d'),
    ('chainer.functions', 'convolution_2d',
     'kernels.convolution', 'convolution_2d'),
    ('chainer.functions', 'max_pooling_2d',
     'kernels.pooling', 'max_pooling_2d'),
    # L.InceptionBN calls the function through its module.
    ('chainer.functions.pooling.max_pooling_nd', 'max_pooling_2d',
     'kernels.pooling', 'max_pooling_2d'),
    ('chainer.functions', 'average_pooling_2d',
     'kernels.average_pooling', 'average_pooling_2d'),
    ('chainer.functions.pooling.average_pooling_2d', 'average_pooling_2d',
     'kernels.average_pooling', 'average_pooling_2d'),
    ('chainer.functions', 'batch_normalization',
     'kernels.batch_normalization', 'batch_normalization'),
    # L.BatchNormalization at test time (prediction, evaluation).
    ('chainer.functions', 'fixed_batch_normalization',
     'kernels.fixed_batch_normalization', 'fixed_batch_normalization'),
    ('chainer.functions', 'local_response_normalization',
     'kernels.normalization', 'local_response_normalization'),
    # The nodes F.relu builds, looked up when it runs: this reaches the
    # callers that hold F.relu itself (L.MLPConvolution2D).
    ('chainer.functions.activation.relu', 'ReLU', 'kernels.relu', 'ReLU'),
    ('chainer.functions.activation.relu', 'ReLUGrad2',
     'kernels.relu', 'ReLUGrad2'),
)

_originals = {}


def _targets():
    for module_name, name, ours_module, ours_name in REPLACEMENTS:
        module = importlib.import_module(module_name)
        ours = getattr(importlib.import_module(ours_module), ours_name)
        yield module, name, ours


def install():
    """Route the models' calls on NumPy arrays to this package's kernels."""
    for module, name, ours in _targets():
        current = getattr(module, name)
        if current is not ours:
            _originals[(module.__name__, name)] = current
            setattr(module, name, ours)


def uninstall():
    """Restore Chainer's own functions."""
    for module, name, _ in _targets():
        original = _originals.pop((module.__name__, name), None)
        if original is not None:
            setattr(module, name, original)


def installed():
    return all(getattr(module, name) is ours
               for module, name, ours in _targets())


def use(fast):
    """install() when `fast`, else uninstall()."""
    (install if fast else uninstall)()


@contextlib.contextmanager
def reference():
    """Chainer's own kernels inside the block, then as before."""
    was_installed = installed()
    uninstall()
    try:
        yield
    finally:
        if was_installed:
            install()


def add_argument(parser):
    parser.add_argument(
        '--reference-kernels', action='store_true',
        help="use Chainer's own CPU convolution, pooling, batch and local "
             "response normalization instead of this project's faster "
             "ones (kernels/)")


def select(on_cpu, reference=False):
    """The one decision on this process's kernels: installed for a CPU run
    unless `reference` (--reference-kernels); never for a GPU run, whose
    CuPy arrays they would only pass on. A CPU run also keeps the memory
    its steps free (kernels/allocator.py), whichever kernels it uses.
    Returns what a run records: 'kernels/', 'chainer' or 'none'."""
    use(on_cpu and not reference)
    if not on_cpu:
        return 'none'
    allocator.keep_freed_memory()
    return 'chainer' if reference else 'kernels/'
