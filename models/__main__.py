"""python -m models: the registered architectures, built and run once."""
import argparse

import chainer
import numpy as np

import models


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m models',
        description='List the architectures: input, blog layer count, '
                    'parameters, and the output of one forward pass.')
    parser.add_argument('--n-class', type=int, default=models.N_CLASS,
                        help='number of categories (default %(default)s, the '
                             "blog's)")
    args = parser.parse_args(argv)

    print('{:<12} {:<12} {:>11} {:>6} {:>12}  {}'.format(
        'arch', 'class', 'input', 'layers', 'parameters', 'predict(x)'))
    for arch, cls in models.ARCHS.items():
        model = cls(n_class=args.n_class)
        x = np.zeros((1, 3, model.insize, model.insize), np.float32)
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            y = model.predict(x)
        print('{:<12} {:<12} {:>11} {:>6} {:>12,}  {}'.format(
            arch, cls.__name__, '3x{0}x{0}'.format(model.insize),
            model.n_layers, model.count_params(), y.shape))


if __name__ == '__main__':
    main()
