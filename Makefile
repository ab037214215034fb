# Salesflow developer commands. The two that matter:
#   make run    set up everything, load the demo data once, serve on http://127.0.0.1:8000
#   make test   set up everything, then run every check and test suite (CI runs this)
# Set-up steps are stamp files, so a second run only redoes what changed.
# `make -k test` keeps going after a failing step and shows every failure.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.DELETE_ON_ERROR:

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 0.01
# PostgreSQL for the second test run; the tests create and drop their own test_… database.
PG_URL ?= postgres://postgres@127.0.0.1:5432/salesflow
CHROMIUM ?= /usr/bin/chromium
SYSTEM_PACKAGES := chromium fonts-noto-cjk gettext libpango-1.0-0 libpangoft2-1.0-0
# what the product itself needs: WeasyPrint renders quote PDFs with pango and the CJK font
RUN_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
PYTEST_ARGS ?=
# pytest-xdist processes for the SQLite and PostgreSQL suites (the CI machine has 2 cores).
PYTEST_WORKERS ?= 2

# Python 3.11 for the virtualenv: python3.11, else python3 (checked to be 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

STAMP_PY := $(VENV)/.installed
STAMP_NPM := node_modules/.installed
STAMP_VENDOR := salesflow/static/vendor/.installed
PO_FILES := $(wildcard salesflow/locale/*/LC_MESSAGES/*.po salesflow/*/locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

# Settings that make `check --deploy` see a production installation.
DEPLOY_ENV := DEBUG=0 ALLOWED_HOSTS=example.com CSRF_TRUSTED_ORIGINS=https://example.com \
	SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 SECURE_HSTS_INCLUDE_SUBDOMAINS=1 \
	SECURE_HSTS_PRELOAD=1 SECURE_COOKIES=1

.PHONY: help setup run test lint system-packages check-migrations check-translations check-deploy \
	test-templates test-sqlite test-postgres test-e2e bench messages clean

help:
	@echo "make run        set up, migrate, load demo data and serve on http://$(HOST):$(PORT)"
	@echo "                with one task worker and the scheduler (one Ctrl-C stops all)"
	@echo "make test       set up and run every check and test (lint, types, migrations,"
	@echo "                translations, deploy check, pytest on SQLite and PostgreSQL; browser tests"
	@echo "                run beside them in the background, TEST_E2E_ALONGSIDE=0 for after)"
	@echo "make lint       ruff, ruff format --check, mypy, import contracts"
	@echo "make bench      generate data (SCALE=$(SCALE)) and report server times and query counts"
	@echo "make messages   extract translatable strings into the catalogues and compile them"
	@echo "make clean      remove the virtualenv, node_modules and build output (keeps var/)"

# ---------------------------------------------------------------- set-up (stamped)

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Salesflow needs Python 3.11, $(PYTHON) is " + sys.version.split()[0] + " (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP_PY): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMP_VENDOR): $(STAMP_NPM) scripts/vendor.py | $(PY)
	$(PY) scripts/vendor.py
	@touch $@

%.mo: %.po | $(PY)
	$(PY) scripts/compilemessages.py $<

setup: $(STAMP_PY) $(STAMP_VENDOR) $(MO_FILES)

# ---------------------------------------------------------------- run

run: setup
	@bash scripts/system_packages.sh $(RUN_PACKAGES)
	$(BIN)/salesflow migrate --no-input -v 0
	$(BIN)/salesflow demo
	$(BIN)/salesflow serve --no-migrate --with-worker --host $(HOST) --port $(PORT)

# ---------------------------------------------------------------- checks and tests

# The browser tests mostly wait (on Chromium and their server), so they run in the background
# beside the other steps, which run one after another at a lower priority (the browser tests'
# timeouts then never compete with the CPU-bound suites); their output is printed after the
# other steps' output. A failure in either half fails `make test`; `make -k test` keeps going
# in both. TEST_E2E_ALONGSIDE=0 runs them last instead, as one more step.
TEST_STEPS := lint check-migrations check-translations check-deploy test-sqlite test-postgres
TEST_E2E_ALONGSIDE ?= 1

