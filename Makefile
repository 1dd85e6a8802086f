# The two commands of the README: `make demo` and `make test`. Both install what is missing
# (Debian packages, the virtualenv, the lab image) before doing their job.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
OMCTL   := $(BIN)/omctl
# podman needs runc and no ulimit changes here: a project-local containers.conf, never /etc.
export CONTAINERS_CONF := $(CURDIR)/omctl/data/containers.conf
export ANSIBLE_HOME := $(CURDIR)/.omctl/ansible-home

SYSTEM_PACKAGES := podman runc conmon uidmap slirp4netns openssh-client rsync mmdebstrap git python3-venv chromium chromium-driver poppler-utils systemd postgresql

.PHONY: help system venv node-wheels image demo test lint unit integration molecule bench clean lab-down schemas

help:
	@echo "make demo   start a lab host, onboard it as client 'demo', run in-scope and refused tasks"
	@echo "make test   lint, unit, integration (lab containers over SSH) and Molecule tests"
	@echo "make bench  the benchmarks in bench/ in turn (medians and ratios against targets)"

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BIN)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# The wheels `omctl node prepare` installs on execution nodes (which need no network): the
# controller's ansible-core and ansible-runner, their dependencies and pip.
node-wheels: venv
	$(BIN)/pip download -q -d .omctl/wheels pip \
	  $$($(BIN)/python -c "from omctl import nodes; print(' '.join(nodes.requirements()))")

image: system venv node-wheels
	$(OMCTL) lab image

demo: image
	bash scripts/demo.sh

lint: venv
	$(BIN)/ruff check omctl tests bench roles molecule setup.py
	$(BIN)/ruff format --check omctl tests bench roles molecule setup.py
	$(BIN)/ansible-lint --profile production

unit: venv
	$(BIN)/pytest tests/unit

# The JSON Schema of each evidence kind, from its model in omctl/evidence/ (committed).
schemas: venv
	$(BIN)/python -m omctl.evidence.schemas

integration: image
	$(BIN)/pytest tests/integration -n 2 --dist loadfile --durations=15

molecule: image
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/molecule-all.sh

# Two lanes at once: the lab image then integration; lint and unit (no image needed) then
# Molecule (scripts/test-lanes.sh).
test: system venv node-wheels
	bash scripts/test-lanes.sh

bench: image
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/execution_node.py
	$(BIN)/python bench/patching.py
	$(BIN)/python bench/hardening.py
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/content_sync.py
	$(BIN)/python bench/access_review.py
	$(BIN)/python bench/monitor.py
	$(BIN)/python bench/vulns.py
	$(BIN)/python bench/ledger_pg.py
	$(BIN)/python bench/operators.py

lab-down: venv
	$(OMCTL) lab down

clean: lab-down
	rm -rf .omctl/runs
