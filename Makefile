# Everything runs from the project's own virtualenv, created on first use with $(PYTHON).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
CELERY_WORKER := $(BIN)/celery -A config worker --beat --loglevel=INFO

.PHONY: run test lint migrate worker clean bench-earn bench-jobs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamps re-install only when pyproject.toml changed (or the virtualenv is new).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[bench]'
	touch $@ $(VENV)/.installed

# The demo: migrate, load demo/program.json, print a fresh API key and the URLs, then run a Celery
# worker with embedded beat in the background and the web server in the foreground. Ctrl-C stops both.
run: export DEBUG = 1
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_program demo/program.json
	$(BIN)/python manage.py setup_demo --port $(PORT)
	@$(CELERY_WORKER) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate

# The worker (with embedded beat) alone, for when the web server runs elsewhere. Run exactly one beat.
worker: $(VENV)/.installed
	$(CELERY_WORKER)

# The earn benchmark (docs/BENCHMARKS.md, "Earn"): needs PostgreSQL; uses its own database, loyalty_bench
# (or $$BENCH_DATABASE_URL), and port 8765; about 2.5 minutes. BENCH_ARGS='--clients 16 --duration 10' for others.
BENCH_ARGS ?=
bench-earn: $(VENV)/.installed-bench
	$(BIN)/python bench/earn.py $(BENCH_ARGS)

# The jobs benchmark (docs/BENCHMARKS.md, "Jobs"): needs PostgreSQL; builds (or reuses) its own template database,
# loyalty_bench_jobs (or $$BENCH_JOBS_DATABASE_URL), copies it twice per run; about 10 minutes at full size.
# BENCH_ARGS='--members 10000' for a smaller run.
bench-jobs: $(VENV)/.installed-bench
	$(BIN)/python bench/jobs.py $(BENCH_ARGS)

# Removes the virtualenv, caches and the local broker's queue; the SQLite database in var/ stays.
clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis var/broker
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