test: setup system-packages
ifeq ($(TEST_E2E_ALONGSIDE),1)
	@bash scripts/alongside.sh "browser tests" "$(MAKE) --no-print-directory test-templates test-e2e" \
		nice -n 5 $(MAKE) --no-print-directory $(TEST_STEPS)
else
	@$(MAKE) --no-print-directory test-templates $(TEST_STEPS) test-e2e
endif
	@echo "make test: every check and test suite passed"

system-packages:
	@bash scripts/system_packages.sh $(SYSTEM_PACKAGES)

lint: $(STAMP_PY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy salesflow scripts tests bench
	$(BIN)/lint-imports --no-cache

check-migrations: setup
	$(PY) manage.py makemigrations --check --dry-run

check-translations: setup
	$(PY) scripts/check_translations.py

check-deploy: setup
	$(DEPLOY_ENV) SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(PY) manage.py check --deploy --fail-level WARNING

# The migrated test-database templates (salesflow/core/test_databases.py), built ahead of the
# suites: in `make test` this runs in the background beside lint (before the browser tests,
# whose server copies the SQLite template), so neither suite starts with one process migrating
# while the other waits. The suites build a missing template themselves.
test-templates: setup
	@env -u DATABASE_URL $(PY) scripts/test_templates.py
	@if $(PY) scripts/pg_ready.py "$(PG_URL)" >/dev/null; then \
		DATABASE_URL="$(PG_URL)" $(PY) scripts/test_templates.py; \
	fi

test-sqlite: setup
	@env -u DATABASE_URL bash scripts/pytest_suite.sh "pytest on SQLite" \
		$(BIN)/pytest -m "not e2e" --ignore=tests/e2e -q -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS)

test-postgres: setup
	@if $(PY) scripts/pg_ready.py "$(PG_URL)"; then \
		DATABASE_URL="$(PG_URL)" bash scripts/pytest_suite.sh "pytest on PostgreSQL" \
			$(BIN)/pytest -m "not e2e" --ignore=tests/e2e -q -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS); \
	else \
		bash scripts/skip_or_fail.sh "pytest on PostgreSQL ($(PG_URL) is not reachable)"; \
	fi

test-e2e: setup
	@if [ -x "$(CHROMIUM)" ]; then \
		env -u DATABASE_URL SALESFLOW_CHROMIUM="$(CHROMIUM)" bash scripts/pytest_suite.sh "browser tests" \
			$(BIN)/pytest tests/e2e -m e2e -q $(PYTEST_ARGS); \
	else \
		bash scripts/skip_or_fail.sh "browser tests (no Chromium at $(CHROMIUM); apt-get install chromium fonts-noto-cjk)"; \
	fi

# ---------------------------------------------------------------- other tasks

bench: setup
	$(PY) bench/generate.py --scale $(SCALE)
	$(PY) bench/run.py
	$(PY) bench/matching.py --rows 20000  # issue 8: duplicate matching quality and throughput

# An app with a locale/ directory has its own catalogue (extracted from inside the app, so
# references read `models.py:12`); everything else (core, users, templates, settings) goes to
# salesflow/locale. To give an app its own catalogue: mkdir salesflow/<app>/locale.
LOCALE_APPS = $(patsubst salesflow/%/locale,%,$(wildcard salesflow/*/locale))
MAKEMESSAGES = env -u DJANGO_SETTINGS_MODULE $(abspath $(PY)) -P -m django makemessages -l zh_Hans --no-obsolete

messages: $(STAMP_PY)
	for app in $(LOCALE_APPS); do (cd salesflow/$$app && $(MAKEMESSAGES)); done
	cd salesflow && $(MAKEMESSAGES) $(addprefix --ignore=,$(LOCALE_APPS))
	$(PY) scripts/compilemessages.py

clean:
	rm -rf $(VENV) node_modules salesflow/static/vendor build salesflow.egg-info \
		.mypy_cache .ruff_cache .pytest_cache .hypothesis artifacts
	find salesflow -name '*.mo' -delete
	find . -name __pycache__ -prune -exec rm -rf {} +
