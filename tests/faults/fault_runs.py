"""Training runs that are killed on purpose (a child process runs
train_imagenet.main and SIGKILLs itself at a chosen point) or paused while
another tries its --out; what the fault tests compare and simulate."""
import errno
import hashlib
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


# A run that waits, from its first iteration on, until a gate file exists;
# it writes `ready` once it holds its --out and is training.
_PAUSED_CHILD = textwrap.dedent('''
    import os, sys, time
    import chainer_compat  # noqa: F401
    import chainer
    import train_imagenet

    ready, gate, args = sys.argv[1], sys.argv[2], sys.argv[3:]

    def wait_for_gate(trainer):
        open(ready, 'w').close()
        deadline = time.monotonic() + 120
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)

    run = chainer.training.Trainer.run

    def run_paused(trainer, *a, **k):
        trainer.extend(wait_for_gate, name='gate',
                       trigger=(1, 'iteration'))
        return run(trainer, *a, **k)
    chainer.training.Trainer.run = run_paused

    sys.exit(train_imagenet.main(args))
''')


def start_paused(args, ready, gate):
    """Popen of a trainer that holds its --out and waits at its first
    iteration until `gate` exists (it writes `ready` there first)."""
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.Popen(
        [sys.executable, '-c', _PAUSED_CHILD, ready, gate] + list(args),
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)


def tree_digest(*folders):
    """{path: sha256} of every file under the folders (the lock file
    included): compared before and after, no byte may have changed."""
    digest = {}
    for top in folders:
        for folder, _, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, 'rb') as f:
                    digest[path] = hashlib.sha256(f.read()).hexdigest()
    return digest


def one_line(stderr):
    """The one line an entry point stopped with ('error: ...')."""
    err = stderr.strip()
    assert err.count('\n') == 0 and 'Traceback' not in err, err
    assert err.startswith('error: '), err
    return err


def make_read_only(directory, monkeypatch):
    """chmod a-w; where that does not stop writes (root), os.mkdir and
    os.open for writing inside `directory` fail with EROFS instead, as on
    a read-only mount. Returns the errno the writers will meet."""
    os.chmod(directory, 0o555)
    probe = os.path.join(directory, '.probe')
    try:
        with open(probe, 'w'):
            pass
    except PermissionError:
        return errno.EACCES
    os.remove(probe)
    top = os.path.realpath(directory) + os.sep
    real_mkdir, real_open = os.mkdir, os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def inside(path):
        return os.path.realpath(path).startswith(top)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def open_for_writing(path, flags, *args, **kwargs):
        # (A missing file opened without O_CREAT is ENOENT there too.)
        if flags & writing and inside(path) and (
                flags & os.O_CREAT or os.path.exists(path)):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, 'mkdir', mkdir)
    monkeypatch.setattr(os, 'open', open_for_writing)
    return errno.EROFS


def write_lists(tmp_path, train, val, labels=None, folder='lists'):
    """tmp_path/folder/train.txt, val.txt and labels.txt from text or bytes
    (None: that file left out); returns the folder."""
    where = tmp_path / folder
    where.mkdir()
    for name, content in (('train.txt', train), ('val.txt', val),
                          ('labels.txt', labels)):
        if isinstance(content, bytes):
            (where / name).write_bytes(content)
        elif content is not None:
            (where / name).write_text(content)
    return str(where)


def train_args(data, lists_dir, out, *extra):
    """train_imagenet.py on the lists in `lists_dir` over the tiny images
    of `data`: the tiny DenseNet, no loader processes."""
    import tiny_runs
    return [os.path.join(lists_dir, 'train.txt'),
            os.path.join(lists_dir, 'val.txt'),
            '--root', os.path.join(data, 'images'), '--out', out,
            '--loaderjob', '0'] + tiny_runs.TINY + list(extra)
