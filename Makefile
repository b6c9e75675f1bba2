# make demo / make test create or reuse .venv with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON VENV

.PHONY: venv test test-all test-faults demo reproduce clean bench-feeder sample docs gpu-check

venv:
	@tools/ensure-venv

test: venv
	$(PY) -m pytest -q -m "not slow" tests

test-all: venv
	$(PY) -m pytest -q tests

# Kills, damaged snapshots, NaN losses, bad inputs and a reader fuzz.
test-faults: venv
	$(PY) -m pytest -q tests/faults

# labeling -> compute_mean -> the four networks (short CPU schedule) -> the
# table and the confusion matrix, on sample/fashion-mnist; lists left in data/.
demo: venv
	$(PY) tools/demo.py

# The blog's protocol on the full Fashion-MNIST, for a GPU (GPU=0): hours.
GPU ?= 0
reproduce: venv
	$(PY) -c "import cupy" 2>/dev/null || $(PY) -m pip install -q --no-build-isolation -e ".[gpu]"
	$(PY) tools/reproduce.py --gpu $(GPU)

bench-feeder: venv
	$(PY) bench/feeder.py

# Chainer's and PyTorch's training speed per network on GPU $(GPU); the
# table goes to results/gpu/ (PyTorch is timed only when installed).
gpu-check: venv
	$(PY) -c "import cupy" 2>/dev/null || $(PY) -m pip install -q --no-build-isolation -e ".[gpu]"
	$(PY) bench/gpu_check.py --gpu $(GPU) --out results/gpu/table.md

# Regenerates docs/shapes.md (layer tables, AlexNet walk-through) from models/.
docs: venv
	$(PY) -m models.shapes_doc docs/shapes.md

# Regenerates the committed Fashion-MNIST sample (needs dataset-fashion-mnist).
sample: venv
	$(PY) -m labeling.fashion_mnist sample/fashion-mnist --split train --limit-per-class 30

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
