import chainer.functions as F
import chainer.links as L

from models import sizing
from models.common import N_CLASS, BlogNetwork


class GoogLeNetBN(BlogNetwork):
    """New GoogLeNet of BatchNormalization version.

    Two auxiliary classifiers (after inc4a and inc4d) join the loss with
    weight 0.3 during training; ``predict`` uses the main head alone. Their
    fully connected inputs are fixed at construction from the maps the
    model makes of an ``insize`` image: 2048 = 128 x 4 x 4 at 224 (15 x 15
    pooled 5/3). The main head averages inc5b's whole map (8 x 8 at 224:
    Chainer's pooling rounds up; the ImageNet example's 7 x 7 window leaves
    out its last row and column).
    """

    insize = 224
    n_layers = 22
    # The n_class outputs of the main head and of the two auxiliary heads.
    classifier = ('out', 'outa', 'outb')

    def __init__(self, n_class=N_CLASS, insize=224):
        super(GoogLeNetBN, self).__init__(n_class, insize)
        with self.init_scope():
            self.conv1 = L.Convolution2D(3, 64, 7, stride=2, pad=3,
                                         nobias=True)
            self.norm1 = L.BatchNormalization(64)
            self.conv2 = L.Convolution2D(64, 192, 3, pad=1, nobias=True)
            self.norm2 = L.BatchNormalization(192)
            self.inc3a = L.InceptionBN(192, 64, 64, 64, 64, 96, 'avg', 32)
            self.inc3b = L.InceptionBN(256, 64, 64, 96, 64, 96, 'avg', 64)
            self.inc3c = L.InceptionBN(320, 0, 128, 160, 64, 96, 'max',
                                       stride=2)
            self.inc4a = L.InceptionBN(576, 224, 64, 96, 96, 128, 'avg', 128)
            self.inc4b = L.InceptionBN(576, 192, 96, 128, 96, 128, 'avg', 128)
            self.inc4c = L.InceptionBN(576, 128, 128, 160, 128, 160, 'avg',
                                       128)
            self.inc4d = L.InceptionBN(576, 64, 128, 192, 160, 192, 'avg',
                                       128)
            self.inc4e = L.InceptionBN(576, 0, 128, 192, 192, 256, 'max',
                                       stride=2)
            self.inc5a = L.InceptionBN(1024, 352, 192, 320, 160, 224, 'avg',
                                       128)
            self.inc5b = L.InceptionBN(1024, 352, 192, 320, 192, 224, 'max',
                                       128)
            self.out = L.Linear(1024, n_class)

            self.conva = L.Convolution2D(576, 128, 1, nobias=True)
            self.convb = L.Convolution2D(576, 128, 1, nobias=True)
        aux_a, aux_b = sizing.probe(self._aux_maps, insize)
        with self.init_scope():
            self.norma = L.BatchNormalization(128)
            self.lina = L.Linear(sizing.flat_size(aux_a.shape), 1024,
                                 nobias=True)
            self.norma2 = L.BatchNormalization(1024)
            self.outa = L.Linear(1024, n_class)

            self.normb = L.BatchNormalization(128)
            self.linb = L.Linear(sizing.flat_size(aux_b.shape), 1024,
                                 nobias=True)
            self.normb2 = L.BatchNormalization(1024)
            self.outb = L.Linear(1024, n_class)

    def _maps(self, x):
        """The maps the three heads read: after inc4a, inc4d and inc5b."""
        h = F.max_pooling_2d(
            F.relu(self.norm1(self.conv1(x))), 3, stride=2, pad=1)
        h = F.max_pooling_2d(
            F.relu(self.norm2(self.conv2(h))), 3, stride=2, pad=1)
        h = self.inc3a(h)
        h = self.inc3b(h)
        h = self.inc3c(h)
        h4a = self.inc4a(h)
        h = self.inc4b(h4a)
        h = self.inc4c(h)
        h4d = self.inc4d(h)
        h = self.inc4e(h4d)
        h = self.inc5a(h)
        return h4a, h4d, self.inc5b(h)

    @staticmethod
    def _aux_pool(h):
        return F.average_pooling_2d(h, 5, stride=3)

    def _aux_maps(self, x):
        """What the auxiliary fc layers flatten (sizes them at __init__)."""
        h4a, h4d, _ = self._maps(x)
        return (self.conva(self._aux_pool(h4a)),
                self.convb(self._aux_pool(h4d)))

    def _main_head(self, h):
        return self.out(F.average_pooling_2d(h, h.shape[2:]))

    def predict(self, x):
        return self._main_head(self._maps(x)[2])

    def forward(self, x, t):
        h4a, h4d, h5b = self._maps(x)
        h = self._main_head(h5b)
        loss3 = self.loss(h, t)

        a = F.relu(self.norma(self.conva(self._aux_pool(h4a))))
        a = F.relu(self.norma2(self.lina(a)))
        loss1 = self.loss(self.outa(a), t)

        b = F.relu(self.normb(self.convb(self._aux_pool(h4d))))
        b = F.relu(self.normb2(self.linb(b)))
        loss2 = self.loss(self.outb(b), t)

        return self.report(0.3 * (loss1 + loss2) + loss3, h, t,
                      loss1=loss1, loss2=loss2, loss3=loss3)
