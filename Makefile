# make demo / make test create or reuse .venv with $(PYTHON) (default python3).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON VENV

.PHONY: venv test test-all demo clean

venv:
	@tools/ensure-venv

test: venv
	$(PY) -m pytest -q -m "not slow" tests

test-all: venv
	$(PY) -m pytest -q tests

demo: venv
	$(PY) -m models

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
