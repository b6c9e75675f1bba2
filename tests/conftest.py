import chainer_compat  # noqa: F401  (before any test module imports chainer)
