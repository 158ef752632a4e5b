# PACER pipeline: the two commands of the README are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACER_ARGS ?=
# pytest-xdist workers for make test: one per core (tests that share a Prefect harness start one per worker).
TEST_WORKERS ?= auto
# Tests sharing an expensive session fixture run on one worker (tests/conftest.py: SHARED_SESSION_FIXTURES).
TEST_DIST ?= loadgroup

.PHONY: run test lint install bytecode lock check-system clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# WeasyPrint (the PDF report) needs Pango and HarfBuzz from the system; say how to get them if they are missing.
check-system:
	@missing=""; \
	libs=$$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) ); \
	echo "$$libs" | grep -q 'libpango-1.0.so' || missing="$$missing libpango-1.0-0"; \
	echo "$$libs" | grep -q 'libpangoft2-1.0.so' || missing="$$missing libpangoft2-1.0-0"; \
	echo "$$libs" | grep -q 'libharfbuzz.so' || missing="$$missing libharfbuzz0b"; \
	if [ -n "$$missing" ]; then \
	  echo "error: the PDF report needs system libraries that are missing:$$missing" >&2; \
	  echo "install them with: sudo apt-get install -y$$missing fonts-dejavu-core" >&2; exit 1; fi

# The pipeline's own bytecode, written and kept current here: Python writes it itself on first import,
# except where PYTHONDONTWRITEBYTECODE is set (some CI machines), and then every `pacer` process would
# compile the pipeline's modules again (≈ 0.2 s a run). It reads the files whether that is set or not.
bytecode: install
	@$(BIN)/python -m compileall -q analysis pipelines

run: check-system install bytecode
	$(BIN)/pacer run $(PACER_ARGS)

test: check-system install bytecode lint
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist $(TEST_DIST) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# ruff keeps the style: lint and format (pyproject.toml [tool.ruff]).
lint: install
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .

# Regenerate the hashed lock after changing pyproject.toml dependencies.
lock:
	$(PYTHON) -m venv .lock-tool && .lock-tool/bin/pip install --quiet uv==0.13.9
	.lock-tool/bin/uv pip compile pyproject.toml --group dev --python-version 3.11 \
		--generate-hashes --no-header --universal -o requirements.lock
	rm -rf .lock-tool

clean:
	rm -rf $(VENV) data/processed/*
