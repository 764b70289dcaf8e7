# The two set-up commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need first, so either works on a fresh machine (the demo: anvil and the EAS artifacts).
PYTHON ?= python3

.PHONY: install install-dev demo test lint typecheck pytest interop-deps interop-w3c

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

# The six W3C / W3C-CCG VC test suites against this checkout's `vcgate serve` (docs/interop.md). Runs when the suites
# are checked out in $(W3C_SUITES_DIR) (or MIRROR_DIR names fetched snapshots to set them up from); otherwise it
# prints how to get them and succeeds. VCGATE_POLICY=default runs under the default policy instead of w3c-interop.
W3C_SUITES_DIR ?= .cache/w3c-suites
interop-w3c:
	W3C_SUITES_DIR=$(W3C_SUITES_DIR) bash scripts/w3c-suites/run_all.sh
