"""--initmodel and --freeze-features: start from another run's weights.

--initmodel takes a model file (.npz written by the trainer: model.npz,
model_best.npz, or a trainer snapshot) or a run directory (its
model_best.npz, else model.npz). When every layer of the new model is in
the file with the same shapes, the file is loaded strictly, as before.
Otherwise (fine-tuning, typically to another class count) a layer is copied
when every one of its parameters and persistent values (batch-norm
statistics) is in the file with the same shape; the others, the
classifier among them when the class count differs, keep the fresh
initialisation of the new model (seeded by --seed). One line lists the
copied layers, one line per layer not copied says why. A file that is not
a model, or a model of which no layer fits, is a one-line UsageError.

--freeze-features (with --initmodel) trains the classifier alone: every
other link's parameters get Chainer's disable_update(). Batch
normalization in the frozen part keeps Chainer's training behaviour: its
gamma and beta stay fixed, while it normalises with each batch's
statistics and its running averages follow the new images (what
validation then uses), as --bn-reestimate would recompute them.

Each model names its classifier links in its own file (the ``classifier``
attribute: link paths relative to the model, '/'-separated as in the
.npz), e.g. ('fc8',) for AlexNet.
"""
import os
import re
import zipfile

import numpy
from chainer.serializers import DictionarySerializer, NpzDeserializer

from results import summary
from trainer.errors import UsageError
from trainer.inputs import load_npz

FLAG = '--initmodel'
SNAPSHOT_MODEL = 'updater/model:main/'  # the model inside trainer snapshots


def add_arguments(parser):
    parser.add_argument(
        FLAG, default='', metavar='PATH',
        help='start from these weights: a model .npz or a run directory '
             '(its model_best.npz, else model.npz); from a run with another '
             'class count, the layers whose shapes match are copied and '
             'the classifier starts afresh (fine-tuning)')
    parser.add_argument(
        '--freeze-features', action='store_true',
        help='with --initmodel: train only the classifier (every other '
             'layer keeps the loaded weights; batch normalization still '
             'updates its running statistics)')


def classifier_paths(model):
    """The model's classifier links as paths ('fc8', 'mlpconv4/2')."""
    return tuple(path.strip('/') for path in getattr(model, 'classifier', ()))


def model_file(spec):
    """The .npz file --initmodel names: a file, or a run directory's
    model_best.npz, else its model.npz."""
    if os.path.isdir(spec):
        for name in (summary.BEST_MODEL_FILE, summary.MODEL_FILE):
            path = os.path.join(spec, name)
            if os.path.isfile(path):
                return path
        raise UsageError('{} {}: a directory without {} or {}'.format(
            FLAG, spec, summary.BEST_MODEL_FILE, summary.MODEL_FILE))
    if not os.path.isfile(spec):
        raise UsageError('{} {}: no such file or directory'.format(FLAG, spec))
    return spec


def model_values(model):
    """{key: value} as save_npz would write the model ('conv1/W', ...)."""
    serializer = DictionarySerializer()
    model.serialize(serializer)
    return serializer.target


