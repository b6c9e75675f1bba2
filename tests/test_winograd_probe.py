"""bench/winograd_probe.py finds a network's Winograd layers and times
them; the PyTorch benches say where to run them."""
import importlib
import importlib.util
import os
import sys

import pytest

pytest.importorskip('numba', reason='the numba extra is not installed')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'bench'))

import conv_ceiling  # noqa: E402
import winograd_probe  # noqa: E402


def test_alexnet_has_four_winograd_layers():
    layers = list(winograd_probe.winograd_layers('alex', 1))
    assert [(x[1:], w, pad, calls, first)
            for x, w, pad, calls, first in layers] == [
        ((96, 27, 27), (256, 96, 5, 5), (2, 2), 1, False),
        ((256, 13, 13), (384, 256, 3, 3), (1, 1), 1, False),
        ((384, 13, 13), (256, 384, 3, 3), (1, 1), 1, False),
        ((384, 13, 13), (384, 384, 3, 3), (1, 1), 1, False)]


def test_densenet_has_none_its_narrow_layers_are_shifted_products():
    assert winograd_probe.winograd_layers('densenet', 1) == []


def test_conv_ceiling_names_each_layers_way(monkeypatch):
    from kernels import compiled
    monkeypatch.setattr(compiled, 'ENABLED', True)

    def kind(x, w, stride=(1, 1), pad=(0, 0), first=False):
        return conv_ceiling.layer_kind(x, w, stride, pad, first)
    assert kind((2, 3, 227, 227), (96, 3, 11, 11), (4, 4), first=True) == \
        'first layer'
    assert kind((2, 96, 27, 27), (256, 96, 5, 5), pad=(2, 2)) == \
        'Winograd 5x5'
    assert kind((2, 256, 13, 13), (384, 256, 3, 3), pad=(1, 1)) == \
        'Winograd 3x3'
    assert kind((2, 96, 29, 29), (96, 96, 3, 3), (2, 2), (1, 1)) == \
        'patch matrix, stride 2'
    assert kind((2, 64, 8, 8), (32, 64, 3, 3), pad=(1, 1)) == \
        'shifted products'
    assert kind((2, 576, 15, 15), (128, 576, 1, 1)) == '1x1'
    line = conv_ceiling.table_row('nin', 'forward', '1x1', 7,
                                  [0.03, 0.02, 0.01, 0.02])
    assert line == ('| nin | forward: 1x1 | 7 | 30 | 20 | 10 | 20 | 1.50 | '
                    '1.00 | 3.00 |')


def test_a_row_adds_up():
    line = winograd_probe.row('a', 0.04, 0.02, 0.015, 0.03)
    assert line == '| a | 40.0 | 20.0 | 15.0 | 5.0 | 30.0 | 2.00 | 1.50 |'


@pytest.mark.parametrize('script', ['winograd_probe', 'conv_ceiling',
                                    'step_ceiling'])
def test_without_pytorch_the_benches_say_where_to_run_them(script, capsys):
    if importlib.util.find_spec('torch') is not None:
        pytest.skip('PyTorch is installed here')
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(script).main(['--arch', 'alex'])
    assert stop.value.code == 2
    assert 'make torch-venv' in capsys.readouterr().err
