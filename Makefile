# kafkapy developer entry points. On a fresh Debian/Ubuntu machine:
#   make run    installs what is missing, starts ZooKeeper and one broker (Ctrl-C stops both)
#   make test   installs what is missing and runs the test suite
#
#   make test PYTEST_ARGS="tests/unit -x"    runs a part of the suite (any pytest arguments)
# CI (CI=true) runs `make test` through .ci/run with no terminal. There, a missing Docker engine is an
# error (the container tests must run); elsewhere it is a warning and tests/docker is skipped.
# KAFKAPY_ALLOW_NO_DOCKER=1 allows a CI run without Docker.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Hard stop for the whole pytest run, in case a test hangs outside pytest-timeout's reach
# (pyproject.toml also sets a per-test timeout and a session timeout). CI allows 90 minutes in all.
TEST_HARD_TIMEOUT ?= 70m
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: run test deps os-deps venv bench bench-protocol bench-log bench-compare docker clean

os-deps:
	@scripts/install-os-deps.sh

# A missing or broken virtualenv (e.g. its interpreter is gone) is made anew with the Python that
# scripts/install-os-deps.sh picks ($$PYTHON, else python3 or python3.11, >= 3.11 with venv).
# setup.py and csrc/ build the C helpers: a change there rebuilds them (pip install -e again).
$(STAMP): setup.cfg pyproject.toml setup.py $(wildcard csrc/*.c csrc/*.h) | os-deps
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  py="$$(scripts/install-os-deps.sh --python)" || exit 1; \
	  echo "creating $(VENV) with $$py ($$("$$py" --version 2>&1))"; \
	  rm -rf $(VENV) && "$$py" -m venv $(VENV) || { echo "make: cannot create $(VENV) with $$py" >&2; exit 1; }; \
	fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

deps: os-deps venv

run: deps
	@scripts/run-dev.sh

test: deps
	@mkdir -p .run; set -o pipefail; \
	scripts/ci-docker.sh 2>&1 | tee .run/ci-docker.log || { echo "make test: building the kafkapy:test image failed" >&2; exit 1; }; \
	if grep -q '^docker unavailable' .run/ci-docker.log; then \
	  case "$${CI:-}" in ""|0|false) ;; *) if [ "$${KAFKAPY_ALLOW_NO_DOCKER:-0}" != 1 ]; then \
	    echo "make test: ERROR: CI needs a Docker engine for the container tests (KAFKAPY_ALLOW_NO_DOCKER=1 skips them)" >&2; \
	    exit 1; fi ;; esac; \
	  echo "make test: WARNING: no Docker engine, the container tests (tests/docker) will be skipped" >&2; \
	fi
	@# Kafka 2.8.2's jars (the interoperability oracle) through Maven, fetched here rather than inside a
	@# test's timeout on a fresh machine; cached in ~/.cache/kafkapy.
	@$(PY) -c 'from kafkapy.testing.kafka_dist import kafka_classpath; kafka_classpath()' 2>&1 | tail -n 5; \
	if [ $${PIPESTATUS[0]} -ne 0 ]; then \
	  case "$${CI:-}" in ""|0|false) echo "make test: WARNING: no Kafka jars, the Kafka oracle tests will be skipped" >&2 ;; \
	  *) echo "make test: ERROR: cannot fetch Kafka's jars with Maven (needed by the oracle tests)" >&2; exit 1 ;; esac; \
	fi
	@# The hard stop applies without a terminal only (CI): `timeout` runs pytest in its own process
	@# group, which a terminal's Ctrl-C would not reach.
	@rc=0; if [ -t 0 ]; then stop=(); else stop=(timeout -k 60 $(TEST_HARD_TIMEOUT)); fi; \
	"$${stop[@]}" $(PY) -m pytest -q $(or $(PYTEST_ARGS),tests) || rc=$$?; \
	case $$rc in \
	  0) ;; \
	  5) echo "make test: pytest collected no tests (exit 5)" >&2 ;; \
	  124|137) echo "make test: ERROR: the test run was stopped after $(TEST_HARD_TIMEOUT) (TEST_HARD_TIMEOUT)" >&2 ;; \
	esac; \
	exit $$rc

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
