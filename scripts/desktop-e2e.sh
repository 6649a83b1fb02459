#!/usr/bin/env bash
# Runs the real desktop app end to end (tests/desktop) in a private world: a temporary HOME and XDG
# folders, its own D-Bus session bus (OUTERMOST, so the app, its second instance and the keyring
# share it), a gnome-keyring Secret Service unlocked from stdin, and an Xvfb display.
#
#   scripts/desktop-e2e.sh            # build, then `cargo test -p advicly-desktop-e2e`
#   scripts/desktop-e2e.sh --bench    # release build, then the start-up / query / memory benchmark
#
# Needs (scripts/bootstrap.sh installs them): libwebkit2gtk-4.1-dev, webkit2gtk-driver, xvfb, xauth,
# dbus, gnome-keyring, libsecret-tools, xdg-utils, desktop-file-utils, `cargo install tauri-driver
# --version ^2 --locked` and Node.js (the script installs ui/node_modules if missing and rebuilds ui/dist).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
if [ "${1:-}" = "--bench" ]; then mode=bench; shift; fi

if [ "${ADVICLY_DESKTOP_WORLD:-}" != "inside" ]; then
  # Build with the real HOME, so cargo's caches are reused and the build stays out of the timing.
  # Always rebuilt (a second or two): the binary embeds ui/dist, and a stale one would be measured.
  if [ ! -d ui/node_modules ]; then npm ci --prefix ui --no-audit --no-fund; fi
  npm run --prefix ui build
  if [ "$mode" = bench ]; then
    cargo build --locked --release -p advicly-desktop --features custom-protocol,loopback-http
    # The floor the start-up is compared with: a bare Tauri window built the same way.
    cargo build --locked --release -p advicly-desktop-floor --features custom-protocol
    cargo build --locked --release -p advicly-desktop-e2e --bin desktop-bench
  else
    cargo build --locked -p advicly-desktop
    cargo test --locked -p advicly-desktop-e2e --no-run
  fi
  command -v tauri-driver >/dev/null || { echo "desktop-e2e: tauri-driver missing: cargo install tauri-driver --version ^2 --locked" >&2; exit 1; }
  command -v WebKitWebDriver >/dev/null || { echo "desktop-e2e: WebKitWebDriver missing: apt-get install webkit2gtk-driver" >&2; exit 1; }

  world=$(mktemp -d "${TMPDIR:-/tmp}/advicly-desktop-e2e.XXXXXX")
  mkdir -p "$world/.local/share" "$world/.config" "$world/.cache"
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  export PATH="$CARGO_HOME/bin:$PATH"
  export HOME="$world" XDG_DATA_HOME="$world/.local/share" XDG_CONFIG_HOME="$world/.config" \
         XDG_CACHE_HOME="$world/.cache" ADVICLY_DESKTOP_WORLD=inside ADVICLY_TEST_SESSION=inside
  # A locked keyring must never meet a visible display (its password prompt would block forever),
  # and nothing may reach the real session bus.
  unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR
  status=0
  dbus-run-session -- "$0" $([ "$mode" = bench ] && echo --bench) "$@" || status=$?
  rm -rf "$world"
  exit "$status"
fi

# Inside the D-Bus session, still without a display: unlock the keyring first.
eval "$(printf 'advicly-desktop-e2e' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

if [ "$mode" = bench ]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" cargo run --locked --release -q -p advicly-desktop-e2e --bin desktop-bench -- "$@"
fi
# One test binary, one WebDriver at a time: the scenarios share a single app window. Every wait in
# the tests is bounded; the whole run is bounded too (ADVICLY_DESKTOP_E2E_MINUTES, default 25; the
# scenarios take about 3 minutes), so nothing that hangs can hold CI until its own limit.
minutes="${ADVICLY_DESKTOP_E2E_MINUTES:-25}"
status=0
timeout --kill-after=30s "${minutes}m" \
  xvfb-run -a -s "-screen 0 1280x800x24" cargo test --locked -p advicly-desktop-e2e -- --test-threads=1 "$@" \
  || status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "desktop-e2e: the end-to-end tests did not finish within ${minutes} minutes" >&2
fi
exit "$status"
