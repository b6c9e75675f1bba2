"""Training runs that are killed on purpose: a child process runs
train_imagenet.main and SIGKILLs itself at a chosen point."""
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_CHILD = textwrap.dedent('''
    import os, signal, sys
    import chainer_compat  # noqa: F401
    import chainer
    import train_imagenet
    from trainer import safety

    kill_at, kill_saving, args = sys.argv[1], sys.argv[2], sys.argv[3:]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if kill_at:
        run = chainer.training.Trainer.run

        def run_then_die(trainer, *a, **k):
            trainer.extend(lambda t: die(), name='kill',
                           trigger=(int(kill_at), 'iteration'))
            return run(trainer, *a, **k)
        chainer.training.Trainer.run = run_then_die

    if kill_saving:
        save = safety.save_npz_durably

        def save_half_then_die(path, target):
            save(path, target)
            if os.path.basename(path) == kill_saving:
                with open(path, 'r+b') as f:
                    f.truncate(os.path.getsize(path) // 2)
                die()
        safety.save_npz_durably = save_half_then_die

    sys.exit(train_imagenet.main(args))
''')


def run_killed(args, kill_at_iteration=None, kill_saving=None):
    """Run the trainer in a child that SIGKILLs itself after the given
    iteration, or halfway through writing the named snapshot file."""
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, '-c', _CHILD, str(kill_at_iteration or ''),
         kill_saving or ''] + list(args),
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=120)
