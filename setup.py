from setuptools import find_packages, setup
from setuptools.dist import Distribution

# The user's layout keeps generic top-level packages (models, results,
# kernels, ...): installed as a wheel they would land in site-packages and
# collide with any other project that does the same. So the project is
# installed from its repository only, editable (pip install -e .), which
# leaves them where they are.
WHEEL_REFUSED = (
    'error: chainer-fashion-cnn installs from its repository only: pip '
    'install --no-build-isolation -e . (a wheel would put its generic '
    'top-level packages, models, results, kernels and others, into '
    'site-packages)')
_bdist_wheel = Distribution().get_command_class('bdist_wheel')


class EditableOnly(_bdist_wheel):
    """An editable install borrows this command's tags and metadata
    writer; only building a real wheel is refused."""

    def run(self):
        raise SystemExit(WHEEL_REFUSED)


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
                'predict', 'export_onnx'],
    cmdclass={'bdist_wheel': EditableOnly},
    install_requires=[
        'chainer==7.8.1',
        # Classic stack: NumPy 1.26; Python >= 3.12: NumPy 2 (chainer_compat).
        'numpy>=1.21,<2; python_version < "3.12"',
        'numpy>=2; python_version >= "3.12"',
        'pillow>=9.4',
        'matplotlib',
    ],
    extras_require={
        # CUDA 12 with nothing but an NVIDIA driver: CuPy 13.6 (it keeps
        # cuDNN, which Chainer's convolutions use, and takes NumPy 1.22-2.5,
        # so both stacks) and the NVIDIA wheels of the libraries it opens;
        # chainer_compat loads them (CuPy 13 looks on the library path only).
        # NCCL makes ChainerMN's pure_nccl communicator available.
        'gpu': [
            'cupy-cuda12x>=13.6,<14',
            'nvidia-cudnn-cu12>=8.9,<9',
            'nvidia-cublas-cu12>=12,<13',
            'nvidia-cuda-nvrtc-cu12>=12,<13',
            'nvidia-curand-cu12>=10,<11',
            'nvidia-nccl-cu12>=2.16.5,<3',
        ],
        # CUDA 13 drivers: CuPy 14 finds its own CUDA wheels ([ctk]) but has
        # no cuDNN: Chainer then convolves with im2col and cuBLAS. NCCL is
        # not in [ctk]; without it CuPy warns at every import.
        'gpu-cuda13': ['cupy-cuda13x[ctk]>=14', 'nvidia-nccl-cu13>=2.27.7,<3'],
        # ChainerMN (--communicator) over MPI; needs an MPI library, e.g.
        # Debian's openmpi-bin libopenmpi-dev.
        'mpi': ['mpi4py>=3.1'],
        # export_onnx.py, predict.py --onnx and the onnxruntime column of
        # bench/inference.py; both wheels take NumPy 1.26 and 2.
        'onnx': ['onnx>=1.16', 'onnxruntime>=1.18'],
        # kernels/compiled.py: batch normalization's training passes on
        # every core; kernels/winograd.py's 3x3 convolutions (wheels for
        # NumPy 1.26 and 2).
        'numba': ['numba>=0.61'],
        'test': ['pytest'],
    },
)
