# Two commands for a fresh machine: `make demo` and `make test`. Both install what is
# missing first and are safe to repeat.
SHELL := /bin/bash
PY_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JAR := target/pyflink-dependencies.jar
STAMP := $(VENV)/.installed
# The service's Python (3.12) for the cluster test: from pyenv (3.12.1 here) or python3.12 on PATH.
PY312_BOOT ?= $(shell p=$$(pyenv prefix 3.12.1 2>/dev/null) && echo $$p/bin/python || command -v python3.12)
VENV312 := .venv312
STAMP312 := $(VENV312)/.installed
DEMO_EVENTS ?= 2000

.PHONY: help install py312 jar zip kafka kafka-stop cluster cluster-stop demo test test-fast test-e2e lint format java-test dry-run validate load-test maintain clean status

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## system packages (Java 17, Maven) if missing, the pinned Python packages, the project's commands (pip install -e .)

$(STAMP): package/requirements.txt package/requirements-dev.txt pyproject.toml
	@command -v java >/dev/null && command -v mvn >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven; }
	$(PY_BOOT) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r package/requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

py312: $(STAMP312)  ## the service's Python: CPython 3.12 with PyFlink only (package/requirements-service.txt)

$(STAMP312): package/requirements-service.txt
	@test -x "$(PY312_BOOT)" || { echo "no Python 3.12 (PY312_BOOT=$(PY312_BOOT)): install it, e.g. pyenv install 3.12.1" >&2; exit 1; }
	$(PY312_BOOT) -m venv $(VENV312)
	$(VENV312)/bin/pip install -q --upgrade pip
	$(VENV312)/bin/pip install -q -r package/requirements-service.txt
	touch $@

jar: $(JAR)  ## the dependency jar, the Hadoop client jars and the deployable zip (mvn package)

$(JAR): pom.xml assembly/assembly.xml $(shell find src -type f)
	mvn -B -q package -DskipTests
	touch $@

zip: jar  ## refresh the deployable zip from the current Python code and config (~7 s)
	mvn -B -q antrun:run@python-packages assembly:single@managed-flink-zip

kafka: install  ## start the local broker and create the topics of config/topics.yaml
	dev/kafka_local.sh start
	dev/kafka_local.sh create-topics

kafka-stop:  ## stop the local broker
	dev/kafka_local.sh stop

cluster: install  ## start a standalone Flink cluster (JobManager + 2 TaskManagers) from PyFlink's distribution
	dev/flink_cluster.sh start

cluster-stop:  ## stop the standalone Flink cluster
	dev/flink_cluster.sh stop

# The console shows the job's own lines and the results; Flink's full log is in the file the
# job names ("Flink's log: ..."); docs/reference/semantics.md, "A quiet console". Topic creation's "Created topic"
# lines repeat the script's own.
demo: install jar  ## fresh broker + warehouse, sample events, the job (bounded), then the tables
	@dev/kafka_local.sh reset
	@dev/kafka_local.sh create-topics >/dev/null
	@rm -rf .local/warehouse
	$(PY) sample_gen.py --count $(DEMO_EVENTS)
	$(PY) streaming_job.py --bounded --summary
	$(PY) scripts/show_tables.py

STATUS_ARGS ?=
status: install  ## is it healthy? rows, files, freshness, dead letters, lag; exit 3 if a table is stale (STATUS_ARGS="--json")
	$(PY) scripts/status.py $(STATUS_ARGS)

dry-run: install jar  ## print the DDL and the optimized plan (no Kafka, no warehouse)
	$(PY) streaming_job.py --dry-run

validate: install jar  ## check config + SQL + plan of every pipeline, one line out (for CI)
	$(PY) streaming_job.py --validate

load-test: install jar  ## 5 minutes of steady traffic: consumer lag and checkpoint durations
	$(PY) benchmarks/load_test.py --rate 10000 --duration 300

maintain: install jar  ## compact small files and expire snapshots of the local warehouse's tables (safe beside the job; ARGS="--dry-run")
	$(PY) scripts/maintain_tables.py $(ARGS)

java-test: install  ## the JUnit tests of src/test/java and of the local MSK IAM broker module, through Maven Surefire
	set -o pipefail; mvn -B test | grep -E '^\[(ERROR|WARNING)\]|Tests run:|FAIL' | grep -v 'Tests run:.*in com\.'
	set -o pipefail; mvn -B -f dev/msk-iam/pom.xml test | grep -E '^\[(ERROR|WARNING)\]|Tests run:|FAIL' | grep -v 'Tests run:.*in com\.'

lint: install  ## ruff (style, import order, no heavy import at module level, formatting) and mypy (all of the code): pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install  ## ruff format: the one formatting of the Python code
	$(VENV)/bin/ruff format .

test-fast: install  ## the tests that need no broker and no JVM (pytest -m "not kafka and not jvm"), in seconds
	$(PY) -m pytest -q -m "not kafka and not jvm" tests

test-e2e: install py312 jar zip  ## the end-to-end tests only (tests/e2e: the job on the local broker and real tables)
	$(PY) -m pytest -q tests/e2e

test: install lint py312 jar zip java-test  ## every test: lint, JUnit (Surefire), then pytest (starts the local broker if needed)
	$(PY) -m pytest -q tests

clean:  ## remove build output and local state (broker data, warehouse)
	-dev/kafka_local.sh stop
	-dev/flink_cluster.sh stop
	rm -rf target .local
