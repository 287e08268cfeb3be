# Impfportal: `make run` serves the demo, `make test` runs the whole suite (README).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# A Python for the venv: python3 if it is 3.11 or 3.12, else an installed python3.12 or python3.11.
# pgserver (the embedded PostgreSQL) has wheels for CPython up to 3.12 only; with DATABASE_URL set,
# any Python from 3.11 on will do.
PYTHON ?= $(shell \
  for p in python3 python3.12 python3.11; do \
    if $$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))' >/dev/null 2>&1; then \
      echo $$p; exit 0; fi; done; \
  if [ -n "$$DATABASE_URL" ] && python3 -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' >/dev/null 2>&1; then \
    echo python3; fi)

.PHONY: help install browser-deps run test lint bench messages stop-db clean

help:
	@echo "make run     set up and serve the demo on http://127.0.0.1:$${PORT:-8000} (web + task worker)"
	@echo "make test    set up and run the linter and the whole test suite"
	@echo "make bench   run every benchmark under benchmarks/"
	@echo "make messages  update and compile the translations"
	@echo "make stop-db stop the embedded PostgreSQL of the demo, if one still runs"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "No suitable Python found. The embedded PostgreSQL (pgserver) needs CPython 3.11 or 3.12." >&2; \
	  echo "Either install Python 3.12 (or 3.11) and run make again," >&2; \
	  echo "or set DATABASE_URL=postgres://user:password@host:5432/impfportal to use your own PostgreSQL." >&2; \
	  exit 1; fi
	@echo "Setting up $(VENV) with $$($(PYTHON) --version) ..."
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@( $(BIN)/python -m pip install --disable-pip-version-check --upgrade pip \
	  && $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]' ) > $(VENV)/install.log 2>&1 \
	  || { tail -n 40 $(VENV)/install.log >&2; echo "Installing failed; the whole log: $(VENV)/install.log" >&2; exit 1; }
	@touch $@

install: $(STAMP)

# The browser tests (tests/browser) need axe-core from npm and Debian's chromium. Each is set up
# once, behind a stamp; where one cannot be, the browser tests are skipped and say what is missing.
BROWSER_TESTS_DIR := tests/browser
AXE_STAMP := $(BROWSER_TESTS_DIR)/node_modules/.installed
CHROMIUM_STAMP := $(VENV)/.chromium-installed

$(AXE_STAMP): $(BROWSER_TESTS_DIR)/package.json $(BROWSER_TESTS_DIR)/package-lock.json | $(STAMP)
	@if ! command -v npm >/dev/null; then echo "npm not found: the browser tests will be skipped." >&2; exit 0; fi; \
	echo "Installing axe-core (npm ci in $(BROWSER_TESTS_DIR)) ..."; \
	if (cd $(BROWSER_TESTS_DIR) && npm ci --no-audit --no-fund) > $(VENV)/npm.log 2>&1; then touch $@; \
	else tail -n 20 $(VENV)/npm.log >&2; echo "npm ci failed: the browser tests will be skipped." >&2; fi

$(CHROMIUM_STAMP): | $(STAMP)
	@if [ -x /usr/bin/chromium ]; then touch $@; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "/usr/bin/chromium is missing (Debian package chromium; installing it needs root and apt-get):" \
	    "the browser tests will be skipped." >&2; \
	else \
	  echo "Installing Debian's chromium for the browser tests (apt-get, once) ..."; \
	  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } \
	      > $(VENV)/chromium-install.log 2>&1; then touch $@; \
	  else tail -n 20 $(VENV)/chromium-install.log >&2; \
	    echo "Installing chromium failed: the browser tests will be skipped." >&2; fi; \
	fi

browser-deps: $(AXE_STAMP) $(CHROMIUM_STAMP)

run: $(STAMP)
	@$(BIN)/python manage.py demo

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	@set -e; shopt -s nullglob; scripts=(benchmarks/[!_]*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "No benchmarks yet."; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(BIN)/python "$$script" $(BENCH_ARGS); done

messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale en --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --locale en --ignore '.venv/*'

stop-db: $(STAMP)
	@$(BIN)/python -c 'from pathlib import Path; from impfportal import embedded_postgres as e; e.stop(Path("var/pgdata").resolve())'

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
