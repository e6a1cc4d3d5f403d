# glorot: the two set-up commands are `make demo` and `make test` (each installs what it needs).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo

.PHONY: demo test lint coverage-nojit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# A quick end-to-end tour: data, inspection, montage (later: training, statistics, report).
demo: $(VENV)/.installed
	bash scripts/demo.sh $(DEMO)

# Exactly what CI runs.
test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check glorotcli tests benchmarks scripts

# Run the suite with Numba's JIT off so coverage tools can see inside the kernels (slow).
coverage-nojit: $(VENV)/.installed
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -x -q -k "not slow"

bench: $(VENV)/.installed
	$(BIN)/glorot bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
