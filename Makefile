# Argument Annotator: the two commands are `make run` and `make test` (see README.md).
# Everything else here is what they call. Python 3.11 is the only thing they expect.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUM    := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(SUM)
DEV_STAMP := $(VENV)/.installed-dev-$(SUM)
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install install-run lint format check browser clean

run: install-run .secret_key  ## migrate, load the demo corpus, serve at http://$(HOST):$(PORT)
	@DJANGO_DEBUG=1 DJANGO_SECRET_KEY="$$(cat .secret_key)" $(BIN)/python manage.py migrate --noinput -v 0
	@DJANGO_DEBUG=1 DJANGO_SECRET_KEY="$$(cat .secret_key)" $(BIN)/python manage.py load_demo
	@echo ""
	@echo "  Argument Annotator is at http://$(HOST):$(PORT)/  (stop with Ctrl-C)"
	@echo "  A background jobs worker runs beside it (exports to files, large imports)."
	@echo ""
	@# The worker runs beside the server and stops with it (Ctrl-C, or the server exiting).
	@export DJANGO_DEBUG=1 DJANGO_SECRET_KEY="$$(cat .secret_key)"; \
	$(BIN)/python manage.py jobs_worker -v 0 & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install browser  ## the whole suite (SQLite unless DATABASE_URL is set)
	$(BIN)/pytest $(PYTEST_ARGS)

install: $(DEV_STAMP)  ## the app and the test tools (what `make test` and CI need)

install-run: $(RUN_STAMP)  ## only what the app needs to run (what `make run` needs)

$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e .
	@rm -f $(VENV)/.installed-run-*
	@touch $@

$(DEV_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@ $(RUN_STAMP)

.secret_key:  # a local signing key, generated once and kept out of git
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	@chmod 600 $@

browser:  ## the browser tests drive the system Chromium; install it when missing
	@scripts/ensure-chromium

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install  ## the checks CI runs besides the tests
	scripts/checks

clean:
	rm -rf $(VENV) staticfiles test-artifacts .hypothesis
