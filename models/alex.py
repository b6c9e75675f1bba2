import chainer.functions as F
import chainer.links as L

from models import sizing
from models.common import N_CLASS, BlogNetwork


class Alex(BlogNetwork):
    """Single-GPU AlexNet without partition toward the channel axis.

    Every fully connected input is a number fixed at construction (9216 =
    256 x 6 x 6 for the blog's 227 x 227 input), so the model is complete
    before its first forward pass and can be evaluated or copied at once.
    For another ``insize`` fc6 takes what conv5's pooled maps hold then.
    """

    insize = 227
    n_layers = 8
    classifier = ('fc8',)  # the layer of n_class outputs (fine-tuning)

    def __init__(self, n_class=N_CLASS, insize=227):
        super(Alex, self).__init__(n_class, insize)
        with self.init_scope():
            self.conv1 = L.Convolution2D(3, 96, 11, stride=4)
            self.conv2 = L.Convolution2D(96, 256, 5, pad=2)
            self.conv3 = L.Convolution2D(256, 384, 3, pad=1)
            self.conv4 = L.Convolution2D(384, 384, 3, pad=1)
            self.conv5 = L.Convolution2D(384, 256, 3, pad=1)
        features = sizing.probe(self.features, insize)
        with self.init_scope():
            self.fc6 = L.Linear(sizing.flat_size(features.shape), 4096)
            self.fc7 = L.Linear(4096, 4096)
            self.fc8 = L.Linear(4096, n_class)

    def features(self, x):
        h = F.max_pooling_2d(F.local_response_normalization(
            F.relu(self.conv1(x))), 3, stride=2)
        h = F.max_pooling_2d(F.local_response_normalization(
            F.relu(self.conv2(h))), 3, stride=2)
        h = F.relu(self.conv3(h))
        h = F.relu(self.conv4(h))
        return F.max_pooling_2d(F.relu(self.conv5(h)), 3, stride=2)

    def predict(self, x):
        h = F.dropout(F.relu(self.fc6(self.features(x))))
        h = F.dropout(F.relu(self.fc7(h)))
        return self.fc8(h)

    def forward(self, x, t):
        h = self.predict(x)
        return self.report(self.loss(h, t), h, t)
