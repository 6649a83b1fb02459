#!/usr/bin/env bash
# Runs the sync benchmark (release build) in a private test session with a real Secret Service.
#   scripts/bench-sync.sh [--events 1000,10000] [--paced-events 1000] [--latency-ms 50]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p advicly-e2e --bin sync-bench
exec scripts/with-test-session.sh target/release/sync-bench "$@"
