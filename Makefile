# Every target bootstraps .venv from the registries (pinned by constraints.txt) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench emulator constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m airflow_provider_logto.testing.demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy airflow_provider_logto

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_emulator.py
	$(BIN)/python tests/benchmarks/bench_export.py
	$(BIN)/python tests/benchmarks/bench_tokens.py

emulator: $(STAMP)
	$(BIN)/python -m airflow_provider_logto.testing

# Re-resolve the pinned set from scratch (run after changing dependencies, then commit constraints.txt).
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet 'apache-airflow==3.3.2' -e '.[test]'
	{ echo "# Resolved set for Python 3.11 with apache-airflow==3.3.2 and the test extra; CI installs with it."; \
	  echo "# Regenerate: make constraints (in a fresh venv)."; \
	  .venv-constraints/bin/pip freeze --exclude-editable | sort -f; } > constraints.txt
	rm -rf .venv-constraints
