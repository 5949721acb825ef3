# Workshop Recommendation Tracker. `make run` starts everything locally; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements-dev.lock | cut -d' ' -f1)
# Local runs: DEBUG on, SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
LOCAL_ENV := DEBUG=$${DEBUG:-true} PATH=$(CURDIR)/$(BIN):$$PATH
TEST_ENV := DEBUG=true EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend VAR_DIR=$(CURDIR)/var/test

.PHONY: install run test test-fast lint lint-api typecheck imports check migrations messages bench-review bench-reminders bench-api bench-pages clean

$(STAMP): requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@rm -f $(VENV)/.installed-* && touch $@

# The schema linter (Redocly CLI) is pinned in package-lock.json; without npm the contract test says what is missing.
node_modules/.package-lock.json: package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; fi

install: $(STAMP) node_modules/.package-lock.json

run: install
	$(LOCAL_ENV) $(BIN)/python manage.py migrate --noinput
	$(LOCAL_ENV) $(BIN)/python manage.py load_demo_data
	@echo ""
	@echo "  Workshop Recommendation Tracker: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "  Demo accounts (password demo-pass-2021): secretariat, reviewer, fp-eg, fp-eg-alt, fp-jo, validator-iq"
	@echo "  Ctrl-C stops the web server, the Celery worker and beat."
	@echo ""
	$(LOCAL_ENV) PYTHONUNBUFFERED=1 $(BIN)/honcho --procfile Procfile.local start

test: install
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests that need no browser, Celery worker, PostgreSQL or Redis: the quick loop while editing.
test-fast: install
	$(TEST_ENV) $(BIN)/python -m pytest -n auto -m "not browser and not celery_worker and not postgres and not redis" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The REST API's OpenAPI schema against Redocly's recommended rules (redocly.yaml); Redocly CLI is pinned in
# package-lock.json (npm ci). tests/api/test_contract.py runs the same lint.
lint-api: install
	@mkdir -p var
	DEBUG=true $(BIN)/python manage.py spectacular --fail-on-warn --file var/openapi.yaml
	REDOCLY_TELEMETRY=off npx --no-install redocly lint var/openapi.yaml

typecheck: install
	DEBUG=true $(BIN)/mypy

imports: install
	$(BIN)/lint-imports

migrations: install
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

# Updates locale/ar/LC_MESSAGES/django.po from the source, fails on an untranslated or fuzzy entry (translate it in
# the .po, then run this again), and compiles the .mo.
messages: install
	DEBUG=true $(BIN)/python manage.py makemessages -l ar --no-location --no-obsolete \
	  --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=node_modules
	DEBUG=true VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest tests/core/test_catalogue.py -q -p no:cacheprovider \
	  -k "not compiled"
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var

# REST API throughput on the shapes partners run (first page, changed_since and updated_since sync pages, a filtered
# list, one item), each against a raw psycopg endpoint, on PostgreSQL (creates the database if missing). With wrk
# when installed (Debian: apt-get install wrk), else Python threads. BENCH_ARGS="--min-ratio 0.5" fails below it.
BENCH_API_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wt_api_bench
bench-api: install
	DEBUG=true DATABASE_URL=$(BENCH_API_DATABASE_URL) PATH=$(CURDIR)/$(BIN):$$PATH \
	  $(BIN)/python -m bench api $(BENCH_ARGS)

# The review view at 1,000,000 implementations (generates the large synthetic set first if it is missing).
bench-review: install
	@case "$${DATABASE_URL:-}" in postgres://*|postgresql://*|pgsql://*) ;; \
	  *) echo "bench-review needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name (a scratch database)."; exit 2;; esac
	$(LOCAL_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	$(LOCAL_ENV) $(BIN)/python -m bench review --generate

# The pages people open at 1,000,000 implementations, warm and cold, with their SQL query counts; exits 1 when a page
# misses its target (300 ms warm). Generates the large synthetic set in its scratch database first if it is missing
# (minutes). BENCH_ARGS="--size default --runs 3" for a quicker run on a smaller set.
BENCH_PAGES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wt_pages_bench
bench-pages: install
	DEBUG=true DATABASE_URL=$(BENCH_PAGES_DATABASE_URL) VAR_DIR=$(CURDIR)/var/bench LOG_LEVEL=WARNING \
	  $(BIN)/python -m bench pages --create-database $(BENCH_ARGS)

bench-reminders: install
	DEBUG=true VAR_DIR=$(CURDIR)/var/bench LOG_LEVEL=WARNING $(BIN)/python -m bench reminders $(BENCH_ARGS)

clean:
	rm -rf var/test .pytest_cache