def _natural(path):
    """Sort key: 'dense2' < 'dense10'."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r'(\d+)', path)]


def _link_of(key):
    return key.rsplit('/', 1)[0] if '/' in key else ''


def _shape(value):
    return 'x'.join(map(str, numpy.shape(value))) or 'scalar'


def read_matching(path, model):
    """(values, layers, prefix): the file's arrays for the model's keys,
    {link path: None if it fits, else why not}, and where the model sits
    in the file ('' or a trainer snapshot's). UsageError for a file that
    is not a model or one with no layer of this model."""
    wanted = model_values(model)
    name = type(model).__name__
    try:
        archive = numpy.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UsageError('{} {}: not a model file ({})'.format(
            FLAG, path, e))
    if not isinstance(archive, numpy.lib.npyio.NpzFile):
        raise UsageError('{} {}: not a model file (one array, not an .npz '
                         'archive of weights)'.format(FLAG, path))
    with archive:
        files = set(archive.files)
        prefix = ''
        if not files & set(wanted) and {SNAPSHOT_MODEL + key
                                        for key in wanted} & files:
            prefix = SNAPSHOT_MODEL
        try:
            values = {key: archive[prefix + key] for key in wanted
                      if prefix + key in files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise UsageError('{} {}: not a readable model file ({})'.format(
                FLAG, path, e))
    if not values:
        raise UsageError(
            '{} {}: holds none of the {} layers of this {} (not a model '
            'file, or a model of another architecture)'.format(
                FLAG, path, len({_link_of(k) for k in wanted}), name))
    layers = {}
    for key, value in sorted(wanted.items()):  # sets: fix the order
        link = _link_of(key)
        reasons = layers.setdefault(link, [])
        leaf = key.rsplit('/', 1)[-1]
        if key not in values:
            reasons.append('{} not in the file'.format(leaf))
        elif value is not None and \
                numpy.shape(values[key]) != numpy.shape(value):
            reasons.append('{}: {} in the file, {} here'.format(
                leaf, _shape(values[key]), _shape(value)))
    layers = {link: '; '.join(reasons) or None
              for link, reasons in layers.items()}
    if all(layers.values()):
        raise UsageError(
            '{} {}: no layer of this {} has the shapes of the file\'s (a '
            'model of another architecture, --insize or --model-option)'
            .format(FLAG, path, name))
    return values, layers, prefix


def group_names(paths, every):
    """Compact names for the link paths `paths`: a top-level link whose
    layers are all in `paths` is one name ('dense2 (8 layers)')."""
    tops = {}
    for path in sorted(every, key=_natural):
        tops.setdefault(path.split('/')[0], []).append(path)
    chosen, names = set(paths), []
    for top, members in tops.items():
        inside = [p for p in members if p in chosen]
        if not inside:
            continue
        if len(inside) == len(members):
            names.append(top if members == [top] else '{} ({} layers)'
                         .format(top, len(members)))
        else:
            names.extend(inside)
    return names


def load_matching(spec, model, say=print):
    """Loads what fits of --initmodel `spec` into `model`; returns the
    model file's absolute path."""
    path = model_file(spec)
    values, layers, prefix = read_matching(path, model)
    say('Load model from {}'.format(path))
    if not any(layers.values()):
        if prefix:
            NpzDeserializer(values, strict=True).load(model)
        else:
            load_npz(path, model, FLAG)  # an exact load, as ever
        return os.path.abspath(path)
    copied = [link for link, why in layers.items() if why is None]
    keep = {key for key in values if _link_of(key) in set(copied)}
    NpzDeserializer({key: values[key] for key in keep},
                    strict=False).load(model)
    heads = set(classifier_paths(model))
    say('  copied {} of {} layers: {}'.format(
        len(copied), len(layers), ', '.join(group_names(copied, layers))))
    for link in sorted(layers, key=_natural):
        if layers[link] is not None:
            say('  not copied, initialised afresh: {}{} ({})'.format(
                link or '(the model itself)',
                ', the classifier' if link in heads else '', layers[link]))
    return os.path.abspath(path)


def freeze_features(model, say=print):
    """disable_update() on every link but the classifier's (after
    optimizer.setup, which gives the parameters their update rules)."""
    heads = classifier_paths(model)
    if not heads:
        raise UsageError('--freeze-features: {} names no classifier links'
                         .format(type(model).__name__))
    if any(param.update_rule is None for param in model.params()):
        raise RuntimeError('freeze_features runs after optimizer.setup')
    for path, link in model.namedlinks(skipself=True):
        path = path.strip('/')
        in_head = any(path == h or path.startswith(h + '/') for h in heads)
        above_head = any(h.startswith(path + '/') for h in heads)
        if not (in_head or above_head):
            link.disable_update()
    trained = sum(param.size for param in model.params()
                  if param.update_rule.enabled)
    total = sum(param.size for param in model.params())
    say('--freeze-features: training {} alone ({:,} of {:,} parameters)'
        .format(', '.join(heads), trained, total))


def start_from(spec, model, freeze=False, say=print):
    """--initmodel and --freeze-features before training: the loaded file's
    absolute path, or None without --initmodel."""
    if freeze and not spec:
        raise UsageError('--freeze-features needs --initmodel (the weights '
                         'to keep)')
    if freeze and not classifier_paths(model):
        raise UsageError('--freeze-features: {} names no classifier links'
                         .format(type(model).__name__))
    if not spec:
        return None
    return load_matching(spec, model, say)


def _quiet(*args, **kwargs):
    pass


def sayer(is_root):
    """print on rank 0; nothing on the other processes."""
    return print if is_root else _quiet
