"""--multi-label: several labels per image (tagging) instead of one class.

The lists hold "path l1,l2,..." lines (imagedata/listfile.py), labels.txt
names the labels, and each example's label is an int32 multi-hot vector.
The network's outputs become one sigmoid per label: the loss is binary
cross-entropy (F.sigmoid_cross_entropy, the mean over images and labels)
and the reported accuracy F.binary_accuracy, the share of (image, label)
decisions that are right at probability 0.5. With few labels per image
that share is high even for a network that answers "no" to everything:
per-label precision, recall and F1 come from `python -m results.evaluate`.
"""
import chainer.functions as F

from imagedata import multilabel


def add_arguments(parser):
    parser.add_argument('--multi-label', action='store_true',
                        help='several labels per image: lists of "path '
                             'l1,l2,..." lines ("path -" for none), sigmoid '
                             'outputs with binary cross-entropy, accuracy = '
                             'share of (image, label) decisions right at 0.5')


def use_sigmoid(model):
    """Binary cross-entropy and binary accuracy for this model."""
    model.lossfun = F.sigmoid_cross_entropy
    model.accuracyfun = F.binary_accuracy
    return model


def prepare(model, train_pairs, val_pairs):
    """Turns the model's outputs into sigmoids and gives ImageDataset each
    image's position as its label: (train pairs, val pairs, (train
    targets, val targets)) for wrap(). (--label-smoothing with it is
    refused when the options are parsed: trainer.losses.check_args.)"""
    use_sigmoid(model)
    train_pairs, train_targets = multilabel.by_position(train_pairs,
                                                        model.n_class)
    val_pairs, val_targets = multilabel.by_position(val_pairs, model.n_class)
    return train_pairs, val_pairs, (train_targets, val_targets)


def wrap(train, val, targets):
    """The two ImageDatasets made from prepare()'s pairs, as (image,
    multi-hot vector) datasets."""
    return (multilabel.MultiLabelDataset(train, targets[0]),
            multilabel.MultiLabelDataset(val, targets[1]))
