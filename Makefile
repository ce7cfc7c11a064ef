# ca4 — the two commands a new user runs:
#   make up     install what is missing, build, start the whole pipeline on this machine, verify it
#   make test   install what is missing, build, run every test (what CI runs)
# The seeds' contract targets (ca4-*) are thin calls of ca4ctl; those whose stage is not built
# yet say so and fail. ca4ctl reads ./ca4.yaml (the local target by default); another spec:
#   make ca4-deploy-edge CA4_SPEC=docs/ca4.kubernetes.yaml
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps services build up verify down status doctor test unit integration asan fuzz bench clean

deps:
	scripts/install-deps.sh
services:
	scripts/install-services.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja >/dev/null
	ninja -C $(BUILD) -j $(JOBS)

CA4_SPEC ?= ca4.yaml
CA4CTL := $(BUILD)/bin/ca4ctl -f $(CA4_SPEC)
up: build services
	$(CA4CTL) up
	$(CA4CTL) verify e2e
verify:
	$(CA4CTL) verify
status:
	$(CA4CTL) status
down:
	$(CA4CTL) down
doctor:
	$(CA4CTL) doctor

test:
	scripts/test.sh
unit:
	CA4_TEST_STAGES="build unit" scripts/test.sh
integration:
	CA4_TEST_STAGES="build integration" scripts/test.sh
asan:
	CA4_TEST_STAGES="asan" scripts/test.sh
fuzz:
	CA4_TEST_STAGES="fuzz" scripts/test.sh

clean:
	rm -rf build build-asan build-fuzz

# ---- the seeds' make contract: thin calls of ca4ctl ----------------------------------------
.PHONY: ca4-plan ca4-apply ca4-destroy ca4-bootstrap-k3s ca4-platform-setup ca4-deploy-edge \
  ca4-deploy-monitoring ca4-verify-preflight ca4-verify-kafka ca4-verify-db ca4-verify-e2e
ca4-plan:
	$(CA4CTL) plan
ca4-apply:
	$(CA4CTL) up
ca4-destroy:
	$(CA4CTL) down
ca4-bootstrap-k3s:
	CA4CTL=$(BUILD)/bin/ca4ctl scripts/bootstrap_k3s_ca4.sh $(CA4_SPEC)
ca4-platform-setup:
	$(CA4CTL) up --stage platform
ca4-deploy-edge:
	$(CA4CTL) up --stage edge
ca4-deploy-monitoring:
	$(CA4CTL) up --stage monitoring
ca4-verify-preflight:
	$(CA4CTL) verify preflight
ca4-verify-kafka:
	$(CA4CTL) verify kafka
ca4-verify-db:
	$(CA4CTL) verify db
ca4-verify-e2e:
	$(CA4CTL) verify e2e
