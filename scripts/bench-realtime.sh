#!/usr/bin/env bash
# Runs the real-time benchmark (release build) in a private test session with a real Secret
# Service: webhook POST at the relay -> row committed in the app's database, p50/p95/p99.
#   scripts/bench-realtime.sh [--rates 10,100] [--seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p advicly-e2e --bin realtime-bench
exec scripts/with-test-session.sh target/release/realtime-bench "$@"
