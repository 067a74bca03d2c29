# whyk8s — the two commands a newcomer needs:
#   make lab    installs into .venv if needed, brings up the course cluster, opens JupyterLab
#   make test   installs, lints, brings up the test cluster (kwok: real control plane, simulated nodes),
#               runs every test: pytest for the package and nbval over every chapter and lab (each
#               notebook runs once; conftest.py checks after each that it left the cluster as it found it)
#   make unit   the unit tests alone: seconds, no cluster, no kernel, no site build, no network
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

# What `make unit` leaves out (markers registered in pyproject.toml).
UNIT_MARKERS := not cluster and not browser and not kernel and not book and not go and not kwok and not containers and not kind and not kueue and not hub and not karpenter
# `make unit` runs in a network namespace of its own where the system allows one (only loopback:
# a unit test that reaches for the network fails instead of passing by luck), with KUBECONFIG naming
# no file (a unit test that reaches for a cluster fails instead of using one).
# Loopback stays up inside it: unit tests may serve themselves on 127.0.0.1.
NO_NETWORK = $(shell unshare -rn ip link set lo up 2>/dev/null && echo unshare -rn sh -c \'ip link set lo up \&\& exec \"\$$@\"\' sh)

.PHONY: prebuild hub hub-stop hub-status hub-proxy install cluster lab test test-kind kind-host unit lint book browser clean stop down doctor

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course and its Python dependencies into $(VENV) (about a minute the first time)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,book,browser,lint,hub]'
	touch $(STAMP)

cluster: install
	$(BIN)/whyk8s cluster up --provider $(PROVIDER)

# etc/jupyter holds the course's JupyterLab settings (no "news" prompt); yours still apply after it.
lab: cluster
	JUPYTER_CONFIG_PATH="$(CURDIR)/etc/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab $(LAB_ROOT) --ServerApp.root_dir=. $(LAB_ARGS) notebooks/00-start-here.ipynb

# Debian's chromium for the browser tests (only as root and only if missing; the tests skip
# with a clear reason where no browser can be installed).
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: browser tests will skip"; \
	else echo "chromium not installed (sudo apt-get install chromium): browser tests will skip"; fi

# While the kwok part's tests run (they mostly wait on the cluster), the parts needed later are built
# in the background at the lowest CPU priority: Kueue, Karpenter and, as root, kind's node image. A test
# that needs Kueue or Karpenter before their build is done waits for it (a lock; it is built once). A
# failed background build is reported; whatever needs that part builds it again, or fails with its reason.
PREBUILD_LOG := .prebuild.log
test: lint browser hub-proxy kind-host
	$(BIN)/whyk8s cluster up --provider $(TEST_PROVIDER)
	@echo "Building Kueue, Karpenter and (as root) kind's node image in the background: $(PREBUILD_LOG)"; \
	(nice -n 19 sh -c '$(PREBUILD)') > $(PREBUILD_LOG) 2>&1 & prebuild=$$!; \
	status=0; $(BIN)/pytest tests notebooks labs --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS) || status=$$?; \
	if wait $$prebuild; then echo "background builds: done"; \
	else echo "a background build failed; the end of $(PREBUILD_LOG):"; tail -n 20 $(PREBUILD_LOG); fi; \
	exit $$status
	$(MAKE) test-kind

PREBUILD := set -e; $(BIN)/whyk8s kueue build; $(BIN)/whyk8s karpenter build; \
  if [ "$$(id -u)" = 0 ] && [ "$${WHYK8S_KIND_NODE_IMAGE:-local}" = local ]; then \
    $(BIN)/whyk8s kind docker; $(BIN)/whyk8s kind node-image; fi
prebuild: install
	$(PREBUILD)

# The kind part of `make test`: real containers in Docker. It needs root (to install and start Docker,
# and to build kind's node image on this machine: no registry is needed) or WHYK8S_TEST_KIND=1 with
# Docker already running (then kind's published node image is pulled). Elsewhere it is skipped with
# the reason; under CI=true a skip is a failure. It brings the course cluster up on kind (context
# kind-whyk8s becomes current), runs the tests that need running containers and the kind provider's
# tests, then every notebook that deploys, under nbval; outputs are compared only in cells marked
# nbval-check, since node sizes, node counts and times on kind are the machine's own.
KIND_NOTEBOOKS := notebooks/00-start-here.ipynb notebooks/03-what-an-orchestrator-does.ipynb \
  notebooks/03b-what-running-containers-show.ipynb \
  notebooks/04a-placing-ml-work.ipynb notebooks/04b-sharing-a-cluster.ipynb \
  notebooks/06-summary.ipynb \
  labs/solutions/lab2-first-pod-solution.ipynb labs/solutions/lab3-self-healing-solution.ipynb \
  labs/solutions/lab4-gpu-job-solution.ipynb labs/solutions/lab5-share-the-cluster-solution.ipynb
