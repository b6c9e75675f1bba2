# make demo / make test create or reuse .venv with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON VENV

.PHONY: venv test test-all test-faults demo reproduce clean bench-feeder sample docs gpu-check \
	gpu-install-check \
	torch-venv bench-speed

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

# The four networks on Fashion-MNIST (tools/budgets.py): BUDGET=blog (the
# blog's protocol, hours on GPU $(GPU)), gpu-quick (~15 min on a GPU) or cpu
# (at most 2 hours on 2 cores).
GPU ?= 0
# Whether CuPy can load CUDA here (`import cupy` alone succeeds without it).
CUDA_WORKS = $(PY) -c "import chainer_compat, chainer.backends.cuda as c; assert c.available" 2>/dev/null
BUDGET ?= blog
reproduce: venv
	@test "$(BUDGET)" = cpu || $(CUDA_WORKS) || $(PY) -m pip install -q --no-build-isolation -e ".[gpu]"
	$(PY) tools/reproduce.py --budget $(BUDGET) $(if $(filter cpu,$(BUDGET)),,--gpu $(GPU))

bench-feeder: venv
	$(PY) bench/feeder.py

# Training speed per network: Chainer's own kernels, kernels/ and PyTorch
# (installed in $(TORCH_VENV), apart: torch wants a newer setuptools than
# Chainer's build). bench-speed on the CPU; gpu-check on GPU $(GPU).
TORCH_VENV ?= .venv-torch
SPEED_ARGS ?=
torch-venv:
	@test -x $(TORCH_VENV)/bin/python || { $(PYTHON) -m venv $(TORCH_VENV) && \
	  $(TORCH_VENV)/bin/pip install -q "torch==2.13.0" pillow && \
	  $(TORCH_VENV)/bin/pip install -q --no-build-isolation chainer==7.8.1; }

bench-speed: torch-venv
	$(TORCH_VENV)/bin/python bench/train_speed.py $(SPEED_ARGS)

# The gpu extra on a machine with no GPU: CuPy loads its CUDA wheels, Chainer
# sees CUDA and cuDNN, NVRTC compiles, every cupy.* name Chainer uses exists.
GPU_VENV ?= .venv-gpu
gpu-install-check:
	VENV=$(GPU_VENV) EXTRAS=test,gpu tools/ensure-venv
	REQUIRE_GPU_STACK=1 $(GPU_VENV)/bin/python -m pytest -q tests/test_gpu_stack.py tests/test_compat.py

gpu-check: venv
	$(CUDA_WORKS) || $(PY) -m pip install -q --no-build-isolation -e ".[gpu]"
	$(PY) bench/train_speed.py --gpu $(GPU) --out results/gpu/table.md $(SPEED_ARGS)

# Regenerates docs/shapes.md (layer tables, AlexNet walk-through) from models/.
docs: venv
	$(PY) -m models.shapes_doc docs/shapes.md

# Regenerates the committed Fashion-MNIST sample (needs dataset-fashion-mnist).
sample: venv
	$(PY) -m labeling.fashion_mnist sample/fashion-mnist --split train --limit-per-class 100

clean:
	rm -rf $(VENV) $(TORCH_VENV) .pytest_cache build *.egg-info
