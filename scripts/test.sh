#!/usr/bin/env bash
# The one command that runs every check and test: formatting, lints, UI tests (Vitest and Chromium),
# every Rust test (real SQLite, real Secret Service, fake Calendly over loopback) and the desktop app
# end to end under Xvfb through WebDriver. Fails on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "bootstrap"
scripts/bootstrap.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "build the UI (the desktop crate embeds ui/dist)"
npm run --prefix ui build

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "UI component tests (Vitest)"
npm test --prefix ui

step "UI in Chromium (playwright-core, mocked IPC)"
npm run --prefix ui test:browser

step "Rust tests (real SQLite, gnome-keyring, fake Calendly over loopback)"
scripts/with-test-session.sh cargo test --workspace --locked --exclude advicly-desktop-e2e

step "desktop app end to end (Xvfb + WebDriver)"
scripts/desktop-e2e.sh

printf '\n\033[1mall checks and tests passed\033[0m\n' >&2
