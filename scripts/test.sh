#!/usr/bin/env bash
# The project's one test command (README, `make test`, .ci/run):
# installs what is missing, builds, runs unit + integration tests, the unit tests again under
# ASan+UBSan, and a short libFuzzer run of the envelope parser.
#   scripts/test.sh            everything
#   CA4_TEST_STAGES="unit"     only some stages: deps build unit integration asan fuzz
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
stages=${CA4_TEST_STAGES:-"deps build unit integration asan fuzz"}
jobs=${CA4_JOBS:-$(nproc)}
has() { [[ " $stages " == *" $1 "* ]]; }
step() { printf '\n==> %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

if has deps; then
  step "installing system packages"; scripts/install-deps.sh
  step "installing services (Kafka, FerretDB, S3)"; scripts/install-services.sh
  step "installing the Kubernetes control plane for the tests (tests/testbed; cold: a Go build)"
  tests/testbed/install-control-plane.sh
fi
if has build || has unit || has integration; then
  step "building (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build -j "$jobs"
fi
if has unit; then
  step "unit tests"
  ctest --test-dir build -L unit --output-on-failure -j "$jobs"
fi
if has integration; then
  step "integration tests (real Kafka, FerretDB, S3, Kubernetes control plane)"
  ctest --test-dir build -L integration --output-on-failure
fi
if has asan; then
  step "unit tests under ASan+UBSan (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCA4_SANITIZE=ON -DCA4_BUILD_BENCH=OFF \
    -DCA4_INTEGRATION_TESTS=OFF >/dev/null
  ninja -C build-asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs"
fi
if has fuzz; then
  step "fuzzing the input parsers: envelope and ca4.yaml (30 s each)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCA4_FUZZ=ON -DCA4_BUILD_TESTS=OFF \
    -DCA4_BUILD_BENCH=OFF >/dev/null
  ninja -C build-fuzz envelope_fuzz spec_fuzz
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  for f in envelope:runtime/common/fuzz/corpus:65536 spec:operator/spec/fuzz/corpus:16384; do
    IFS=: read -r name seeds maxlen <<<"$f"
    mkdir -p "$work/$name"; cp "$seeds"/* "$work/$name"/ 2>/dev/null || true  # never grow the repo's corpus
    build-fuzz/bin/${name}_fuzz -max_total_time=30 -max_len="$maxlen" "$work/$name" 2>&1 | tail -n 3
  done
fi
step "all requested stages passed"
