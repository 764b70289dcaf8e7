# The two set-up commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both first create the project's virtual environment .venv (with the first Python >= 3.11 on PATH, see
# scripts/find-python.sh; override with `make PYTHON=/path/to/python3`), install into it from the pinned
# constraints.txt, and run every tool from $(VENV)/bin, so they work on an externally managed system Python (PEP 668).
PYTHON ?= $(shell bash scripts/find-python.sh)
VENV ?= .venv
# Absolute: scripts (typecheck.sh) run tools from other directories.
BIN := $(abspath $(VENV))/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# setuptools' one editable-install notice (about folders named like the package) is not actionable here.
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(PIP) install --quiet -c constraints.txt

.PHONY: venv install install-dev demo test lint typecheck pytest pytest-fast pytest-server lock interop-deps interop-w3c

venv: $(BIN)/python

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "no Python >= 3.11 found; run make PYTHON=/path/to/python3.11+" >&2; exit 1; }
	bash scripts/venv.sh "$(PYTHON)" "$(VENV)"

# Stamps keep repeated runs quick; they are redone when pyproject.toml or constraints.txt change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e ".[ethereum,fabric,postgres,cluster]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP_INSTALL) -e ".[ethereum,fabric,postgres,cluster,dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev
	bash scripts/install-test-deps.sh

demo: install
	bash scripts/install-demo-deps.sh
	$(BIN)/vcgate demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	MYPY=$(BIN)/mypy PYTHON=$(BIN)/python bash scripts/typecheck.sh

# Two tiers: the offline tests first (no server processes: fails fast), then those that start anvil, uvicorn,
# PostgreSQL or gRPC peers (marked `server`).
pytest-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not server" -q

pytest-server: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "server" -q

pytest: pytest-fast pytest-server

test: install-dev lint typecheck pytest

# Regenerate constraints.txt after changing a dependency in pyproject.toml.
lock:
	bash scripts/lock.sh "$(PYTHON)"

# The six W3C / W3C-CCG VC test suites against this checkout's `vcgate serve` (docs/interop.md). Runs when the suites
# are checked out in $(W3C_SUITES_DIR) (or MIRROR_DIR names fetched snapshots to set them up from); otherwise it
# prints how to get them and succeeds. VCGATE_POLICY=default runs under the default policy instead of w3c-interop.
W3C_SUITES_DIR ?= .cache/w3c-suites
interop-w3c: install
	PATH=$(BIN):$$PATH W3C_SUITES_DIR=$(W3C_SUITES_DIR) bash scripts/w3c-suites/run_all.sh
