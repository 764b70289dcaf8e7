# The two set-up commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need first, so either works on a fresh machine (the demo: anvil and the EAS artifacts).
PYTHON ?= python3

.PHONY: install install-dev demo test lint typecheck pytest interop-deps

install:
	$(PYTHON) -m pip install --quiet --upgrade pip wheel setuptools
	$(PYTHON) -m pip install --quiet -e ".[ethereum,fabric,postgres,cluster]"

install-dev: install
	$(PYTHON) -m pip install --quiet -e ".[ethereum,fabric,postgres,cluster,dev]"
	bash scripts/install-test-deps.sh

demo: install
	bash scripts/install-demo-deps.sh
	vcgate demo

lint:
	ruff check .
	ruff format --check .

typecheck:
	bash scripts/typecheck.sh

pytest:
	$(PYTHON) -m pytest

test: install-dev lint typecheck pytest
