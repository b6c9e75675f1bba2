"""A finished (or interrupted) training run read back from its directory:
its summary, its model rebuilt and loaded, its preprocessing.

Run.load_model is the one way predict.py, python -m results.evaluate and
python -m results load a run's model: a damaged model file (truncated,
bit-flipped: every array's CRC is read) or one that does not fit the
summary's network is named with why, and the run's other model file is
used instead when it is intact, saying so."""
import os
import sys

import chainer

import models
from results import summary
from trainer.errors import ModelFileError
from trainer.inputs import read_mean
from trainer.safety import npz_problem

WHICH_MODELS = ('best', 'final')


class Run(object):

    def __init__(self, run_dir):
        self.dir = run_dir
        self.summary = summary.load(run_dir)
        self.arch = self.summary['arch']
        self.n_class = int(self.summary['n_class'])
        self.insize = int(self.summary['insize'])
        self.preprocess = self.summary.get('preprocess', 'blog')
        # Sigmoid outputs, one per label (train_imagenet.py --multi-label).
        self.multi_label = bool(self.summary.get('multi_label', False))
        self.class_names = self.summary.get('class_names') or [
            str(k) for k in range(self.n_class)]
        self.loaded_path = None  # the model file load_model used

    @property
    def name(self):
        return os.path.basename(os.path.normpath(self.dir))

    def model_files(self, which='best'):
        """The run's model files in the order to try: model_best.npz then
        model.npz for 'best', the other way round for 'final'."""
        if which not in WHICH_MODELS:
            raise ValueError('which must be one of {}'.format(WHICH_MODELS))
        files = [summary.BEST_MODEL_FILE, summary.MODEL_FILE]
        if which == 'final':
            files.reverse()
        return [os.path.join(self.dir, name) for name in files]

    def model_path(self, which='best'):
        """The model file load_model used, else the first that exists."""
        if self.loaded_path is not None:
            return self.loaded_path
        for path in self.model_files(which):
            if os.path.isfile(path):
                return path
        raise summary.SummaryError('{}: no {}'.format(
            self.dir, ' or '.join(map(os.path.basename,
                                      self.model_files(which)))))

    def build_model(self):
        return models.get_model(self.arch, self.n_class, insize=self.insize,
                                **self.summary.get('model_options', {}))

    def load_model(self, which='best', say=None):
        """The network of the summary with the weights of the first usable
        model file (see model_files); each unusable one is said (stderr by
        default) when another is used. ModelFileError (why, per file) when
        none is usable; SummaryError when the run has no model file."""
        say = say or _warn
        self.model_path(which)  # SummaryError: no model file at all
        try:
            model = self.build_model()
        except (TypeError, ValueError) as e:  # options, input size
            raise ModelFileError('{}: its {} network cannot be built: {}'
                                 .format(os.path.join(
                                     self.dir, summary.SUMMARY_FILE),
                                     self.arch, e))
        problems = []
        for path in self.model_files(which):
            problem = self._load(path, model) if os.path.isfile(path) \
                else 'not found'
            if problem is None:
                for failed in problems:
                    say('{}; using {} instead, which is intact'.format(
                        failed, path))
                self.loaded_path = path
                return model
            problems.append('{}: {}'.format(path, problem))
            if problem != 'not found':
                model = self.build_model()  # not half loaded
        raise ModelFileError('; '.join(problems))

    def _load(self, path, model):
        """None once the file's weights are in `model`, else why not."""
        problem = npz_problem(path)
        if problem is not None:
            return 'damaged ({})'.format(problem)
        try:
            chainer.serializers.load_npz(path, model)
        except (KeyError, ValueError, TypeError) as e:
            return ('does not fit the {} network of {} ({} classes, input '
                    '{}x{}): {}'.format(
                        self.arch, summary.SUMMARY_FILE, self.n_class,
                        self.insize, self.insize,
                        ' '.join(str(e).strip('"\'').split())))
        return None

    def mean(self):
        """The mean image the run subtracted (saved in the run), or None."""
        if not self.summary.get('mean'):
            return None
        path = os.path.join(self.dir, summary.MEAN_FILE)
        return read_mean(path, path)


def check_model(run_dir):
    """The model file of the run that loads (said as load_model says it),
    or None for a run that has none yet: what python -m results checks
    before it tabulates a run."""
    run = Run(run_dir)
    if not any(os.path.isfile(path) for path in run.model_files()):
        return None
    run.load_model()
    return run.loaded_path


def _warn(message):
    print('warning: {}'.format(message), file=sys.stderr)
