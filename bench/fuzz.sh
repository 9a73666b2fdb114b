#!/usr/bin/env bash
# Runs the fuzz targets of tests/fuzz.rs (the expression language, the CSV loader, the model
# loader) for SECONDS each, in parallel, from a seed taken from the clock. It runs in the dev
# profile, which optimises (opt-level 1, dependencies 3) and shares `cargo test`'s build: a
# release build would also compile tract, a dev-dependency of the tests, at opt-level 3.
#   bench/fuzz.sh 600
#   CHAINRULE_FUZZ_SEED=12345 bench/fuzz.sh 60   # replay a seed
# A failing input is kept under target/fuzz-failures/; the message names it and the seed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: bench/fuzz.sh SECONDS}"
CHAINRULE_FUZZ_SECONDS="$seconds" cargo test -p chainrule --test fuzz -- \
    --test-threads=3 --nocapture
