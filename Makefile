# spp-xdp: build, demo, tests and benchmarks. Run as root on Debian 12.
VENV    := .venv
PY      := $(VENV)/bin/python
BUILD   := build
NATIVE_SO := $(wildcard spp/_native*.so)
CASES   ?=
USECASE ?=

.PHONY: all setup build native bpf demo test test-unit test-e2e bench soak lint lint-python lint-c \
	clean dashboards

all: build

# idempotent: apt packages, venv, hugepages, hugetlbfs and bpffs mounts
setup:
	@bash scripts/setup.sh

build: native bpf

native: $(BUILD)/.native-stamp

$(BUILD)/.native-stamp: $(wildcard native/include/*.h native/src/*/*.c native/src/*/*.h) spp/native/build.py
	@$(PY) -m spp.native.build
	@mkdir -p $(BUILD) && touch $@

bpf:
	@$(MAKE) -s -C bpf BUILD_DIR=$(abspath $(BUILD)/bpf)

# USECASE=classify_icmp (default) or ssh_login
demo: setup build
	@USECASE=$(USECASE) bash scripts/demo.sh

test: setup build
	@$(MAKE) --no-print-directory lint
	@$(PY) -m pytest -q -p no:cacheprovider tests

test-unit: build
	@$(PY) -m pytest -q -p no:cacheprovider tests/unit

test-e2e: build
	@$(PY) -m pytest -q -p no:cacheprovider tests/e2e

bench: setup build
	@$(PY) -m bench $(CASES)

# not in CI: 8 phy + 8 vhost ports under load for 10 min (SOAK_SECONDS) while the
# configuration changes every second; frames in = out + counted drops, pool back to baseline
soak: setup build
	@$(PY) tests/soak/run.py

# Every check that reads the source without running it; `make test` runs it first.
lint: lint-python lint-c

# ruff on all Python; mypy --strict on spp/ (settings in pyproject.toml [tool.mypy])
lint-python:
	@$(VENV)/bin/ruff check spp tests $(wildcard bench)
	@$(VENV)/bin/mypy

# C: include and call cycles in native/ (the checks read the sources only)
lint-c:
	@$(PY) scripts/check_cycles.py native/src native/include

clean:
	rm -rf $(BUILD) spp/_native*.so

# Grafana dashboards from spp/metrics/dashboards.py (grafanalib)
dashboards:
	@$(PY) -m spp.cli.main metrics dashboards
