"""The shape of the code base: imports go one way, the models depend on
Chainer alone, and the project installs editable only."""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIPPED = ('tests', 'build', 'result', 'data', 'demo', 'docs', 'sample')


def project_modules():
    """{dotted module name: path} of every module outside the tests. A
    script folder (tools/, bench/: no __init__.py) is on sys.path when its
    scripts run, so they import each other by bare name."""
    found = {}
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        dirs[:] = sorted(d for d in dirs if not d.startswith(('.', '_'))
                         and not (rel == '.' and d in SKIPPED))
        for name in files:
            if not name.endswith('.py'):
                continue
            parts = [] if rel == '.' else rel.split(os.sep)
            if parts and not os.path.isfile(os.path.join(folder,
                                                         '__init__.py')):
                parts = []
            if name != '__init__.py':
                parts.append(name[:-3])
            if parts:
                found['.'.join(parts)] = os.path.join(folder, name)
    return found


def imports_of(path, modules):
    """The project modules `path` imports, anywhere in it: `from a import
    b` counts as a.b when that is a module (a package's own submodules
    import each other that way without running into its __init__)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module \
                and not node.level:
            for alias in node.names:
                sub = '{}.{}'.format(node.module, alias.name)
                targets.add(sub if sub in modules else node.module)
    return {t for t in targets if t in modules}


@pytest.fixture(scope='module')
def graph():
    modules = project_modules()
    return {name: imports_of(path, modules)
            for name, path in modules.items()}


def test_the_scan_sees_the_project(graph):
    assert {'train_imagenet', 'models.alex', 'trainer.safety',
            'imagedata.reader', 'kernels.convolution', 'demo',
            'steps'} <= set(graph)
    assert 'steps' in graph['demo']
    assert 'trainer.safety' in graph['train_imagenet'] or \
        'trainer' in graph['train_imagenet']


def test_no_module_imports_one_that_imports_it_back(graph):
    """No cycle of any length (depth-first search)."""
    state, cycle = {}, []

    def visit(name, path):
        state[name] = 'open'
        for target in sorted(graph[name]):
            if state.get(target) == 'open':
                cycle.extend(path[path.index(target):] + [target])
                return True
            if target not in state and visit(target, path + [target]):
                return True
        state[name] = 'done'
        return False

    for name in sorted(graph):
        if name not in state and visit(name, [name]):
            break
    assert not cycle, ' -> '.join(cycle)


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_models_need_neither_the_shape_tool_nor_the_kernels(graph):
    for name in graph:
        if name == 'models' or name.startswith('models.'):
            bad = {t for t in reachable(graph, name)
                   if t.split('.')[0] in ('shapes', 'kernels', 'trainer')}
            assert not bad, (name, bad)


def test_a_wheel_is_refused_with_the_editable_install_named(tmp_path):
    """A wheel would put models/, results/, kernels/... into
    site-packages; the project installs from its repository only."""
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '--disable-pip-version-check', '-w',
         str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'installs from its repository only: pip install' in (
        result.stdout + result.stderr)
    assert not list(tmp_path.iterdir())
