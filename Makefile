# whyk8s — the two commands a newcomer needs:
#   make lab    installs into .venv if needed, brings up the course cluster, opens JupyterLab
#   make test   installs, brings up the test cluster (kwok: real control plane, simulated nodes),
#               runs every test: pytest for the package and nbval over every chapter and lab
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROVIDER ?= auto
TEST_PROVIDER ?= kwok
PYTEST_ARGS ?=
# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
# LAB_ARGS adds your own options (e.g. LAB_ARGS="--no-browser --port 8899") without losing this one.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=

.PHONY: install cluster lab test unit notebooks book browser clean stop down doctor

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[browser]'
	touch $(STAMP)

cluster: install
	$(BIN)/whyk8s cluster up --provider $(PROVIDER)

lab: cluster
	$(BIN)/jupyter lab $(LAB_ROOT) --ServerApp.root_dir=. $(LAB_ARGS) notebooks/00-start-here.ipynb

# Debian's chromium for the browser tests (only as root and only if missing; the tests skip
# with a clear reason where no browser can be installed).
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: browser tests will skip"; \
	else echo "chromium not installed (sudo apt-get install chromium): browser tests will skip"; fi

test: install browser
	$(BIN)/whyk8s cluster up --provider $(TEST_PROVIDER)
	$(BIN)/pytest tests notebooks labs --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS)

unit: install
	$(BIN)/pytest tests -m "not cluster and not browser" $(PYTEST_ARGS)

# The site: links book/notebooks and book/labs to the notebooks, builds book/_build/html (no notebook
# is executed: committed outputs are shown), checks every local link, lists external ones.
book: install
	$(BIN)/python -m whyk8s.site build

doctor: install
	$(BIN)/whyk8s cluster doctor

clean: install
	$(BIN)/whyk8s cluster clean

stop: install
	$(BIN)/whyk8s cluster stop --provider $(PROVIDER)

down: install
	$(BIN)/whyk8s cluster down --provider $(PROVIDER)
