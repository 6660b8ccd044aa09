# Every target bootstraps its venv from the registries, pinned by constraints/airflow-<version>.txt, on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The Airflow lines CI proves: the newest patch of each line the registry serves. The newest runs the whole suite.
AIRFLOW_LINES := 2.11.2 3.0.6 3.1.8 3.2.2 3.3.2
NEWEST := 3.3.2
# Extras installed (and resolved into the constraints) per line: the newest line also gets what only the full
# suite needs (dev: lint, types and the real-deployment test's PostgreSQL drivers; s3: S3 exports); the older
# lines get the test extra.
NEWEST_EXTRAS := test,dev,s3
OLDER_EXTRAS := test
extras = $(if $(filter $(NEWEST),$(1)),$(NEWEST_EXTRAS),$(OLDER_EXTRAS))
constraints = constraints/airflow-$(1).txt

# What every older line runs (docs/development.md lists it). Tests in these paths that need what only the newest
# line installs (or that need not repeat per line) carry @pytest.mark.full_suite_only.
MATRIX_TESTS := tests/hook tests/operators tests/dags tests/sync/test_example_dag.py tests/compat tests/test_packaging.py
MATRIX_MARKERS := not full_suite_only
# One venv per line holding only that Airflow, as a deployment has it; then the built wheel goes in.
MATRIX := .venv-matrix
WHEEL_SOURCES := pyproject.toml README.md LICENSE NOTICE MANIFEST.in CHANGELOG.md airflow_provider_logto/py.typed $(shell find airflow_provider_logto -name '*.py' -not -path '*/__pycache__/*')

.PHONY: demo test test-matrix airflow-lines lint bench emulator constraints dist docs-screenshots $(addprefix leg-,$(AIRFLOW_LINES)) \
	$(addprefix constraints-,$(AIRFLOW_LINES))

$(STAMP): pyproject.toml $(call constraints,$(NEWEST))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(call constraints,$(NEWEST)) -e '.[$(NEWEST_EXTRAS)]'
	touch $(STAMP)

# `make demo AIRFLOW=2.11.2` runs the example DAGs on another supported line (its venv from `make test-matrix`).
AIRFLOW ?= $(NEWEST)
ifeq ($(AIRFLOW),$(NEWEST))
demo: $(STAMP)
	$(BIN)/python -m airflow_provider_logto.testing.demo
else
demo: $(MATRIX)/$(AIRFLOW)/.installed
	$(MATRIX)/$(AIRFLOW)/bin/python -m airflow_provider_logto.testing.demo --home .airflow-demo-$(AIRFLOW)
endif

# The whole suite on the newest Airflow, from the source tree (editable install).
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy airflow_provider_logto

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_emulator.py
	$(BIN)/python tests/benchmarks/bench_export.py
	$(BIN)/python tests/benchmarks/bench_tokens.py
	$(BIN)/python tests/benchmarks/bench_token_cache.py
	$(BIN)/python tests/benchmarks/bench_sync.py
	$(BIN)/python tests/benchmarks/bench_audit_export.py

emulator: $(STAMP)
	$(BIN)/python -m airflow_provider_logto.testing

# The connection-form pictures in docs/connections/, taken in the Airflow 3 UI with headless chromium (not run by
# CI; needs `apt-get install chromium pngquant`, node and npm).
docs-screenshots: $(STAMP)
	$(BIN)/python tests/screenshots/connection_form.py

