# make demo / make test create or reuse .venv with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON VENV

.PHONY: venv test test-all test-faults demo reproduce clean bench-feeder sample docs gpu-check \
	gpu-install-check gpu-smoke wheelhouse torch-venv bench-speed bench-inference

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
# Whether CuPy can load CUDA here (`import cupy` alone succeeds without it);
# if not, the gpu extra goes in.
CUDA_WORKS = $(PY) -c "import chainer_compat, chainer.backends.cuda as c; assert c.available" 2>/dev/null
GPU_EXTRA_IF_NEEDED = $(CUDA_WORKS) || $(PY) -m pip install -q --no-build-isolation -e ".[gpu]"
BUDGET ?= blog
reproduce: venv
	@test "$(BUDGET)" = cpu || $(GPU_EXTRA_IF_NEEDED)
	$(PY) tools/reproduce.py --budget $(BUDGET) $(if $(filter cpu,$(BUDGET)),,--gpu $(GPU))

bench-feeder: venv
	$(PY) bench/feeder.py

# Training speed per network: Chainer's own kernels, kernels/ and PyTorch
# (installed in $(TORCH_VENV), apart: torch wants a newer setuptools than
# Chainer's build). bench-speed on the CPU; gpu-check on GPU $(GPU).
TORCH_VENV ?= .venv-torch
SPEED_ARGS ?=
# Rebuilt from scratch whenever torch, Chainer or Pillow do not import (a
# half-built or damaged venv repairs itself; pip alone would keep a package
# whose files are gone but whose record is not). torch pulls a setuptools
# without pkg_resources, which Chainer's build and Chainer itself need: the
# older one goes in after torch.
TORCH_CHECK = $(TORCH_VENV)/bin/python -c "import chainer_compat, torch, chainer, PIL, onnx, onnxruntime, numba" 2>/dev/null
torch-venv:
	@$(TORCH_CHECK) || { echo "Setting up $(TORCH_VENV)" && \
	  rm -rf $(TORCH_VENV) && $(PYTHON) -m venv $(TORCH_VENV) && \
	  $(TORCH_VENV)/bin/pip install -q --disable-pip-version-check "torch==2.13.0" pillow onnx onnxruntime "numba>=0.61" && \
	  $(TORCH_VENV)/bin/pip install -q --disable-pip-version-check "setuptools>=64,<70" wheel && \
	  $(TORCH_VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation chainer==7.8.1 && \
	  $(TORCH_CHECK); }

bench-speed: torch-venv
	$(TORCH_VENV)/bin/python bench/train_speed.py $(SPEED_ARGS)

# Batch-1 latency and batch-32 throughput per network: Chainer, kernels/,
# PyTorch and onnxruntime (bench/inference.py).
INFERENCE_ARGS ?= --out results/inference.md --json results/inference.json
bench-inference: torch-venv
	$(TORCH_VENV)/bin/python bench/inference.py $(INFERENCE_ARGS)

# The gpu extra on a machine with no GPU: CuPy loads its CUDA wheels, Chainer
# sees CUDA and cuDNN, NVRTC compiles, every cupy.* name Chainer uses exists.
# GPU_EXTRA=gpu-cuda13 (with GPU_VENV=.venv-gpu13): the same for CuPy 14.
GPU_EXTRA ?= gpu
GPU_VENV ?= .venv-gpu
gpu-install-check:
	VENV=$(GPU_VENV) EXTRAS=test,$(GPU_EXTRA) tools/ensure-venv
	REQUIRE_GPU_STACK=1 $(GPU_VENV)/bin/python -m pytest -q tests/test_gpu_stack.py tests/test_compat.py

gpu-check: venv
	$(GPU_EXTRA_IF_NEEDED)
	$(PY) bench/train_speed.py --gpu $(GPU) --out results/gpu/table.md $(SPEED_ARGS)

# The device check (tools/gpu_smoke.py): GPU $(GPU) is used, agrees with the
# CPU network by network, trains each network through train_imagenet.py,
# and its speed next to PyTorch; writes results/gpu/. GPU=-1: a tiny dry run
# on the CPU (into result/gpu-smoke-dry/). WHEELHOUSE=DIR: from a venv over
# the machine's own NumPy, CuPy and torch (--system-site-packages), with
# Chainer and the rest installed from DIR (make wheelhouse), no network.
SMOKE_VENV ?= .venv-smoke
SMOKE_PACKAGES = "setuptools<70" chainer==7.8.1 pillow
gpu-smoke:
ifdef WHEELHOUSE
	@test -x $(SMOKE_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(SMOKE_VENV)
	$(SMOKE_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-index --find-links $(WHEELHOUSE) $(SMOKE_PACKAGES)
	$(SMOKE_VENV)/bin/python tools/gpu_smoke.py --gpu $(GPU)
else
	@$(MAKE) --no-print-directory venv
	@test "$(GPU)" -lt 0 || $(GPU_EXTRA_IF_NEEDED)
	$(PY) tools/gpu_smoke.py --gpu $(GPU)
endif

# Wheels of Chainer and what it needs beyond NumPy and CuPy, for Python
# $(WHEELHOUSE_PYTHON) on x86-64 Linux: carried to a GPU machine without
# network for make gpu-smoke WHEELHOUSE=wheelhouse (about 9 MB).
WHEELHOUSE_PYTHON ?= 3.12
wheelhouse: venv
	$(PY) -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w wheelhouse chainer==7.8.1
	$(PY) -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version $(WHEELHOUSE_PYTHON) \
	  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 -d wheelhouse \
	  "setuptools<70" protobuf six filelock typing_extensions pillow

# Regenerates docs/shapes.md (layer tables, AlexNet walk-through) from models/
# with the shape tool (shapes/).
docs: venv
	$(PY) -m shapes.doc docs/shapes.md

# Regenerates the committed Fashion-MNIST sample (needs dataset-fashion-mnist).
sample: venv
	$(PY) -m labeling.fashion_mnist sample/fashion-mnist --split train --limit-per-class 100

clean:
	rm -rf $(VENV) $(TORCH_VENV) .pytest_cache build *.egg-info
