# Workshop Recommendation Tracker. `make run` starts everything locally; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
# Local runs: DEBUG on, SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
LOCAL_ENV := DEBUG=$${DEBUG:-true} PATH=$(CURDIR)/$(BIN):$$PATH
TEST_ENV := DEBUG=true EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend VAR_DIR=$(CURDIR)/var/test

.PHONY: install run test lint check migrations messages bench-review bench-reminders bench-api clean

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(LOCAL_ENV) $(BIN)/python manage.py migrate --noinput
	$(LOCAL_ENV) $(BIN)/python manage.py load_demo_data
	@echo ""
	@echo "  Workshop Recommendation Tracker: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "  Demo accounts (password demo-pass-2021): secretariat, reviewer, fp-eg, fp-eg-alt, fp-jo"
	@echo "  Ctrl-C stops the web server, the Celery worker and beat."
	@echo ""
	$(LOCAL_ENV) PYTHONUNBUFFERED=1 $(BIN)/honcho --procfile Procfile.local start

test: install
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

migrations: install
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

messages: install
	DEBUG=true $(BIN)/python manage.py makemessages -l ar --no-location --ignore=.venv --ignore=var --ignore=tests
	$(BIN)/python locale/tools/build_po.py core
	rm -rf locale/ar

# REST API throughput vs a raw psycopg endpoint on PostgreSQL (creates the database if missing).
BENCH_API_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wt_api_bench
bench-api: install
	DEBUG=true DATABASE_URL=$(BENCH_API_DATABASE_URL) PATH=$(CURDIR)/$(BIN):$$PATH \
	  $(BIN)/python manage.py bench_api $(BENCH_ARGS)

# The review view at 1,000,000 implementations (generates the large synthetic set first if it is missing).
bench-review: install
	@case "$${DATABASE_URL:-}" in postgres://*|postgresql://*|pgsql://*) ;; \
	  *) echo "bench-review needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name (a scratch database)."; exit 2;; esac
	$(LOCAL_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	$(LOCAL_ENV) $(BIN)/python manage.py bench_review --generate

bench-reminders: install
	DEBUG=true VAR_DIR=$(CURDIR)/var/bench LOG_LEVEL=WARNING $(BIN)/python manage.py bench_reminders

clean:
	rm -rf var/test .pytest_cache
