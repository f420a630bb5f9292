# Every target sets itself up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# demo: the package alone, as a user installs it; test: with the test extras.
$(BASE): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $(BASE)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,plot,dask]'
	touch $(STAMP) $(BASE)

demo: $(BASE)
	$(BIN)/losscli compute mse sample_data/outliers_pred.csv sample_data/outliers_target.csv

lint: $(STAMP)
	$(BIN)/ruff check losscli tests benchmarks

test: $(STAMP) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info benchmarks/data
