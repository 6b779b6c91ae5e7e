# `make run`: venv + install + DVC/MLflow setup + the sample world (when data/ has none) + the full retrain flow.
# `make test`: venv + install + the test suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION := false
# a quiet install: no pip self-check, no root-user notice (CI runs as root)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_ROOT_USER_ACTION := ignore
export PREFECT_HOME := $(CURDIR)/.prefect
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test venv bench lint clean-artifacts

# pip's and the build backend's chatter goes to .venv/install.log, shown only when the install fails
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/pip install -q -U pip setuptools wheel > $(VENV)/install.log 2>&1 && \
	  $(BIN)/pip install -q -e ".[pipeline,services,dev]" >> $(VENV)/install.log 2>&1 || \
	  { tail -n 40 $(VENV)/install.log; echo "make: the install failed (whole log: $(VENV)/install.log)" >&2; exit 1; }
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/landmark setup
	test -f data/manifest.csv || $(BIN)/python -m samples
	$(BIN)/landmark retrain

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check landmark flows samples research tests bench
	$(BIN)/mypy landmark flows samples research

clean-artifacts:
	rm -rf artifacts
