# One entry point for every chore. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
MJML    = tools/mjml/node_modules/.bin/mjml
CANIEMAIL = tools/caniemail/node_modules/caniemail/package.json

.PHONY: demo test lint golden bench fuzz caniemail-data screenshots clean

$(BIN)/digest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# The official MJML compiler, for strict validation in the tests and for the benchmarks.
$(MJML): tools/mjml/package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix tools/mjml --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the MJML validation tests will be skipped"; fi

# caniemail's published data, to check that digest/data/caniemail.json is generated from it.
$(CANIEMAIL): tools/caniemail/package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix tools/caniemail --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the caniemail data test will be skipped"; fi

## Build the sample issue from seeds/ into build/2026-w48/
demo: $(BIN)/digest
	$(BIN)/digest build 2026-w48

## Run the whole test suite
test: $(BIN)/digest $(MJML) $(CANIEMAIL)
	$(BIN)/pytest

## ruff (lint + format check) and mypy
lint: $(BIN)/digest
	$(BIN)/ruff check digest tests scripts benchmarks
	$(BIN)/ruff format --check digest tests scripts benchmarks
	$(BIN)/mypy digest

## Regenerate the golden files under tests/golden/ (review them as a diff)
golden: $(BIN)/digest
	$(BIN)/python scripts/golden.py

## Screenshots of the sample email at 375 and 700 px, light and dark, into screenshots/
screenshots: demo
	$(BIN)/python scripts/screenshots.py build/2026-w48 screenshots

## Speed and size figures
bench: $(BIN)/digest $(MJML)
	$(BIN)/python benchmarks/run.py

## The fuzz targets, 60 s each
fuzz: $(BIN)/digest
	$(BIN)/python fuzz/run.py 60

## Regenerate digest/data/caniemail.json from the npm package caniemail (review the diff)
caniemail-data: $(BIN)/digest
	npm install --prefix tools/caniemail --no-audit --no-fund --silent
	$(BIN)/python scripts/caniemail_data.py

clean:
	rm -rf build screenshots .pytest_cache
