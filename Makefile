# reslab: every target runs inside .venv (created by `make venv`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAMBDAS := $(sort $(dir $(wildcard lambdas/*/Makefile)))
# Three workers on two cores: the suite waits on servers, Lambdas and stacks as much as it
# computes (the local cloud and databases are per worker; tests isolate by name). Whole modules
# per worker, longest first (tests/conftest.py LONG_MODULES): a module's lab is set up once.
PYTEST_ARGS ?= -n 3 --dist loadfile --no-loadscope-reorder

.PHONY: venv demo test lint bench package lambdas clean docs-screenshots chromium

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Deploy the whole lab on the embedded local cloud (no AWS account, no DB server needed).
demo: venv
	$(BIN)/reslab deploy --local

## Lint, validate templates and ASL, then run the test suite against real services.
test: venv chromium lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check reslab webapp lambdas tests bench
	$(BIN)/ruff format --check reslab webapp lambdas tests bench

## Run every benchmark, print a table and write build/bench/results.json.
bench: venv
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } || \
	  echo "wrk not installed: the web-app benchmark falls back to its Python load generator"
	$(BIN)/python -m bench

## The distribution's Chromium (headless), for tests/browser and docs-screenshots; idempotent.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## Regenerate docs/images/*.png with a real browser on a freshly deployed local lab (~90 s):
## the lab's page, its backup-check report and the chart of an RDS failover. Commit the result.
docs-screenshots: venv chromium
	$(BIN)/python -m reslab.docshots --out docs/images

## Build every Lambda zip, the web-app bundle and the bootstrap into build/dist.
package: venv
	$(BIN)/reslab package --out build/dist

lambdas: venv
	@for d in $(LAMBDAS); do $(MAKE) -C $$d PYTHON=$(abspath $(BIN)/python) || exit 1; done

clean:
	rm -rf build lambdas/*.zip
