"""Make Chainer 7.8.1 import and run unchanged on today's Python and NumPy.

Every entry point imports this module before ``chainer``. Each patch is
applied only when the running stack lacks what Chainer expects, so on the
classic stack (Python <= 3.11, NumPy 1.26, setuptools < 70) it does nothing.

- ``numpy.sctypes``: removed in NumPy 2.0; ``chainer.functions.array.
  as_strided`` reads ``sctypes['int']`` and ``sctypes['float']`` at import.
- ``numpy.distutils.system_info``: ``numpy.distutils`` is gone in NumPy 2.0
  and on Python >= 3.12; ``chainer._environment_check`` imports it only to
  look for macOS Accelerate, so an empty ``get_info`` answers "not found".
- ``pkg_resources``: dropped from recent setuptools; the same environment
  check uses it to compare the installed CuPy with the version Chainer 7 was
  released against. A stand-in built on ``importlib.metadata`` answers it.
- ``CHAINER_WARN_VERSION_MISMATCH=0`` (unless already set): that check
  expects CuPy 7; this package deliberately pairs Chainer with CuPy 13/14,
  so its multi-line warning on every start would be noise.
- cuDNN 8 from the ``nvidia-cudnn-cu12`` wheel (the ``gpu`` extra): CuPy 13
  looks for ``libcudnn.so.8`` on the library path only, where the wheel's
  folder is not; loading the wheel's libraries first (RTLD_GLOBAL) lets
  CuPy's own lookup find them already in the process, without
  LD_LIBRARY_PATH. Only when CuPy and that wheel are both installed.
"""
import ctypes
import importlib.util
import os
import sys
import types
import warnings

import numpy

PATCHED = []


def _patch_sctypes():
    if 'sctypes' in numpy.__dict__:
        return
    numpy.sctypes = {
        'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
        'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
        'float': [numpy.float16, numpy.float32, numpy.float64,
                  numpy.longdouble],
        'complex': [numpy.complex64, numpy.complex128, numpy.clongdouble],
        'others': [bool, object, bytes, str, numpy.void],
    }
    PATCHED.append('numpy.sctypes')


def _patch_numpy_distutils():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "numpy.distutils is deprecated"
            import numpy.distutils.system_info  # noqa: F401
        return
    except ImportError:
        pass
    distutils = types.ModuleType('numpy.distutils')
    system_info = types.ModuleType('numpy.distutils.system_info')
    system_info.get_info = lambda name, notfound_action=0: {}
    distutils.system_info = system_info
    sys.modules['numpy.distutils'] = distutils
    sys.modules['numpy.distutils.system_info'] = system_info
    PATCHED.append('numpy.distutils.system_info')


def _patch_pkg_resources():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "pkg_resources is deprecated"
            import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    from importlib import metadata

    class DistributionNotFound(Exception):
        pass

    class VersionConflict(Exception):
        pass

    def get_distribution(name):
        try:
            return types.SimpleNamespace(version=metadata.version(name))
        except metadata.PackageNotFoundError:
            raise DistributionNotFound(name)

    def require(requirement):
        # Only presence is checked: the version check is silenced above.
        name = requirement
        for sep in '<>=!~;[ ':
            name = name.split(sep)[0]
        get_distribution(name)

    module = types.ModuleType('pkg_resources')
    module.DistributionNotFound = DistributionNotFound
    module.VersionConflict = VersionConflict
    module.get_distribution = get_distribution
    module.require = require
    sys.modules['pkg_resources'] = module
    PATCHED.append('pkg_resources')


# libcudnn.so.8 loads these by name at run time; each needs the ones before.
CUDNN8_LIBRARIES = ('libcudnn_ops_infer.so.8', 'libcudnn_ops_train.so.8',
                    'libcudnn_cnn_infer.so.8', 'libcudnn_cnn_train.so.8',
                    'libcudnn_adv_infer.so.8', 'libcudnn_adv_train.so.8',
                    'libcudnn.so.8')


def cudnn_wheel_folder():
    """The lib folder of an installed nvidia-cudnn-cu12 8.x, else None."""
    try:
        spec = importlib.util.find_spec('nvidia.cudnn')
    except ImportError:  # no nvidia namespace package at all
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        lib = os.path.join(folder, 'lib')
        if os.path.isfile(os.path.join(lib, 'libcudnn.so.8')):
            return lib
    return None


def _preload_cudnn_wheel():
    if not sys.platform.startswith('linux') or \
            importlib.util.find_spec('cupy') is None:
        return
    lib = cudnn_wheel_folder()
    if lib is None:
        return
    try:
        for name in CUDNN8_LIBRARIES:
            path = os.path.join(lib, name)
            if os.path.isfile(path):
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError as e:  # a broken install: CuPy reports no cuDNN itself
        warnings.warn('cuDNN wheel in {} not loaded: {}'.format(lib, e))
        return
    PATCHED.append('cudnn wheel ' + lib)


os.environ.setdefault('CHAINER_WARN_VERSION_MISMATCH', '0')
_patch_sctypes()
_patch_numpy_distutils()
_patch_pkg_resources()
_preload_cudnn_wheel()
