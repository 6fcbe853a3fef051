# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test bench install clean-instance

install: $(STAMP)

# One environment for running and testing: the pinned runtime and test dependencies.
$(STAMP): requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

run: $(STAMP)
	$(FLASK) serve

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmark suite (bench/, docs/performance.md); e.g. BENCH_ARGS="--hospitals 200 --months 3 --no-record".
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean-instance:
	rm -rf instance
