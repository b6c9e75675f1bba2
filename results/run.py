"""A finished (or interrupted) training run read back from its directory:
its summary, its model rebuilt and loaded, its preprocessing."""
import os

import chainer
import numpy

import models
from results import summary

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

    @property
    def name(self):
        return os.path.basename(os.path.normpath(self.dir))

    def model_path(self, which='best'):
        """model_best.npz (falling back to model.npz) or model.npz."""
        if which not in WHICH_MODELS:
            raise ValueError('which must be one of {}'.format(WHICH_MODELS))
        files = [summary.MODEL_FILE]
        if which == 'best':
            files.insert(0, summary.BEST_MODEL_FILE)
        for name in files:
            path = os.path.join(self.dir, name)
            if os.path.isfile(path):
                return path
        raise summary.SummaryError('{}: no {}'.format(
            self.dir, ' or '.join(files)))

    def load_model(self, which='best'):
        model = models.get_model(self.arch, self.n_class,
                                 insize=self.insize,
                                 **self.summary.get('model_options', {}))
        chainer.serializers.load_npz(self.model_path(which), model)
        return model

    def mean(self):
        """The mean image the run subtracted (saved in the run), or None."""
        if not self.summary.get('mean'):
            return None
        return numpy.load(os.path.join(self.dir, summary.MEAN_FILE))
