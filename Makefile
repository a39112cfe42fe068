# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "livecircle needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/livecircle migrate
	$(BIN)/livecircle demo
	$(BIN)/livecircle serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two passes: most tests on $(WORKERS) workers, then the timing-sensitive ones (marked
# `serial` in tests/conftest.py) alone. Both always run; either failing fails the target.
# `make test PYTEST_ARGS=tests/test_x.py` runs the chosen tests in one plain pass instead.
WORKERS ?= 2
test: lint
ifeq ($(strip $(PYTEST_ARGS)),)
	@status=0; \
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup -m "not serial" --durations=25 || status=1; \
	$(BIN)/pytest -m serial --durations=15 || status=1; \
	exit $$status
else
	$(BIN)/pytest $(PYTEST_ARGS)
endif

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
