# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test setup setup-dev browser seed lint typecheck migrations-check schema schema-check test-sqlite test-postgres fuzz bench bench-quick faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

## Set up, migrate SQLite, load the seed data (idempotent) and serve on 127.0.0.1:$(PORT).
run: setup seed
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

seed: setup
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py load_seed

## Set up and run every check: lint, types, migrations, schema drift, the suite on SQLite and PostgreSQL.
test: setup-dev browser lint typecheck migrations-check test-sqlite test-postgres

## Debian's Chromium for the admin's browser test (installed when root can; the test says when it is missing).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "No Chromium: install it (apt-get install chromium) to run the admin's browser test."

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup-dev
	DEBUG=1 $(BIN)/mypy .

migrations-check: setup-dev
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

test-sqlite: setup-dev
	DATABASE_URL= REDIS_URL= $(BIN)/pytest -p no:cacheprovider -n 2 --dist loadfile

test-postgres: setup-dev
	DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -p no:cacheprovider -n 2 --dist loadfile

## Fuzz the API against openapi.yaml with 1,000 examples per operation (the suite runs 100), on SQLite;
## FUZZ_SEED=… for another seed, DATABASE_URL=… for PostgreSQL.
fuzz: setup-dev
	DATABASE_URL=$(DATABASE_URL) REDIS_URL= FUZZ_EXAMPLES=1000 $(BIN)/pytest -p no:cacheprovider tests/test_fuzz_api.py

## Regenerate openapi.yaml from the code.
schema: setup-dev
	DEBUG=1 $(BIN)/python manage.py spectacular --file openapi.yaml --validate

bench: setup-dev
	$(BIN)/python -m bench

bench-quick: setup-dev
	$(BIN)/python -m bench --quick

## 60 s of reads, texts and maintainers' edits at 64 connections: on SQLite, then on a PostgreSQL and a Redis
## of its own that it kills and stops mid-run (bench/faults.py; the suite runs a short variant).
faults: setup-dev
	$(BIN)/python -m bench.faults --database sqlite
	$(BIN)/python -m bench.faults --database postgres

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
