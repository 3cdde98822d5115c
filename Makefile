# Everything a developer or CI needs, from a machine with only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
UV_VERSION := 0.13.9
CHROMIUM := /usr/bin/chromium

.PHONY: install lock run test test-fast lint check-rules package deploy bench clean browser

$(STAMP): requirements-dev.lock requirements.lock requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PY) --require-hashes -r requirements-dev.lock
	@# A pin added without `make lock` still installs (tests/unit/test_locks.py fails until the lock is refreshed).
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the exact, hashed versions of requirements-dev.lock

LOCK := $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 --no-header --annotation-style line
lock: $(STAMP)  ## after editing requirements*.txt: re-resolve the hashed lock files (needs the package index)
	$(LOCK) --python-platform x86_64-manylinux_2_28 requirements.txt -o requirements.lock
	$(LOCK) requirements-dev.txt -o requirements-dev.lock

run: $(STAMP)  ## local AWS stand-in, tables, HTTP API on :$(PORT) and the scheduler
	PORT=$(PORT) $(PY) -m infra.local_stack

browser:  ## Debian's Chromium for the browser test: installed when missing, if we are root (CI is)
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver fonts-noto-cjk; \
	  else \
	    echo "note: $(CHROMIUM) is missing and we are not root: the browser test will be skipped"; \
	  fi; \
	fi

test: $(STAMP) browser  ## the whole suite (lint, rule check, unit, functional, packaging, browser)
	$(VENV)/bin/ruff check .
	$(PY) -m chalicelib.cli check rules
	$(PY) -m pytest -n 2 --dist loadgroup -q

check-rules: $(STAMP)  ## validate every rule, calendar and template in rules/
	$(PY) -m chalicelib.cli check rules

test-fast: $(STAMP)  ## unit tests only
	$(PY) -m pytest tests/unit -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

STAGE ?= dev
RUNTIME ?= python3.11
STACK ?= helpdesk-$(STAGE)
ARTIFACT_BUCKET ?=
PARAMS ?=

package: $(STAMP)  ## build the deployable package of $(STAGE) for Lambda's $(RUNTIME) into build/$(STAGE)/ (no AWS needed)
	$(PY) -m infra.build_package --stage $(STAGE) --runtime $(RUNTIME)

deploy: package  ## deploy build/$(STAGE)/ as the stack helpdesk-$(STAGE) (AWS CLI v2 and your credentials)
	@test -n "$(ARTIFACT_BUCKET)" || { echo "set ARTIFACT_BUCKET=<an S3 bucket of yours for the code zip>"; exit 2; }
	aws cloudformation package --template-file build/$(STAGE)/sam.json --s3-bucket $(ARTIFACT_BUCKET) \
	  --s3-prefix $(STACK) --output-template-file build/$(STAGE)/packaged.yaml
	aws cloudformation deploy --template-file build/$(STAGE)/packaged.yaml --stack-name $(STACK) \
	  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset --parameter-overrides Stage=$(STAGE) PythonRuntime=$(RUNTIME) $(PARAMS)
	aws cloudformation describe-stacks --stack-name $(STACK) --query 'Stacks[0].Outputs' --output table

bench: $(STAMP)  ## benchmarks under bench/, each printing side-by-side ratios; every one runs, fails at the end
	@failed=""; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

clean:
	rm -rf build vendor .pytest_cache
