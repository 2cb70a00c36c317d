# Eucalyptus in Python: run a cloud-in-a-box, run the tests.
#   make run              install what is missing, start the cloud in ./data (Ctrl-C stops it)
#   make test             the whole test suite (pytest -n $(JOBS))
#   make venv             only the virtualenv (.venv, pip install -e .[test] -c constraints.txt)
#   make conf-example     regenerate eucalyptus.conf.example from eucalyptus/config.py
# Variables: DATA=dir PORT_BASE=N (make run), JOBS=N PYTEST_ARGS=... (make test), PYTHON=python3

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
DATA ?= data
PORT_BASE ?=
JOBS ?= 2
PYTEST_ARGS ?=
APT_RUN := python3 python3-venv iproute2 nftables dnsmasq-base qemu-system-x86 qemu-utils \
	busybox-static dropbear-bin xz-utils lz4
APT_TEST := postgresql busybox-static openssh-client syslinux syslinux-common mtools
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Install the Debian packages among $(1) that are not installed yet (quick when none is missing).
define apt_ensure
	@if command -v dpkg-query >/dev/null; then \
	  missing=""; \
	  for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	      || missing="$$missing $$p"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    echo "apt: installing$$missing"; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing; \
	  fi; \
	else echo "apt: no dpkg here; make sure these are installed: $(1)"; fi
endef

.PHONY: run test venv apt-run apt-test conf-example clean-data

run: venv
	$(VENV)/bin/eucalyptus up --data-dir $(DATA) $(if $(PORT_BASE),--port-base $(PORT_BASE))

test: venv apt-test
	$(VENV)/bin/pytest -n $(JOBS) --dist loadfile -q $(PYTEST_ARGS)

.PHONY: bench
bench: venv
	$(VENV)/bin/python -m bench.front_door $(BENCH_ARGS)

.PHONY: bench-s3
bench-s3: venv
	$(VENV)/bin/python -m bench.s3 $(BENCH_ARGS)

.PHONY: bench-launch
bench-launch: venv
	$(VENV)/bin/python -m bench.launch $(BENCH_ARGS)

.PHONY: bench-ebs
bench-ebs: venv
	$(VENV)/bin/python -m bench.ebs $(BENCH_ARGS)

.PHONY: bench-images
bench-images: venv
	$(VENV)/bin/python -m bench.images $(BENCH_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt | apt-run
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

apt-run:
	$(call apt_ensure,$(APT_RUN))

apt-test:
	$(call apt_ensure,$(APT_TEST))

conf-example: venv
	$(VENV)/bin/python -m eucalyptus.config > eucalyptus.conf.example

clean-data:
	rm -rf $(DATA)
