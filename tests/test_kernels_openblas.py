"""kernels/openblas.py: OpenBLAS's threads sleep as soon as a product
ends, instead of spinning on the core the compiled loops need."""
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# CPU seconds the process spends while its main thread sleeps 50 ms right
# after a product: OpenBLAS's spinning threads, if they spin.
SPIN = textwrap.dedent('''
    import resource, sys, time
    sys.path.insert(0, {repo!r})
    if sys.argv[1] == 'first':
        import kernels.openblas
    import numpy
    import kernels.openblas

    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    a = numpy.ones((1024, 1024), numpy.float32)
    spins = []
    for _ in range(3):
        a @ a
        before = cpu()
        time.sleep(0.05)
        spins.append(cpu() - before)
    print(kernels.openblas.TIMEOUT, min(spins))
''').format(repo=REPO)


def spin(order, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ('OPENBLAS_THREAD_TIMEOUT', 'OPENBLAS_NUM_THREADS',
                          'OMP_NUM_THREADS')}
    clean.update(env)
    out = subprocess.run([sys.executable, '-c', SPIN, order], env=clean,
                         capture_output=True, text=True, check=True).stdout
    timeout, seconds = out.split()
    return timeout, float(seconds)


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or
                    not sys.platform.startswith('linux'),
                    reason="OpenBLAS's worker threads need a second core")
def test_threads_sleep_when_it_comes_before_numpy():
    timeout, seconds = spin('first')
    assert timeout == '4'
    assert seconds < 0.015
    # NumPy first: too late, OpenBLAS spins through the whole sleep.
    timeout, seconds = spin('after')
    assert timeout == 'None'
    assert seconds > 0.03


def test_a_users_setting_is_left_alone():
    timeout, _ = spin('first', OPENBLAS_THREAD_TIMEOUT='30')
    assert timeout == '30'


@pytest.mark.parametrize('script', ['train_imagenet.py', 'predict.py',
                                    os.path.join('bench', 'train_speed.py')])
def test_entry_points_set_it_before_numpy_loads(script):
    err = subprocess.run(
        [sys.executable, '-X', 'importtime', os.path.join(REPO, script),
         '--help'], capture_output=True, text=True, check=True).stderr
    modules = [line.rsplit('|', 1)[-1].strip() for line in err.splitlines()
               if line.startswith('import time:')]
    first_numpy = min(i for i, m in enumerate(modules)
                      if m.split('.')[0] == 'numpy')
    assert modules.index('kernels.openblas') < first_numpy
