# kiln: `make train` and `make test` set up everything they need on a fresh machine.
# CUDA machine: make train TORCH_INDEX=https://download.pytorch.org/whl/cu128 (or keep the
# torch you have: make train TORCH_SPEC=)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
ARGS ?=
# pytest-xdist processes for make test (a test file stays in one); TEST_WORKERS=0: one process
TEST_WORKERS ?= 2
PORT ?= 6006
STAMP := $(VENV)/.kiln-installed

.PHONY: help setup train test test-all check lint format tensorboard bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build here
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/python -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)); fi
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install kiln with its dependencies

train: $(STAMP)  ## train the default experiment (CNN on digits) and test it; ARGS="key=value ..."
	$(BIN)/kiln train $(ARGS)

test: $(STAMP)  ## run the tests (the slow ones are skipped), TEST_WORKERS processes at once
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-all: $(STAMP)  ## run every test, the slow ones too
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "" -n $(TEST_WORKERS) --dist loadfile $(ARGS)

check: $(STAMP)  ## ruff lint + format check, the import layers (lint-imports), mypy on src/
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	PYTHONPATH=src $(BIN)/lint-imports --no-cache
	$(BIN)/mypy

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check src tests scripts

format: $(STAMP)  ## ruff format + import sorting
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/ruff format src tests scripts

tensorboard: $(STAMP)  ## serve the runs folder (or ARGS=runs/sweep/<name>) on 127.0.0.1, PORT=6006
	$(BIN)/kiln tensorboard $(ARGS) port=$(PORT)

bench: $(STAMP)  ## the training-loop benchmark (kiln vs hand-written loops)
	$(BIN)/python scripts/bench_train.py $(ARGS)

clean:  ## remove caches (keeps .venv and runs/)
	rm -rf build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
