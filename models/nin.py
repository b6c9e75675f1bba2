import chainer.functions as F
from chainer import initializers
import chainer.links as L

from models import sizing
from models.common import N_CLASS, BlogNetwork


class NIN(BlogNetwork):
    """Network-in-Network: each block is a k x k convolution then two 1x1.

    The last block has one map per class, averaged over the whole map (6 x
    6 for the blog's 227 x 227 input), so any input size the pooling steps
    leave a map for works with the same weights.
    """

    insize = 227
    n_layers = 12
    # The last 1x1 convolution of mlpconv4 makes the n_class maps that are
    # averaged into the scores; mlpconv4's first two are features.
    classifier = ('mlpconv4/2',)

    def __init__(self, n_class=N_CLASS, insize=227):
        super(NIN, self).__init__(n_class, insize)
        w = initializers.HeNormal()  # MSRA scaling
        with self.init_scope():
            self.mlpconv1 = L.MLPConvolution2D(
                3, (96, 96, 96), 11, stride=4, conv_init=w)
            self.mlpconv2 = L.MLPConvolution2D(
                96, (256, 256, 256), 5, pad=2, conv_init=w)
            self.mlpconv3 = L.MLPConvolution2D(
                256, (384, 384, 384), 3, pad=1, conv_init=w)
            self.mlpconv4 = L.MLPConvolution2D(
                384, (1024, 1024, n_class), 3, pad=1, conv_init=w)
        sizing.probe(self.predict, insize)

    def predict(self, x):
        h = F.max_pooling_2d(F.relu(self.mlpconv1(x)), 3, stride=2)
        h = F.max_pooling_2d(F.relu(self.mlpconv2(h)), 3, stride=2)
        h = F.max_pooling_2d(F.relu(self.mlpconv3(h)), 3, stride=2)
        h = self.mlpconv4(F.dropout(h))
        h = F.average_pooling_2d(h, h.shape[2:])
        return F.reshape(h, (len(x), self.n_class))

    def forward(self, x, t):
        h = self.predict(x)
        return self.report(self.loss(h, t), h, t)
