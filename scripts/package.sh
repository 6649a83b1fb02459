#!/usr/bin/env bash
# Builds the Linux installers with the Tauri bundler: target/release/bundle/deb/Advicly_<version>_amd64.deb
# and target/release/bundle/rpm/Advicly-<version>-1.x86_64.rpm. Both hold the desktop app (whose .desktop
# entry registers advicly:// as x-scheme-handler/advicly), its icons and the `advicly` command line. The
# release profile is tuned for size (LTO, one codegen unit, opt-level s, stripped). No network is needed
# once tools/node_modules holds the prebuilt Tauri CLI (scripts/bootstrap.sh installs it).
#
#   scripts/package.sh                # .deb and .rpm
#   scripts/package.sh --bundles deb  # only the .deb
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x tools/node_modules/.bin/tauri ]; then
  npm ci --prefix tools --no-audit --no-fund --loglevel=error
fi
npm run --prefix ui build
bundles=(--bundles deb,rpm)
if [ "${1:-}" = "--bundles" ]; then bundles=(--bundles "$2"); shift 2; fi
cd src-tauri
# The Tauri CLI builds the app with its production feature (custom-protocol), then runs the
# beforeBundleCommand of tauri.conf.json (the CLI's release build) and bundles both.
../tools/node_modules/.bin/tauri build "${bundles[@]}" --ci "$@" -- --locked
