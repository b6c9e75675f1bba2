import chainer
import chainer.functions as F
from chainer import initializers
import chainer.links as L
import numpy as np

from models import sizing
from models.common import N_CLASS, BlogNetwork


def _he_normal():
    # The blog fixed float32 here; the configured dtype (float32 unless
    # chainer.config.dtype says otherwise) keeps that and lets float64
    # checks run the whole network in float64.
    return initializers.HeNormal(1 / np.sqrt(2))


class DenseBlock(chainer.Chain):
    """n_layer x (BN-ReLU-conv3x3-dropout), each output concatenated on."""

    def __init__(self, in_ch, growth_rate, n_layer):
        super(DenseBlock, self).__init__()
        self.n_layer = n_layer
        for i in range(n_layer):
            self.add_link('bn{}'.format(i + 1),
                          L.BatchNormalization(in_ch + i * growth_rate))
            self.add_link('conv{}'.format(i + 1),
                          L.Convolution2D(in_ch + i * growth_rate,
                                          growth_rate, 3, 1, 1,
                                          initialW=_he_normal()))

    def forward(self, x, dropout_ratio):
        for i in range(1, self.n_layer + 1):
            h = F.relu(self['bn{}'.format(i)](x))
            h = F.dropout(self['conv{}'.format(i)](h), dropout_ratio)
            x = F.concat((x, h))
        return x


class Transition(chainer.Chain):
    """BN-ReLU-conv1x1 (same channels)-dropout-average pool 2."""

    def __init__(self, in_ch):
        super(Transition, self).__init__()
        with self.init_scope():
            self.bn = L.BatchNormalization(in_ch)
            self.conv = L.Convolution2D(in_ch, in_ch, 1,
                                        initialW=_he_normal())

    def forward(self, x, dropout_ratio):
        h = F.relu(self.bn(x))
        h = F.dropout(self.conv(h), dropout_ratio)
        return F.average_pooling_2d(h, 2)


class DenseNet(BlogNetwork):
    """DenseNet as in the blog: growth 12, 3 blocks of 40 layers, 32 x 32.

    Args:
        n_layer: convolution layers in one dense block (the blog used 40).
        growth_rate: feature maps added by each layer (k in the paper).
        n_class: number of categories.
        dropout_ratio: dropout after every convolution.
        in_ch: feature maps of the first convolution.
        block: number of dense blocks.
        insize: input width and height; the classifier reads the global
            average of the last map, so its width does not depend on it.
    """

    insize = 32

    def __init__(self, n_layer=40, growth_rate=12, n_class=N_CLASS,
                 dropout_ratio=0.2, in_ch=16, block=3, insize=32):
        super(DenseNet, self).__init__(n_class, insize)
        self.n_layer = n_layer
        self.block = block
        self.dropout_ratio = dropout_ratio
        # Transitions keep the width, so block i starts with in_chs[i].
        in_chs = range(in_ch, in_ch + (block + 1) * n_layer * growth_rate,
                       n_layer * growth_rate)
        self.add_link('conv1', L.Convolution2D(3, in_ch, 3, 1, 1,
                                               initialW=_he_normal()))
        for i in range(block):
            self.add_link('dense{}'.format(i + 2),
                          DenseBlock(in_chs[i], growth_rate, n_layer))
            if not i == block - 1:
                self.add_link('trans{}'.format(i + 2),
                              Transition(in_chs[i + 1]))
        self.add_link('bn{}'.format(block + 1),
                      L.BatchNormalization(in_chs[block]))
        self.add_link('fc{}'.format(block + 2),
                      L.Linear(in_chs[block], n_class))
        sizing.probe(self.predict, insize)

    @property
    def classifier(self):
        """The layer of n_class outputs (fine-tuning): fc{block + 2}."""
        return ('fc{}'.format(self.block + 2),)

    @property
    def n_layers(self):
        """The blog's count: the convolutions inside the dense blocks."""
        return self.block * self.n_layer

    def predict(self, x):
        h = self.conv1(x)
        for i in range(2, self.block + 2):
            h = self['dense{}'.format(i)](h, self.dropout_ratio)
            if not i == self.block + 1:
                h = self['trans{}'.format(i)](h, self.dropout_ratio)
        h = F.relu(self['bn{}'.format(self.block + 1)](h))
        h = F.average_pooling_2d(h, h.shape[2:])
        return self['fc{}'.format(self.block + 2)](h)

    def forward(self, x, t):
        h = self.predict(x)
        return self.report(self.loss(h, t), h, t)
