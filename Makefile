# Two commands on a fresh machine: `make run` (whole system with demo traffic) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit down status clean system-deps

install: $(STAMP) $(VENV)/.jars

# Java, Maven, C and C++ compilers with Python's headers (the Cython-compiled matching, PyICU),
# ICU headers (PyICU, used by the name-normalisation libraries) and Chromium (the dashboard's
# browser test) come from the system; installed with apt-get when missing and root.
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	{ command -v cc && command -v c++; } >/dev/null || missing="$$missing gcc g++ libc6-dev"; \
	$(PYTHON) -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
	  2>/dev/null || missing="$$missing python3-dev"; \
	pkg-config --exists icu-uc 2>/dev/null || missing="$$missing libicu-dev pkg-config"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing" >&2; exit 1; fi; \
	fi

# The sources pip compiles (pyproject's ext-modules): an edit reinstalls, which recompiles them.
COMPILED := $(shell $(PYTHON) -c 'import tomllib; print(*(s for m in tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["ext-modules"] for s in m["sources"]))' 2>/dev/null)

$(STAMP): pyproject.toml $(COMPILED) | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# Kafka and Elasticsearch jars, resolved once with Maven into the virtualenv.
$(VENV)/.jars: $(STAMP) deploy/kafka/pom.xml deploy/elasticsearch/pom.xml
	$(BIN)/borderhub stack fetch
	touch $@

run: install
	$(BIN)/borderhub up --demo

test: install
	$(BIN)/python -m pytest -ra

test-unit: install
	$(BIN)/python -m pytest -ra tests/unit

down:
	$(BIN)/borderhub down

status:
	$(BIN)/borderhub status

clean: down
	rm -rf state
