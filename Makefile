# Every target first brings the machine up to date (venv, pinned packages, Delta jars) and
# does nothing more when it already is, so a warm `make setup` takes seconds.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
JARS := .cache/jars
SCALE ?= small
DAYS ?=
# make demo: a quick tiny lake by default (DEMO_SCALE=small DEMO_DAYS=45 for the long one)
DEMO_SCALE ?= tiny
DEMO_DAYS ?= 14
LAKE ?= $(CURDIR)/lake
export RISK_JAR_CACHE := $(CURDIR)/$(JARS)

CHROMIUM ?= /usr/bin/chromium

.PHONY: setup demo test test-slow bench lint airflow cluster-up cluster-down clean help browser

help:
	@echo "make demo   - set up what is missing, run the pipeline on a generated 14-day tiny lake, show results"
	@echo "make test   - set up what is missing, run the tests"
	@echo "make bench  - timings (SCALE=small|medium|seed)"
	@echo "make lint   - ruff format --check, ruff check, mypy"
	@echo "make airflow - Airflow standalone with the project's DAGs"

setup: $(VENV)/.installed $(JARS)/.verified

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 not found (need $(PYTHON) on PATH)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# constraints.txt is our lock: every transitive version as tested.
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

$(JARS)/.verified: infra/jvm/pom.xml infra/jvm/jars.sha256
	@command -v java >/dev/null || { echo "Java 17+ not found: install OpenJDK 17"; exit 1; }
	bash infra/fetch_jars.sh $(JARS)
	@touch $@

demo: setup
	$(PY) -m tools.demo --lake $(LAKE) --scale $(DEMO_SCALE) --days $(DEMO_DAYS)

# The report's test drives a real headless Chromium (Debian package `chromium`): installed here
# when missing and this user may run apt-get; otherwise that one test says why it skipped.
browser:
	@test -x $(CHROMIUM) || { \
	  if command -v apt-get >/dev/null; then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	    echo "installing chromium (headless browser for the report test) with apt-get"; \
	    { $$SUDO apt-get update -q >/dev/null && \
	      $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
	      || echo "could not install chromium: the report's browser test will be skipped"; \
	  else echo "no apt-get: install Chromium at $(CHROMIUM) for the report's browser test"; fi; }

test: setup browser
	$(PY) -m pytest -q -m "not slow" --durations=15

# The slow suite keeps Spark's production code generation and AQE (tests/conftest.py).
test-slow: setup
	RISK_SPARK_CONF=spark.sql.shuffle.partitions=2 $(PY) -m pytest -q -m slow

bench: setup
	$(PY) -m tools.bench --scale $(SCALE) $(if $(DAYS),--days $(DAYS),)

# The formatter's check, the linter and the type checker (core, features, models, quality).
lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

airflow: setup
	bash infra/airflow.sh

cluster-up: setup
	bash infra/spark-cluster.sh start

cluster-down:
	bash infra/spark-cluster.sh stop

clean:
	rm -rf $(VENV) .cache lake
