# make demo / make test create or reuse .venv with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON VENV

.PHONY: venv test test-all demo clean bench-feeder sample docs

venv:
	@tools/ensure-venv

test: venv
	$(PY) -m pytest -q -m "not slow" tests

test-all: venv
	$(PY) -m pytest -q tests

demo: venv
	$(PY) -m models

bench-feeder: venv
	$(PY) bench/feeder.py

# Regenerates docs/shapes.md (layer tables, AlexNet walk-through) from models/.
docs: venv
	$(PY) -m models.shapes_doc docs/shapes.md

# Regenerates the committed Fashion-MNIST sample (needs dataset-fashion-mnist).
sample: venv
	$(PY) -m labeling.fashion_mnist sample/fashion-mnist --split train --limit-per-class 30

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
