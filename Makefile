# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench system-deps js-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: the main job, end to end, against a local AWS endpoint and a throw-away keyring
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## test: lint, types and the whole test suite
test: system-deps js-deps $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

## system-deps: the Debian packages the tests need (a headless Secret Service)
system-deps:
	sh scripts/system-deps.sh

## js-deps: the JavaScript SDK v3 that tests/test_server.py runs (from the committed lock)
js-deps:
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/js_server && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the JavaScript SDK tests will be skipped"; fi

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
