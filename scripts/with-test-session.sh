#!/usr/bin/env bash
# Runs a command in a private world for tests: a temporary HOME and XDG folders, its own D-Bus session
# bus, and a real gnome-keyring Secret Service unlocked with a throwaway password. Nothing touches the
# user's real home, keychain or data folder.
#
#   scripts/with-test-session.sh cargo test
set -euo pipefail

if [ "${ADVICLY_TEST_SESSION:-}" != "inside" ]; then
  test_home=$(mktemp -d "${TMPDIR:-/tmp}/advicly-test-home.XXXXXX")
  mkdir -p "$test_home/.local/share" "$test_home/.config" "$test_home/.cache"
  # Keep the real toolchains reachable although HOME moves.
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  export HOME="$test_home" XDG_DATA_HOME="$test_home/.local/share" XDG_CONFIG_HOME="$test_home/.config" \
         XDG_CACHE_HOME="$test_home/.cache" ADVICLY_TEST_SESSION=inside
  # A locked keyring must never meet a visible display (its prompt would block forever).
  unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
  status=0
  dbus-run-session -- "$0" "$@" || status=$?
  rm -rf "$test_home"
  exit "$status"
fi

eval "$(printf 'advicly-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL
exec "$@"
