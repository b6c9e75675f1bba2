"""bench/profile_step.py: a step's time per function, exclusive of the
functions each one calls."""
import os
import sys
import time

import chainer
import chainer.functions as F
import numpy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'bench'))

import profile_step  # noqa: E402


class Outer(chainer.FunctionNode):
    """A function whose forward spends 20 ms itself and calls another
    function (10 ms): 20 ms is its own."""

    def forward(self, inputs):
        time.sleep(0.02)
        Inner().apply((inputs[0].copy(),))
        return inputs[0] * 2,


class Inner(chainer.FunctionNode):
    def forward(self, inputs):
        time.sleep(0.01)
        return inputs[0],


def test_nested_calls_count_once_each():
    timer = profile_step.ExclusiveTimer()
    with timer:
        Outer().apply((numpy.ones(3, numpy.float32),))
    outer = timer.seconds[('Outer', 'forward')]
    inner = timer.seconds[('Inner', 'forward')]
    assert 0.018 < outer < 0.028 and 0.009 < inner < 0.016
    assert timer.calls[('Outer', 'forward')] == 1


def test_backward_is_timed_apart():
    timer = profile_step.ExclusiveTimer()
    x = chainer.Variable(numpy.ones((2, 3), numpy.float32))
    with timer:
        F.sum(F.relu(x)).backward()
    assert ('ReLU', 'forward') in timer.seconds
    assert ('ReLU', 'backward') in timer.seconds


def test_report_of_a_tiny_network(capsys):
    assert profile_step.main(['--arch', 'nin', '--insize', '39',
                              '--batchsize', '2', '--steps', '1']) == 0
    out = capsys.readouterr().out
    assert out.startswith('nin at 39x39, batch 2, kernels/')
    rows = [line for line in out.splitlines() if line.startswith('| ')]
    names = [row.split(' | ')[0][2:] for row in rows[1:]]
    assert 'Convolution2D' in names and 'optimizer update' in names
    shares = [float(row.rstrip(' |').rsplit('| ', 1)[1].rstrip('%'))
              for row in rows[1:-1]]
    assert abs(sum(shares) - 100.0) < 0.5  # the rows add up to the step


class GraphCounter(chainer.Chain):
    """A model that counts, at each call, the function nodes still alive
    from earlier calls (a graph kept into the next step)."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.fc = chainer.links.Linear(3, 2)
        self.alive = []

    def __call__(self, x, t):
        import gc
        gc.collect()
        self.alive.append(sum(isinstance(o, chainer.FunctionNode)
                              for o in gc.get_objects()))
        return F.softmax_cross_entropy(self.fc(x), t)


def test_no_graph_survives_into_the_next_step():
    model = GraphCounter()
    x = numpy.ones((2, 3), numpy.float32)
    t = numpy.zeros(2, numpy.int32)
    profile_step.profile(model, x, t, steps=3, warmup=1)
    # Each step starts as the warm-up's did (Chainer's optimizer.update
    # drops its loss): the timed steps' memory is a real step's.
    assert model.alive == [model.alive[0]] * 4
