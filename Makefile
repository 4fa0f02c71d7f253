# outreach: `make run` starts the service with demo data; `make test` runs everything CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt browser catalogs bench-render bench-pacing bench-send bench-fanout bench-inbound bench-queue bench-fhir bench-triage bench-report bench-journeys clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "outreach needs Python >= 3.11 (set PY=python3.11)")'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## virtualenv + packages + compiled catalogs
	$(BIN)/python -m outreach.i18n.catalogs --compile-only

catalogs: $(STAMP)  ## extract → update → compile the gettext catalogs after changing texts
	$(BIN)/python -m outreach.i18n.catalogs

run: install  ## the service on the embedded default, with demo data (Ctrl-C stops it)
	$(BIN)/outreach up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy outreach workers tests bench fakes

fmt: install  ## format and fix what ruff can fix by itself
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

browser:  ## Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded by Playwright)
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }; }; } || \
	  echo "!!! /usr/bin/chromium is missing and could not be installed (needs root and apt-get): browser tests will not run"

test: lint browser  ## lint, type-check and the whole test suite (real PostgreSQL and Redis, headless Chromium)
	$(BIN)/pytest

bench-render: install
	$(BIN)/python -m bench render

bench-pacing: install
	$(BIN)/python -m bench pacing --rate 50

bench-send: install  ## needs PostgreSQL and Redis
	$(BIN)/python -m bench send --messages 10000

bench-fanout: install  ## needs PostgreSQL
	$(BIN)/python -m bench fanout --patients 100000

bench-inbound: install  ## needs PostgreSQL
	$(BIN)/python -m bench inbound --seconds 20

bench-queue: install  ## needs PostgreSQL
	$(BIN)/python -m bench queue --messages 1000000

bench-fhir: install  ## needs PostgreSQL
	$(BIN)/python -m bench fhir --patients 50000

bench-triage: install  ## red-flag recall and false positives over every language's test set
	$(BIN)/python -m bench triage

bench-report: install  ## needs PostgreSQL
	$(BIN)/python -m bench report --messages 1000000

bench-journeys: install  ## needs PostgreSQL
	$(BIN)/python -m bench journeys --events 50000

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
