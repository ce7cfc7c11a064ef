# ca4 — the two commands a new user runs:
#   make up     install what is missing, build, start the whole pipeline on this machine, verify it
#   make test   install what is missing, build, run every test (what CI runs)
# The seeds' contract targets (ca4-*) are thin calls of ca4ctl; those whose stage is not built
# yet say so and fail.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps services build up verify down status test unit integration asan fuzz bench clean

deps:
	scripts/install-deps.sh
services:
	scripts/install-services.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja >/dev/null
	ninja -C $(BUILD) -j $(JOBS)

# Until ca4ctl lands (issue: ca4ctl core and the local target), the local pipeline is run by
# scripts/local-pipeline.sh with the same services and binaries.
up: build services
	scripts/local-pipeline.sh up
	scripts/local-pipeline.sh verify
verify:
	scripts/local-pipeline.sh verify
status:
	scripts/local-pipeline.sh status
down:
	scripts/local-pipeline.sh down

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

# ---- the seeds' make contract -------------------------------------------------------------
CA4_CONTRACT := ca4-plan ca4-apply ca4-destroy ca4-bootstrap-k3s ca4-platform-setup \
  ca4-deploy-edge ca4-deploy-monitoring ca4-verify-preflight ca4-verify-kafka ca4-verify-db \
  ca4-verify-e2e
.PHONY: $(CA4_CONTRACT)
$(CA4_CONTRACT):
	@echo "make $@: not built yet — ca4ctl (which this target calls) lands with the 'ca4ctl core' issue." >&2
	@echo "For now: 'make up' runs the pipeline locally, 'make test' runs the tests." >&2
	@exit 2
