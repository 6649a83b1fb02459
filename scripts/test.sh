#!/usr/bin/env bash
# The one command that runs every check and test: formatting, lints, UI tests (Vitest and Chromium),
# every Rust test (real SQLite, real Secret Service, fake Calendly over loopback) and the desktop app
# end to end under Xvfb through WebDriver. Fails on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

# Every test step's output is also kept, so the run can end with one line counting all tests.
test_log=$(mktemp "${TMPDIR:-/tmp}/advicly-test-log.XXXXXX")
trap 'rm -f "$test_log"' EXIT
tests() { "$@" 2>&1 | tee -a "$test_log"; }

step "bootstrap"
scripts/bootstrap.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "build the UI (the desktop crate embeds ui/dist)"
npm run --prefix ui build

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "UI component tests (Vitest)"
tests npm test --prefix ui

step "UI in Chromium (playwright-core, mocked IPC)"
tests npm run --prefix ui test:browser

step "Rust tests (real SQLite, gnome-keyring, fake Calendly over loopback)"
tests scripts/with-test-session.sh cargo test --workspace --locked --exclude advicly-desktop-e2e

step "desktop app end to end (Xvfb + WebDriver)"
tests scripts/desktop-e2e.sh

step "installer: release .deb/.rpm, apt-get install, advicly:// through xdg-open, demo, removal"
tests scripts/installer-test.sh

# One closing line over every runner: Rust's "test result:" lines, Vitest's "Tests" line and the
# Node test runner's "# pass" / "# fail" lines (colour codes stripped first).
sed 's/\x1b\[[0-9;]*m//g' "$test_log" | awk '
  /^test result:/ { passed += $4; failed += $6 }
  /^ *Tests +[0-9]+ passed/ { passed += $2 }
  /^ *Tests +[0-9]+ failed/ { failed += $2 }
  /^# pass [0-9]+/ { passed += $3 }
  /^# fail [0-9]+/ { failed += $3 }
  END { printf "\nall checks and tests passed\ntests: %d passed, %d failed\n", passed, failed }'