KIND_IMAGE_ROUTE := $(if $(filter 0,$(shell id -u)),local,)
test-kind: install kind-host
	@if [ "$$(id -u)" != 0 ] && [ "$${WHYK8S_TEST_KIND:-}" != 1 ]; then \
	  echo "kind part skipped: not root (set WHYK8S_TEST_KIND=1 to run it with your own Docker)"; \
	  if [ "$${CI:-}" = true ]; then echo "CI=true: a skipped kind part is a failure"; exit 1; fi; \
	else \
	  set -e; \
	  if [ "$$(id -u)" = 0 ]; then $(BIN)/whyk8s kind docker; fi; \
	  WHYK8S_KIND_NODE_IMAGE=$${WHYK8S_KIND_NODE_IMAGE:-$(KIND_IMAGE_ROUTE)} $(BIN)/whyk8s cluster up --provider kind; \
	  WHYK8S_PROVIDER=kind $(BIN)/pytest tests -m "containers or kind" $(PYTEST_ARGS); \
	  WHYK8S_PROVIDER=kind $(BIN)/pytest $(KIND_NOTEBOOKS) --nbval-lax --nbval-current-env $(PYTEST_ARGS); \
	fi

# What the kind part needs on the host, as root on Debian/Ubuntu (only what is missing): Docker,
# debootstrap, gcc with static libc (the node image's pause), and the inotify limits kind's nodes need
# (raised to kind's minimums where lower, never lowered).
kind-host:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v dockerd >/dev/null || missing="$$missing docker.io"; \
	  command -v debootstrap >/dev/null || missing="$$missing debootstrap"; \
	  command -v gcc >/dev/null || missing="$$missing gcc"; \
	  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing="$$missing libc6-dev"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	  for kv in fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512; do \
	    k=$${kv%=*}; v=$${kv#*=}; [ "$$(sysctl -n $$k 2>/dev/null || echo 0)" -ge "$$v" ] || sysctl -q -w $$kv || true; \
	  done; \
	fi

# The workshop's hub on this machine (workshop/, book/instructors.md): JupyterHub with one server per
# participant `whyk8s workshop up` prepared, each run as a system user of its own (so: as root).
# HUB_ARGS adds options (e.g. HUB_ARGS="--ip 0.0.0.0 --port 8000" to serve the room); the shared
# password is $$WHYK8S_HUB_PASSWORD, else one made once and kept in ~/.whyk8s/hub/<context>/password.
# `make hub-stop` stops it (HUB_ARGS=--purge also removes the participants' users, homes and the hub's state).
HUB_ARGS ?=
hub: install hub-proxy
	$(BIN)/python -m whyk8s.cluster.hub start $(HUB_ARGS)

hub-stop: install
	$(BIN)/python -m whyk8s.cluster.hub stop $(HUB_ARGS)

hub-status: install
	$(BIN)/python -m whyk8s.cluster.hub status $(HUB_ARGS)

# configurable-http-proxy, the hub's proxy, from npm into workshop/node_modules (kept out of git;
# versions pinned by workshop/package-lock.json). Without npm the hub's test skips with the reason.
hub-proxy:
	@if [ -x workshop/node_modules/.bin/configurable-http-proxy ]; then :; \
	elif command -v npm >/dev/null; then npm ci --prefix workshop --no-audit --no-fund --loglevel=error; \
	else echo "npm not installed (Debian: apt-get install npm): the hub cannot start and its test will skip"; fi

unit: install
	KUBECONFIG=/nonexistent/whyk8s-unit-tests $(NO_NETWORK) $(BIN)/pytest tests -m "$(UNIT_MARKERS)" $(PYTEST_ARGS)

# ruff over the package, tests, benchmarks and notebooks (rules in pyproject.toml, [tool.ruff]).
lint: install
	$(BIN)/ruff check .

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
