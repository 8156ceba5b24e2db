# Two commands do all set-up on a fresh machine:  `make run` (the shop) and `make test` (the whole suite).
# Every target installs what it needs first, idempotently: a second run only checks stamps.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUN := .tools/node_modules/.bin/bun
# Reflex finds our bun first on PATH and then skips its own (internet-only) installer.
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast test-browser check migrate export reconcile bench deps dev-deps system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(BUN): .tools/package.json .tools/package-lock.json
	cd .tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.runtime-installed $(BUN)

dev-deps: deps $(VENV)/.dev-installed system-deps

# Debian's chromium drives the browser tests; nginx fronts the `reflex export` deployment test.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/sbin/nginx ]; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium nginx >/dev/null; \
	fi

migrate: deps
	$(PY) -m rxshop migrate

run: migrate
	$(VENV)/bin/reflex run

# Unit + integration (one pytest process), the chaos suite (kills and restarts processes it starts itself:
# workers, its own PostgreSQL and Redis; fills a tmpfs it mounts), then the browser journeys (their own
# process: event-loop clash).
test: dev-deps
	$(PY) -m pytest tests/unit tests/integration -q -p no:playwright
	$(PY) -m pytest tests/chaos -q -p no:playwright
	$(PY) -m pytest tests/e2e -q --screenshot only-on-failure --output test-artifacts/e2e

test-fast: dev-deps
	$(PY) -m pytest tests/unit tests/integration -q -p no:playwright -x

# Lint (with the layering rule and complexity <= 12), formatting, spelling, types outside the Reflex UI
# layer, and no module in rxshop/ over 400 lines: CI runs it before the tests.
check: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/codespell
	$(VENV)/bin/mypy
	@long=$$(find rxshop -name '*.py' -exec wc -l {} + | awk '$$2 != "total" && $$1 > 400'); \
	  if [ -n "$$long" ]; then echo "Modules over 400 lines (split them by concern):"; echo "$$long"; exit 1; fi

reconcile: migrate
	$(PY) -m rxshop reconcile $(ARGS)

# The nginx deployment's two archives (deploy/README.md): frontend.zip (static pages) and backend.zip (the
# app without tests). The public backend URL is baked into the pages now: REFLEX_API_URL if set, else
# BACKEND_URL (environment or .env, as rxconfig.py reads it). Run it with the production settings.
# Only paths that exist: reflex refuses to exclude a missing one (a fresh clone has no test-artifacts/).
# Then rxshop-csp.conf: the nginx Content-Security-Policy with the hashes of THIS export's inline scripts
# (deploy/csp.py); made anew every time, never committed, installed together with frontend.zip.
EXPORT_EXCLUDE = $(wildcard tests bench docs test-artifacts .data *.db-wal *.db-shm rxshop-csp.conf)
export: deps
	RXSHOP_EXPORT_ONLY=true $(VENV)/bin/reflex export --env prod $(foreach path,$(EXPORT_EXCLUDE),--exclude-from-backend $(path))
	@$(PY) -c 'import json; print("Backend URL baked into frontend.zip:", json.load(open(".web/env.json"))["EVENT"])'
	$(PY) deploy/csp.py frontend.zip .web/env.json rxshop-csp.conf

# rxshop and the bare app (bench/bare_app) side by side through the websocket and HTTP; writes bench/RESULTS.md.
# ARGS="--quick" for a short pass, ARGS="--only webhooks" for one benchmark. Never part of `make test`.
bench: dev-deps
	$(PY) bench/run_all.py $(ARGS)

clean:
	rm -rf .web .states frontend.zip backend.zip rxshop-csp.conf test-artifacts
