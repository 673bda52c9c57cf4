# kafkapy developer entry points. On a fresh Debian/Ubuntu machine:
#   make run    installs what is missing, starts ZooKeeper and one broker (Ctrl-C stops both)
#   make test   installs what is missing and runs the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test deps os-deps venv bench bench-protocol bench-log bench-compare docker clean

os-deps:
	@scripts/install-os-deps.sh

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

deps: os-deps venv

run: deps
	@scripts/run-dev.sh

test: deps
	@scripts/ci-docker.sh
	$(PY) -m pytest -q tests

bench-protocol: venv
	$(PY) bench/bench_protocol.py

bench-log: venv
	$(PY) bench/bench_log.py

bench: deps
	$(PY) bench/bench_broker.py

bench-compare: deps
	$(PY) bench/compare.py

docker:
	docker build --build-arg BASE_IMAGE=$${BASE_IMAGE:-python:3.11-slim} -t kafkapy:latest .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
