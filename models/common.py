"""What the four networks share: the blog's class count, the attributes
every tool reads (n_class, insize), and the values a forward pass
reports."""
import chainer
import chainer.functions as F

N_CLASS = 34  # the blog's categories


class BlogNetwork(chainer.Chain):
    """A classifier of `n_class` categories for `insize` x `insize`
    images; subclasses build their layers after this __init__.

    Every classifier output goes through ``self.loss`` and the reported
    accuracy through ``self.accuracyfun``: the blog's softmax cross-entropy
    and top-1 accuracy, which a training recipe may replace (by setting
    ``lossfun`` / ``accuracyfun`` on the model) without touching the model
    files. Unset, Chainer's functions are looked up at each call, as the
    layers' functions are.
    """

    lossfun = None
    accuracyfun = None

    def __init__(self, n_class, insize):
        super(BlogNetwork, self).__init__()
        self.n_class = n_class
        self.insize = insize

    def loss(self, scores, t):
        return (self.lossfun or F.softmax_cross_entropy)(scores, t)

    def report(self, loss, scores, t, **more):
        """Reports `loss`, the accuracy of `scores` and any `more` values
        (what LogReport, the Evaluator and the plots read); returns
        `loss`."""
        chainer.report(dict(more, loss=loss,
                            accuracy=(self.accuracyfun or F.accuracy)(
                                scores, t)), self)
        return loss
