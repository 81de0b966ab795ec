# tabwright: the two commands the README gives.
#
#   make app    set up .venv if needed, then serve the app on http://127.0.0.1:8501
#   make test   set up .venv, Debian's Chromium and PostgreSQL if needed, run the whole test suite
#               (pytest -n 2), then audit the installed packages for known vulnerabilities
#
# Setup is idempotent: .venv is created when missing, and `pip install -e '.[test]'` runs only
# when pyproject.toml changed since the last install (scripts/setup.sh keeps a stamp).
# Knobs: PORT=8502, STREAMLIT_FLAGS=--server.fileWatcherType=auto (live reload while editing),
#        PYTEST_ARGS='-n 0 -x tests/test_config.py', VENV=.venv, PYTHON=python3.11.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
PY := $(VENV)/bin/python
export VENV

PORT ?= 8501
STREAMLIT_FLAGS ?=
# --timeout: a hung test fails with a traceback after 10 minutes instead of eating CI's budget.
PYTEST_ARGS ?= -n 2 --timeout=600

.PHONY: help setup chromium postgresql app test audit clean

help:
	@echo "make app    run tabwright on http://127.0.0.1:$(PORT) (sets up .venv first)"
	@echo "make test   run every test and the dependency audit (sets up .venv, Chromium and PostgreSQL first)"
	@echo "make audit  only the dependency audit"
	@echo "make clean  remove test output and caches (keeps .venv)"

setup:
	@bash scripts/setup.sh

chromium:
	@bash scripts/install-chromium.sh

# The database tests start their own PostgreSQL server from Debian's package.
postgresql:
	@bash scripts/install-postgresql.sh

app: setup
	$(PY) scripts/run_app.py --server.address=127.0.0.1 --server.port=$(PORT) $(STREAMLIT_FLAGS)

test: setup chromium postgresql
	@bash scripts/run-tests.sh $(PYTEST_ARGS)
	@$(PY) scripts/audit.py
	@$(PY) scripts/junit_summary.py test-output/junit.xml

audit: setup
	@$(PY) scripts/audit.py

clean:
	rm -rf test-output .pytest_cache .hypothesis
