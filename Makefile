# The two commands a new user needs: `make demo` and `make test`.
#
# Every tool the tests run with comes from requirements-dev.lock (exact
# versions with hashes); `make lock` refreshes it, `make check-latest` tries
# the newest releases without touching it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements-dev.lock
# The oldest and newest Python the project claims; `make test` runs the unit
# tests on each (the whole suite runs on $(PYTHON)). pyenv's versions are
# used where the command is not on PATH.
OTHER_PYTHONS ?= 3.10 3.13
UNIT := -m "not slow and not server and not secretservice"
# The whole suite runs on pytest-xdist: one worker per core (CI has two), each
# test file on one worker, so a module's servers start once and its tests keep
# their order. Most slow tests wait (on processes, servers, timeouts) more
# than they compute, so two workers nearly halve the time.
# `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: demo test lint typecheck unit unit-pythons bench lock check-latest check-oldest system-deps js-deps clean
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed

# pip in hash-checking mode installs exactly the lock; the project itself is
# installed editable with the locked build backend (no unpinned download).
define install
	$(1) -m venv $(2)
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
endef

$(STAMP): pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(call install,$(PYTHON),$(VENV))
	touch $(STAMP)

## demo: the main job, end to end, against a local AWS endpoint and a throw-away keyring
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## test: lint, types, the whole suite, and the unit tests on the other Pythons
test: system-deps $(STAMP) js-deps lint typecheck
	$(BIN)/python -m pytest -q $(PARALLEL)
	$(MAKE) --no-print-directory unit-pythons

# The JavaScript clients of the interoperability suite and the credential server's
# tests (tests/test_interop.py, tests/test_server_exec.py),
# exactly as tests/js/package-lock.json pins them.
js-deps: $(JS_STAMP)

$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

## lint: formatting and lint rules (ruff)
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

## typecheck: mypy strict over the package, the tests, the examples and the bench
typecheck: $(STAMP)
	$(BIN)/mypy

## unit: the fast tests (no subprocess- or server-heavy ones), under a minute
unit: $(STAMP)
	$(BIN)/python -m pytest -q $(UNIT)

## unit-pythons: the unit tests on the oldest and newest supported Python
# Both at once (one process each, so one core each), each one's output shown
# whole when it ends; the venvs are rebuilt when the lock or pyproject.toml changed.
unit-pythons: $(STAMP)
	@$(MAKE) --no-print-directory -j $(words $(OTHER_PYTHONS)) --output-sync=target \
	  $(addprefix unit-python-,$(OTHER_PYTHONS))

# unit-python-3.10 etc.: the unit tests on one Python (a venv .venv-VERSION from the lock).
unit-python-%: $(STAMP)
	@set -e; v=$*; \
	py=$$(sh scripts/find-python.sh $$v); \
	if [ ! -f .venv-$$v/.installed ] || [ $(LOCK) -nt .venv-$$v/.installed ] || [ pyproject.toml -nt .venv-$$v/.installed ]; then \
	  rm -rf .venv-$$v; \
	  $$py -m venv --without-pip .venv-$$v; \
	  $(BIN)/uv pip install --quiet --python .venv-$$v/bin/python --require-hashes --no-deps -r $(LOCK); \
	  $(BIN)/uv pip install --quiet --python .venv-$$v/bin/python --no-deps --no-build-isolation -e .; \
	  touch .venv-$$v/.installed; \
	fi; \
	echo "unit tests on $$(.venv-$$v/bin/python --version)"; \
	.venv-$$v/bin/python -m pytest -q $(UNIT)

## system-deps: the Debian packages the tests need (a headless Secret Service, shells)
system-deps:
	sh scripts/system-deps.sh

## bench: the budgets of docs/performance.md, as ratios against reference commands
bench: $(STAMP)
	$(BIN)/python -m bench

## lock: re-resolve requirements-dev.lock to the newest versions allowed
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --group dev --universal --python-version 3.10 \
	  --generate-hashes --no-emit-index-url --no-emit-find-links --upgrade --quiet -o $(LOCK)

## check-latest: the unit tests against the newest release of every dependency (not in CI)
check-latest: $(STAMP)
	rm -rf .venv-latest
	$(BIN)/uv venv --quiet --python $(BIN)/python .venv-latest
	$(BIN)/uv pip install --quiet --python .venv-latest/bin/python --upgrade -r pyproject.toml --group dev -e .
	.venv-latest/bin/python -m pytest -q $(UNIT)

## check-oldest: the unit tests with every runtime dependency at its declared lower bound
## on the oldest Python (proves the bounds in pyproject.toml; not in CI)
check-oldest: $(STAMP)
	rm -rf .venv-oldest
	$(BIN)/uv venv --quiet --python $$(sh scripts/find-python.sh $(word 1,$(OTHER_PYTHONS))) .venv-oldest
	$(BIN)/uv pip compile --quiet pyproject.toml --resolution lowest-direct \
	  --python-version $(word 1,$(OTHER_PYTHONS)) -o .venv-oldest/lowest.txt
	$(BIN)/uv pip install --quiet --python .venv-oldest/bin/python -r .venv-oldest/lowest.txt \
	  -c .venv-oldest/lowest.txt pytest hypothesis 'moto[server]' jsonschema
	$(BIN)/uv pip install --quiet --python .venv-oldest/bin/python --no-deps -e .
	.venv-oldest/bin/python -m pytest -q $(UNIT)

clean:
	rm -rf $(VENV) .venv-* build dist *.egg-info $(JS)/node_modules
