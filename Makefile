# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed

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
test: system-deps $(STAMP) js-deps lint
	$(BIN)/python -m pytest -q

# The JavaScript clients of the interoperability suite (tests/test_interop.py),
# exactly as tests/js/package-lock.json pins them.
js-deps: $(JS_STAMP)

$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

## system-deps: the Debian packages the tests need (a headless Secret Service)
system-deps:
	sh scripts/system-deps.sh

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info $(JS)/node_modules
