# Two commands: `make run` serves the embedded defaults, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
# Debian packages the test suite drives for real: poppler's pdfsig/pdftoppm, SoftHSM,
# NSS tools (certutil), wrk for the benchmarks.
# postgresql-15: the fault tests run a private cluster of their own (tests/private_postgres.py);
# chromium: the web pages' browser tests (tests/e2e/web, Playwright driving /usr/bin/chromium)
TEST_APT_PACKAGES := poppler-utils softhsm2 libnss3-tools opensc wrk openssl postgresql-15 chromium
TEST_TOOLS := pdfsig pdftoppm softhsm2-util certutil pkcs11-tool wrk openssl /usr/lib/postgresql/15/bin/initdb chromium

.PHONY: run run-deps test lint venv system-deps bench clean translations fuzz soak

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt client/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

venv: $(BIN)/.installed

system-deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(TEST_APT_PACKAGES) >/dev/null; \
	fi

# The web server and the webhooks' worker side by side; Ctrl-C (or either one ending) stops both.
# The pages' previews (exchange/adapters/pdf_previews.py) draw with poppler's pdftoppm at run time.
run-deps:
	@command -v pdftoppm >/dev/null || { echo "installing poppler-utils (page previews)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }

run: $(BIN)/.installed run-deps
	$(FLASK) setup
	@trap 'kill -TERM $$web $$worker 2>/dev/null; wait $$web $$worker' INT TERM EXIT; \
	$(BIN)/python app.py & web=$$!; \
	$(FLASK) worker & worker=$$!; \
	wait -n $$web $$worker

test: $(BIN)/.installed-dev system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The long fuzzing run (CI runs the same test with a few examples per operation):
# every operation of the OpenAPI document, FUZZ_EXAMPLES cases each, for a clerk and an agency system.
FUZZ_EXAMPLES ?= 200
fuzz: $(BIN)/.installed-dev
	LIENTHONG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=0 \
	  tests/integration/exchange/http/test_fuzz.py $(PYTEST_ARGS)

# The 10-minute load and soak on PostgreSQL (bench/soak.py, left out of `make bench`; CI runs a
# short one in tests/e2e/test_soak.py): SOAK_ARGS e.g. "--duration 180 --senders 20"; SOAK_DATABASE_URL a server
# where it may create (and drop) a private schema.
SOAK_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
soak: $(BIN)/.installed-dev
	$(BIN)/python bench/soak.py --database-url $(SOAK_DATABASE_URL) $(SOAK_ARGS)

# The code's shape, checked before the tests in CI: lint, types, the layers' import rules.
lint: $(BIN)/.installed-dev
	$(BIN)/ruff check
	$(BIN)/mypy
	$(BIN)/lint-imports

# For developers: the catalogues follow the code (new msgids in, gone ones out; English filled
# in from the msgids). Then translate what tests/unit/test_translations.py says vi lacks.
translations: $(BIN)/.installed
	$(BIN)/pybabel extract -F translations/babel.cfg --add-location=file --sort-output --project=lienthong \
	  -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/python -m translations

bench: $(BIN)/.installed-dev system-deps
	@for b in $(filter-out bench/soak.py,$(wildcard bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
