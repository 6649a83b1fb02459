#!/usr/bin/env bash
# Installs everything the build and the tests need on a Debian/Ubuntu machine. Idempotent: each step
# checks first, so running it again costs seconds. Called by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1mbootstrap:\033[0m %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# System packages: WebKitGTK for Tauri, Xvfb + WebDriver for the desktop end-to-end tests,
# gnome-keyring + D-Bus for the real Secret Service, Chromium for the UI browser tests,
# PostgreSQL for the relay's tests (they start private servers from its binaries; the `main`
# cluster Debian's package may start is never used).
APT_PACKAGES=(
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev
  xvfb xauth imagemagick xdg-utils desktop-file-utils webkit2gtk-driver
  gnome-keyring libsecret-tools dbus dbus-user-session chromium
  curl ca-certificates git
  postgresql
)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install a Rust toolchain (1.90 or newer), e.g. with rustup, then run this again."
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  log "Node.js $node_major is too old for Vite; install Node.js 20 or newer, then run this again."
  exit 1
fi

# tauri-driver bridges WebDriver to WebKitWebDriver for the desktop end-to-end tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  log "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# The web UI's dependencies, exactly as locked.
if [ -f ui/package-lock.json ]; then
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    log "installing UI packages"
    npm ci --prefix ui --no-audit --no-fund --loglevel=error
  fi
fi
# The Tauri CLI (prebuilt) that bundles the .deb and .rpm, exactly as locked.
if [ -f tools/package-lock.json ]; then
  if [ ! -d tools/node_modules ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
    log "installing build tools (Tauri CLI)"
    npm ci --prefix tools --no-audit --no-fund --loglevel=error
  fi
fi
log "ready"
