# Two commands on a fresh machine with Python 3.11+ and make:
#   make refresh   run the batch job on data/sample/ and write reports/
#   make test      run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: refresh test bench lint notebooks clean help docs

help:
	@echo "make refresh  - refresh every table, figure and reports/index.html from data/sample/"
	@echo "make test     - run the test suite (installs into .venv on first use)"
	@echo "make bench    - run the speed benchmarks in benchmarks/"
	@echo "make lint     - ruff"
	@echo "make docs     - build the documentation website into site/ (mkdocs, strict)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $(STAMP)

refresh: $(STAMP)
	$(BIN)/caseload refresh --config data/sample/caseload.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks,bench]'
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache reports/index.html
