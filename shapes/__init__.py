"""The layer-shape tool: every layer's output size and the arithmetic.

It reads the networks only through ``models`` (``ARCHS``, ``get_model`` and
a model's ``insize``, ``n_class``, ``n_layers``) and their Chainer links;
the models know nothing of it.

- ``python -m shapes`` (``shapes.cli``): the table of one architecture,
  ``--valid-sizes``, ``--graph``.
- ``python -m shapes.doc [FILE]`` (``shapes.doc``): docs/shapes.md
  (``make docs``).
- ``shapes.trace`` records a forward pass; ``shapes.replay`` redoes its size
  arithmetic for any input size; ``shapes.table`` turns both into rows.
"""
