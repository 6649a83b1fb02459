#!/usr/bin/env bash
# The relay benchmark: durable ingest throughput (SQLite, PostgreSQL, in-memory floor), ingress →
# SSE latency percentiles, memory per idle subscriber. Builds in release mode, raises the file
# limit for 10,000 subscribers, prints the figures. Extra arguments go to the benchmark
# (`--quick` for a short smoke run, `--skip-memory` to leave out the memory phase, `--only
# ingest,latency,memory` to run just the named phases).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p advicly-relay -p advicly-relay-bench
# 10,000 subscribers need 10,000 sockets in the relay and as many in the benchmark.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 20500 ]; then
  echo "relay-bench: the open-file limit is $(ulimit -n); 10,000 subscribers need about 20,500" >&2
fi
exec target/release/advicly-relay-bench "$@"
