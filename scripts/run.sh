#!/usr/bin/env bash
# Builds and launches the Advicly desktop app. With no Calendly OAuth client id set (Settings, or
# `advicly config set client_id …`) the first screen offers "Try with demo data", which runs a fake
# Calendly inside the app, so no Calendly account is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
npm run --prefix ui build
cargo build --locked -p advicly-desktop
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display found; starting the app inside Xvfb (use a desktop session to see the window)." >&2
  exec xvfb-run -a -s "-screen 0 1280x800x24" target/debug/advicly-desktop "$@"
fi
exec target/debug/advicly-desktop "$@"
