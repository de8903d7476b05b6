# Two entry points on a fresh machine: `make build` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov pins old boto3/packaging versions that clash with ours: it gets its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: install build check lint test bench package deploy local clean

install: $(STAMP) $(CHECKOV_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

## Render every stack into dist/.
build: install
	$(PY) build.py build

## Fail if dist/ is not what the renderer produces.
check: install
	$(PY) build.py build --check

## cfn-lint every rendered template.
lint: install
	$(PY) build.py lint

## Full test suite: platform tests (lifecycle included; they run the seed apps from their
## virtualenvs, made first), then each seed-code app's own tests. Test files run in parallel.
test: install
	bash seed_code/run_app_tests.sh --install-only
	$(PY) -m pytest -n auto --dist loadfile
	bash seed_code/run_app_tests.sh

## Upload seed code and product templates, write SSM parameters (pipeline account credentials).
package: install
	$(PY) build.py package

## Create/update every stack through change sets.
deploy: install
	$(PY) build.py deploy --yes

## Package + deploy into a throwaway local moto server; prints what it created.
local: install
	$(PY) build.py local

## Render speed and memory figures.
bench: install
	$(PY) bench/render.py
	$(PY) bench/aws.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache
