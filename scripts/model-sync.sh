#!/usr/bin/env bash
# Runs the model-based sync test on many random histories (default 1,000) in a private test session
# with a real Secret Service, and prints how many histories ran and passed.
#   scripts/model-sync.sh [--histories 1000] [--first-seed 1] [--seed N]
# A failure prints the failing seeds, the fields that differ from Calendly and a shrunk history;
# replay it with --seed N (or ADVICLY_MODEL_SEED=N cargo test -p advicly-engine --test model).
set -euo pipefail
cd "$(dirname "$0")/.."
histories=1000
first_seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --histories) histories="$2"; shift 2 ;;
    --first-seed) first_seed="$2"; shift 2 ;;
    --seed) export ADVICLY_MODEL_SEED="$2"; shift 2 ;;
    *) echo "unknown option: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
export ADVICLY_MODEL_HISTORIES="$histories" ADVICLY_MODEL_FIRST_SEED="$first_seed" RUST_BACKTRACE=0
exec scripts/with-test-session.sh cargo test --locked -p advicly-engine --test model -- \
  --nocapture random_histories_end_where_calendly_is
