"""bench/winograd_probe.py finds a network's Winograd layers and times
them."""
import os
import sys

import pytest

pytest.importorskip('numba', reason='the numba extra is not installed')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'bench'))

import winograd_probe  # noqa: E402


def test_alexnet_has_three_winograd_layers():
    layers = list(winograd_probe.winograd_layers('alex', 1))
    assert [(x[1:], w[:2], calls, first)
            for x, w, calls, first in layers] == [
        ((256, 13, 13), (384, 256), 1, False),
        ((384, 13, 13), (256, 384), 1, False),
        ((384, 13, 13), (384, 384), 1, False)]


def test_a_row_adds_up():
    line = winograd_probe.row('a', 0.04, 0.02, 0.015, 0.03)
    assert line == '| a | 40.0 | 20.0 | 15.0 | 5.0 | 30.0 | 2.00 | 1.50 |'
