# Two commands on a fresh Debian machine (as root): `make run` and `make test`.
# Both install what is missing and are quick when everything is there.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := rpm python3-rpm createrepo-c gnupg xorriso isomd5sum jigdo-file cpio python3-venv isolinux rsync \
                chromium
INSTALLED := $(VENV)/.installed
CONFIG := config/sme.yaml

.PHONY: run test install system lint bench demo clean soak

install: $(INSTALLED)

system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(INSTALLED): requirements.txt pyproject.toml | system
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

demo: install
	$(PY) -m updraft.devkit.demo --config $(CONFIG)

# On a terminal the script runs as its own foreground job (bash -m): Ctrl-C reaches it and
# not make, so a clean stop ends `make run` with exit 0 instead of make's "Interrupt".
# Without a terminal (`make run &`, nohup, a CI job) the shell starts its background
# jobs with SIGINT ignored, which no trap can undo: env gives it back (a make started so
# passes the ignore on), or the stop's SIGINT to airflow standalone was ignored and each
# component waited out its 30 s.
run: demo
	@if [ -t 0 ]; then env --default-signal=INT bash -mc 'bash scripts/standalone.sh; exit $$?'; \
	else env --default-signal=INT bash scripts/standalone.sh; fi

# Everything but the e2e stack on TEST_WORKERS processes (most tests wait on rpmbuild,
# createrepo_c, gpg or Airflow), then the e2e stack alone: its six processes and browser
# want the machine to themselves.
TEST_WORKERS ?= 2
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not e2e"
	$(PY) -m pytest -q -p no:cacheprovider -m e2e tests/e2e

# The crash suites (tests/crash) with many more kills: UPDRAFT_CRASH_TRIALS=N scales every
# suite's kills by N/10 (200: about 20 times `make test`'s), UPDRAFT_CRASH_SEED picks others.
SOAK_TRIALS ?= 200
SOAK_SEED ?= $(shell date +%s)
soak: install
	UPDRAFT_CRASH_TRIALS=$(SOAK_TRIALS) UPDRAFT_CRASH_SEED=$(SOAK_SEED) \
	  UPDRAFT_CRASH_REPORT=$(CURDIR)/.soak-report.txt \
	  $(PY) -m pytest -q -p no:cacheprovider tests/crash
	@cat .soak-report.txt

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/engine.py
	$(PY) bench/upstream_detect.py
	$(PY) bench/build_overhead.py
	$(PY) bench/releasability.py
	$(PY) bench/iso_build.py

clean:
	rm -rf .demo .bench
