"""tools/demo.py: its plans and its verdict."""
import json
import os
import re
import sys

import models

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'tools'))
import demo  # noqa: E402


def test_demo_plans_sizes_the_networks_take():
    for arch, (insize, _, _, _, _) in demo.PLAN.items():
        options = {'n_layer': 2} if arch == 'densenet' else {}
        assert models.get_model(arch, 10, insize=insize, **options).insize \
            == insize


def test_verdict_compares_with_chance_and_names_the_reproduction(tmp_path):
    run = tmp_path / 'alex'
    run.mkdir()
    (run / 'summary.json').write_text(json.dumps({
        'arch': 'alex', 'n_class': 10, 'insize': 39,
        'test_accuracy': 0.46, 'n_val': 100,
        'images_seen': 2720, 'wall_time_s': 19.2}))
    lines = demo.verdict([str(run)])
    assert lines[1] == 'Chance is 10% on these ten classes:'
    assert lines[2] == ('  alex        46.0% on 100 validation images = '
                        '4.6x chance after 2,720 training images (19 s)')
    # The committed reproduction's wall times, read from its summaries.
    assert re.search(r'results/fashion-mnist/cpu/table\.md\) trains each '
                     r'network for \d+-\d+ min\.', lines[-1])
