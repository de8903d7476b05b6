# Two entry points on a fresh machine: `make build` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per dependency set, so rendering never waits for test tools; each re-runs when
# pyproject.toml changes (the later two through BASE_STAMP, which they depend on).
BASE_STAMP := $(VENV)/.installed-base
LOCAL_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev
# checkov pins old boto3/packaging versions that clash with ours: it gets its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
UV_VERSION := 0.13.9
UV := $(abspath $(VENV))/bin/uv
# --compile-bytecode, as pip does: else the seed apps, run with PYTHONDONTWRITEBYTECODE,
# would compile their imports (the SageMaker SDK) on every run.
UV_PIP := $(UV) pip install --quiet --compile-bytecode
UV_STAMP := $(VENV)/.installed-uv-$(UV_VERSION)

.PHONY: install build check lint test bench package deploy local clean

## Everything any target needs (test tools, moto, checkov).
install: $(DEV_STAMP) $(CHECKOV_STAMP)

# pip installs only uv, which installs everything else (seed-app venvs included): the same
# pins and packages as pip would, in seconds rather than minutes on a clean machine.
$(UV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	touch $@

# Rendering, linting, packaging and deploying: pyproject.toml's base dependencies only.
$(BASE_STAMP): pyproject.toml $(UV_STAMP)
	$(UV_PIP) --python $(PY) -e .
	touch $@

# The local emulator: base plus moto[server].
$(LOCAL_STAMP): $(BASE_STAMP)
	$(UV_PIP) --python $(PY) -e ".[local]"
	touch $@

# The test suite: base plus pytest, moto and the policy analysers.
$(DEV_STAMP): $(BASE_STAMP)
	$(UV_PIP) --python $(PY) -e ".[dev]"
	touch $@

$(CHECKOV_STAMP): $(UV_STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_PIP) --python $(CHECKOV_VENV)/bin/python checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

## Render every stack into dist/.
build: $(BASE_STAMP)
	$(PY) build.py build

## Fail if dist/ is not what the renderer produces.
check: $(BASE_STAMP)
	$(PY) build.py build --check

## cfn-lint every rendered template.
lint: $(BASE_STAMP)
	$(PY) build.py lint

## Full test suite: platform tests (lifecycle included; they run the seed apps from their
## virtualenvs, made first), then each seed-code app's own tests. Test files run in parallel.
test: $(DEV_STAMP) $(CHECKOV_STAMP)
	UV=$(UV) bash seed_code/run_app_tests.sh --install-only
	$(PY) -m pytest -n auto --dist loadfile
	UV=$(UV) bash seed_code/run_app_tests.sh

## Upload seed code and product templates, write SSM parameters (pipeline account credentials).
package: $(BASE_STAMP)
	$(PY) build.py package

## Create/update every stack through change sets.
deploy: $(BASE_STAMP)
	$(PY) build.py deploy --yes

## Package + deploy into a throwaway local moto server; prints what it created.
local: $(LOCAL_STAMP)
	$(PY) build.py local

## Render speed and memory figures.
bench: $(LOCAL_STAMP)
	$(PY) bench/render.py
	$(PY) bench/aws.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache
