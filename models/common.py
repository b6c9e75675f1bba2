"""What the four networks share: the blog's class count, the attributes
every tool reads (n_class, insize), and the values a forward pass
reports."""
import chainer
import chainer.functions as F

N_CLASS = 34  # the blog's categories


class BlogNetwork(chainer.Chain):
    """A classifier of `n_class` categories for `insize` x `insize`
    images; subclasses build their layers after this __init__."""

    def __init__(self, n_class, insize):
        super(BlogNetwork, self).__init__()
        self.n_class = n_class
        self.insize = insize

    def report(self, loss, scores, t, **more):
        """Reports `loss`, the accuracy of `scores` and any `more` values
        (what LogReport, the Evaluator and the plots read); returns
        `loss`."""
        chainer.report(dict(more, loss=loss,
                            accuracy=F.accuracy(scores, t)), self)
        return loss
