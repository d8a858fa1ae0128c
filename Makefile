# bookbuild: `make book` builds the sample book, `make test` runs the whole suite.
# Both start by installing what is missing, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
ACE := $(TOOLS)/ace/node_modules/.bin/ace-puppeteer
ACE_VERSION := 1.4.6

.PHONY: book test corpus setup system venv ace lint bench clean help

help:
	@echo "make book   install what is missing, then build book/ into build/"
	@echo "make test   install what is missing, then run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make corpus build the real books of ../shared/corpus and check them (EPUBCheck, Ace, preflight)"
	@echo "make bench  benchmarks (see bench/README.md)"
	@echo "make clean  remove build/ (keeps .venv and .tools)"

book: setup
	$(BIN)/bookbuild build book --out build

test: setup ace
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

setup: system venv

# System packages: installed with apt-get when we are root on Debian, otherwise named.
system:
	@sh .ci/system-packages

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[check,dev,cluster]'
	touch $@

# DAISY Ace, the accessibility checker, with Debian's Chromium (it cannot download its own).
ace: $(ACE)

$(ACE):
	mkdir -p $(TOOLS)/ace
	cd $(TOOLS)/ace && { test -f package.json || npm init -y >/dev/null; } && \
	  PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1 \
	  npm install --no-audit --no-fund --loglevel=error @daisy/ace@$(ACE_VERSION)

# The real books beside the checkout (or CORPUS=DIR): built, checked, one table (build/corpus.json).
corpus: setup ace
	$(BIN)/python tests/corpus.py $(CORPUS)

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[check,dev,cluster,bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf build