# --- every supported Airflow line, from the built wheel -------------------------------------------------------
# Wheel and sdist, built in isolation and checked (metadata, README rendering) by twine.
dist: dist/.built
dist/.built: $(STAMP) $(WHEEL_SOURCES)
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/python -m twine check --strict dist/*
	touch $@

# A venv holding Airflow <line> alone (its "deployment"), recorded; then the wheel with the line's constraints,
# recorded again (tests/test_packaging.py compares the two); then the test dependencies.
$(MATRIX)/%/.installed: $(call constraints,%) dist/.built
	rm -rf $(MATRIX)/$*
	$(PYTHON) -m venv $(MATRIX)/$*
	$(MATRIX)/$*/bin/python -m pip install --quiet --upgrade pip
	$(MATRIX)/$*/bin/python -m pip install --quiet -c $(call constraints,$*) 'apache-airflow==$*'
	$(MATRIX)/$*/bin/python tests/compat/deployment_record.py $(MATRIX)/$*/before.json
	$(MATRIX)/$*/bin/python -m pip install --quiet -c $(call constraints,$*) dist/*.whl
	$(MATRIX)/$*/bin/python tests/compat/deployment_record.py $(MATRIX)/$*/after.json
	$(MATRIX)/$*/bin/python -m pip install --quiet -c $(call constraints,$*) "$$(ls dist/*.whl)[$(call extras,$*)]"
	touch $@

# leg-<line>: the newest line runs the installation checks (its whole suite runs in `make test`); older lines
# run the matrix subset. pytest exits 5 when it collects nothing, which fails the leg. PYTHONSAFEPATH (for the
# subprocesses the tests start too) and `--import-mode=append` keep the checkout off the front of sys.path, so the
# tests import the installed wheel (and read its metadata), not the source tree or the egg-info `make dist` leaves.
$(addprefix leg-,$(AIRFLOW_LINES)): leg-%: $(MATRIX)/%/.installed
	PYTHONSAFEPATH=1 LOGTO_DEPLOYMENT_RECORDS=$(MATRIX)/$* $(MATRIX)/$*/bin/python -m pytest -p no:cacheprovider \
	  --import-mode=append \
	  $(if $(filter $(NEWEST),$*),tests/test_packaging.py,$(MATRIX_TESTS)) -m '$(MATRIX_MARKERS)'

test-matrix: $(addprefix leg-,$(AIRFLOW_LINES))

airflow-lines:
	@echo $(AIRFLOW_LINES)

# Re-resolve every line's pinned set from scratch (run after changing dependencies, then commit constraints/).
# RESOLVE_PINS_<line>: upper bounds the line's own metadata lacks, where the newest releases break that line;
# the oldest line also holds common-compat at the floor pyproject.toml declares, so CI proves that floor.
RESOLVE_PINS_2.11.2 := 'apache-airflow-providers-common-compat==1.22.0'
RESOLVE_PINS_3.0.6 := 'cadwyn<6' 'fastapi[standard]<0.118' 'starlette<0.49' 'universal-pathlib<0.3'
RESOLVE_PINS_3.2.2 := 'cadwyn<8' 'fastapi[standard-no-fastapi-cloud-cli]<0.137' 'svcs<26.2'
# 3.3.2: the s3 extra's boto stack, as one consistent set (pip otherwise backtracks through hundreds of botocore
# releases for many minutes); s3fs must equal Airflow's fsspec.
RESOLVE_PINS_3.3.2 := 'aiobotocore==3.10.0' 'boto3==1.43.117' 'botocore==1.43.117' 's3fs==2026.9.0'
constraints: $(addprefix constraints-,$(AIRFLOW_LINES))
$(addprefix constraints-,$(AIRFLOW_LINES)): constraints-%:
	rm -rf .venv-constraints-$* && $(PYTHON) -m venv .venv-constraints-$*
	.venv-constraints-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints-$*/bin/python -m pip install --quiet 'apache-airflow==$*' '.[$(call extras,$*)]' $(RESOLVE_PINS_$*)
	{ echo "# Airflow $* on Python 3.11 with airflow-provider-logto[$(call extras,$*)]: the resolved set CI installs."; \
	  echo "# Regenerate every line with: make constraints (in fresh venvs)."; \
	  .venv-constraints-$*/bin/python -m pip freeze --exclude airflow-provider-logto | sort -f; \
	} > $(call constraints,$*)
	rm -rf .venv-constraints-$*
