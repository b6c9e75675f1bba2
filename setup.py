from setuptools import find_packages, setup

setup(
    name='chainer-fashion-cnn',
    version='0.1.0',
    description='The classic CNN comparison (AlexNet, NIN, GoogLeNet-BN, '
                'DenseNet) of a 2016 fashion-classification blog, in Chainer, '
                'on any folder of images',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.9',
    packages=find_packages(exclude=['tests', 'tests.*']),
    py_modules=['chainer_compat', 'compute_mean', 'train_imagenet',
                'training_extras', 'training_safety', 'training_mn',
                'predict'],
    install_requires=[
        'chainer==7.8.1',
        # Classic stack: NumPy 1.26; Python >= 3.12: NumPy 2 (chainer_compat).
        'numpy>=1.21,<2; python_version < "3.12"',
        'numpy>=2; python_version >= "3.12"',
        'pillow>=9.4',
        'matplotlib',
    ],
    extras_require={
        # CuPy 13 keeps cuDNN and pairs with NumPy 1.26; CuPy 14 needs NumPy 2
        # and has no cuDNN. The cuDNN 8 wheel is found by chainer_compat.
        'gpu': [
            'cupy-cuda12x>=13,<14; python_version < "3.12"',
            'nvidia-cudnn-cu12>=8.8,<9; python_version < "3.12"',
            'cupy-cuda12x>=14; python_version >= "3.12"',
        ],
        # ChainerMN (--communicator) over MPI; needs an MPI library, e.g.
        # Debian's openmpi-bin libopenmpi-dev.
        'mpi': ['mpi4py>=3.1'],
        'test': ['pytest'],
    },
)
