# RWA Asset Service: two commands do all the set-up on a machine with Python 3.11+ and make.
#   make run   venv + pinned requirements, migrate, seed the demo once, serve API+admin, Celery worker and beat
#   make test  the whole suite (SQLite by default; PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint check migrate seed clean help

help:
	@echo "make run   - serve the API and admin on 127.0.0.1:$(PORT) with a Celery worker and beat (embedded default)"
	@echo "make test  - run the whole test suite"
	@echo "make lint  - ruff"

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" exec $(VENV)/bin/honcho start --no-prefix -f Procfile.local --port $(PORT)

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: $(VENV)/.dev
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

clean:
	rm -rf var/broker var/media
