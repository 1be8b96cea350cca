# Lovia Billing — the two commands of the contract: `make run` and `make test`.
# Works on a machine that has only Python 3.11+ and pip: uv is installed into .tools/ on first use.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
# CDK's jsii runtime warns that Node 20 is end-of-life; it still works (ref/tooling.md).
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
RUN := $(UV) run --frozen --no-sync

.PHONY: run test test-model lint typecheck sync browser bench-standin bench-ingest bench-consumer bench-e2e bench-reconcile deploy-check compose clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --all-extras
	@touch $@

sync: .venv/.synced

## make run: the local stack in the foreground (AWS stand-in, sandboxes, ingest, four consumers).
run: sync
	$(RUN) billing dev

## make test: lint, types, the browser the console's test drives, then the whole suite.
test: sync lint typecheck browser
	$(RUN) pytest

## make test-model: the model-based test of exactly-once with its long profile (random seeds, 25 runs of 60 steps).
test-model: sync
	MODEL_PROFILE=long $(RUN) pytest tests/model

## make browser: Debian's chromium and its chromedriver, for the console's browser test (once).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver (the console's browser test)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) mypy shared/src services/*/src cli/src sandboxes/src testing/src infra/src infra/tests

bench-standin: sync
	$(RUN) python bench/standin.py

bench-ingest: sync
	$(RUN) python bench/ingest.py

bench-consumer: sync
	$(RUN) python bench/consumer.py

bench-e2e: sync
	$(RUN) python bench/e2e.py

## make bench-reconcile: 1,000 paid invoices reconciled under Xendit's test-mode rate limit (60/min).
bench-reconcile: sync
	$(RUN) python bench/reconcile.py --invoices 1000 --rate-limit 60 --repair

## make deploy-check: the offline deployment checks alone: hadolint, compose, the pipeline (GitLab's
## schema and its release rules read as data), CDK assertions + cdk-nag + cfn-lint, no missing context
## (synthesis without credentials), alarms and traces, the OpenAPI document, settings from Secrets Manager.
deploy-check: sync
	$(RUN) pytest infra/tests services/ingest/tests/test_openapi.py shared/tests/test_settings.py
	$(RUN) python -m billing_infra.compose --check

## make compose: regenerate docker-compose.yml from cli/src/billing_cli/local_stack.py.
compose: sync
	$(RUN) python -m billing_infra.compose

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache
