#!/usr/bin/env bash
# Installer test: builds the .deb and .rpm (scripts/package.sh), installs the .deb on this machine with
# apt-get, checks that the system resolves advicly:// to the installed app, starts the installed app under
# Xvfb in a private world (temporary HOME, its own D-Bus session and unlocked gnome-keyring), opens a
# callback link with the plain `xdg-open` a desktop uses and sees it arrive (in the running app, and as a
# cold start), checks the release build's https-only rule through the installed CLI, drives the installed
# app's demo through WebDriver, removes the package and checks nothing is left. Prints the package sizes
# beside the bare-Tauri floor (5.1 MiB for a bare Tauri 2 .deb on this machine class).
#
#   scripts/installer-test.sh              # build, install, test, remove
#   scripts/installer-test.sh --no-build   # use the packages already in target/release/bundle
#
# Needs root or sudo (it installs a package). scripts/bootstrap.sh installs everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
log() { printf '\033[1minstaller-test:\033[0m %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# Waits (bounded, polling every 100 ms) until the shell condition "$2" holds; "$1" names it.
wait_until() {
  local what=$1 condition=$2 deadline=$((SECONDS + ${3:-30}))
  until eval "$condition"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}

if [ "${ADVICLY_INSTALLER_WORLD:-}" != "inside" ]; then
  if [ "${1:-}" != "--no-build" ]; then
    scripts/package.sh --bundles deb,rpm
  fi
  target="${CARGO_TARGET_DIR:-$repo/target}"
  deb=$(ls -t "$target"/release/bundle/deb/*.deb 2>/dev/null | head -n1 || true)
  rpm=$(ls -t "$target"/release/bundle/rpm/*.rpm 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || fail "no .deb in $target/release/bundle/deb (run scripts/package.sh)"
  package=$(dpkg-deb -f "$deb" Package)
  desktop_entry=$(dpkg-deb -c "$deb" | grep -o 'usr/share/applications/[^ ]*\.desktop' | head -n1)
  [ -n "$desktop_entry" ] || fail "the .deb has no .desktop entry"
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    fail "$package is already installed on this machine; remove it first (this test installs and removes it)"
  fi

  # The .desktop entry inside the package must register the scheme and pass the link on.
  contents=$(mktemp -d "${TMPDIR:-/tmp}/advicly-deb.XXXXXX")
  dpkg-deb -x "$deb" "$contents"
  grep -qx 'MimeType=x-scheme-handler/advicly;' "$contents/$desktop_entry" || fail "$desktop_entry does not register x-scheme-handler/advicly"
  grep -qx 'Exec=advicly-desktop %u' "$contents/$desktop_entry" || fail "$desktop_entry must start advicly-desktop with the link (%u)"
  for file in usr/bin/advicly-desktop usr/bin/advicly usr/share/icons/hicolor/128x128/apps/advicly-desktop.png; do
    [ -e "$contents/$file" ] || fail "the .deb lacks /$file"
  done
  rm -rf "$contents"

  log "installing $(basename "$deb") (package $package)"
  installed=0
  cleanup() {
    if [ "$installed" = 1 ]; then
      log "removing $package after a failure"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q "$package" >/dev/null 2>&1 || $SUDO dpkg -r "$package" || true
    fi
  }
  trap cleanup EXIT
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$deb" >/dev/null
  installed=1
  [ -x /usr/bin/advicly-desktop ] || fail "/usr/bin/advicly-desktop was not installed"

  world=$(mktemp -d "${TMPDIR:-/tmp}/advicly-installer.XXXXXX")
  mkdir -p "$world/.local/share" "$world/.config" "$world/.cache"
  status=0
  (
    export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
    export PATH="$CARGO_HOME/bin:$PATH" CARGO_TARGET_DIR="$target"
    export HOME="$world" XDG_DATA_HOME="$world/.local/share" XDG_CONFIG_HOME="$world/.config" \
           XDG_CACHE_HOME="$world/.cache" ADVICLY_INSTALLER_WORLD=inside ADVICLY_TEST_SESSION=inside \
           ADVICLY_DESKTOP_ENTRY="$(basename "$desktop_entry")"
    unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR XDG_CURRENT_DESKTOP
    exec dbus-run-session -- "$repo/scripts/installer-test.sh"
  ) || status=$?
  rm -rf "$world"
  [ "$status" = 0 ] || fail "the installed app did not pass (exit $status)"

  log "removing $package"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q "$package" >/dev/null
  installed=0
  [ ! -e /usr/bin/advicly-desktop ] && [ ! -e /usr/bin/advicly ] && [ ! -e "/$desktop_entry" ] || fail "files were left after removing $package"
  # Asked in an empty per-user world: what the package left system-wide is under test, not a handler
  # that a development build registered in the caller's own home.
  empty_world=$(mktemp -d "${TMPDIR:-/tmp}/advicly-removed.XXXXXX")
  leftover=$(env -u XDG_CURRENT_DESKTOP -u DESKTOP_SESSION -u XDG_DATA_DIRS -u XDG_CONFIG_DIRS \
    HOME="$empty_world" XDG_DATA_HOME="$empty_world/.local/share" XDG_CONFIG_HOME="$empty_world/.config" \
    xdg-mime query default x-scheme-handler/advicly 2>/dev/null || true)
  rm -rf "$empty_world"
  [ -z "$leftover" ] || fail "advicly:// still resolves to '$leftover' after removing $package"

  mib() { awk -v bytes="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", bytes / 1048576 }'; }
  log "installed, resolved advicly://, received a link while running and from a cold start, removed cleanly"
  echo "package size: .deb $(mib "$deb") ($(basename "$deb")), bare Tauri 2 floor 5.1 MiB"
  if [ -n "$rpm" ]; then echo "package size: .rpm $(mib "$rpm") ($(basename "$rpm"))"; fi
  exit 0
fi

# ---- inside the private world: its own session bus, no display yet --------------------------------
if [ "${ADVICLY_INSTALLER_STEP:-}" != "display" ]; then
  # A locked keyring must never meet a visible display: unlock it first.
  eval "$(printf 'advicly-installer' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  export GNOME_KEYRING_CONTROL

  handler=$(xdg-mime query default x-scheme-handler/advicly)
  [ "$handler" = "$ADVICLY_DESKTOP_ENTRY" ] || fail "the system resolves advicly:// to '$handler', not the installed $ADVICLY_DESKTOP_ENTRY"
  log "xdg-mime query default x-scheme-handler/advicly → $handler"

  # Release builds refuse cleartext bases from the environment and from flags.
  warning=$(ADVICLY_API_BASE=http://127.0.0.1:9/ advicly config get api_base 2>&1 >/dev/null || true)
  case "$warning" in *"must use https"*) ;; *) fail "the installed CLI accepted an http API base: $warning" ;; esac
  set +e; advicly --api-base http://127.0.0.1:9/ status >/dev/null 2>&1; code=$?; set -e
  [ "$code" = 2 ] || fail "the installed CLI must refuse --api-base http://… with exit 2 (got $code)"
  log "the installed release build refuses http:// bases"

  ADVICLY_INSTALLER_STEP=display exec xvfb-run -a -s "-screen 0 1280x800x24" "$0"
fi

# ---- inside Xvfb ------------------------------------------------------------------------------------
app_log="$HOME/app.log"
link='advicly://oauth/callback?code=installer-test-code&state=installer-test-state'
installed_pids() {
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/exe" 2>/dev/null)" = /usr/bin/advicly-desktop ] && basename "$proc"
  done
  true
}

# 1. The link reaches the running app: plain xdg-open (no desktop detected, the generic path that
#    needs an unquoted Exec line) starts a second process, which forwards it over D-Bus and exits.
ADVICLY_LOG=info /usr/bin/advicly-desktop >"$app_log" 2>&1 &
first=$!
wait_until "the installed app to start" "grep -q 'starting' '$app_log'"
xdg-open "$link"
wait_until "the link to arrive in the running app" "grep -q 'handling an advicly:// callback' '$app_log'"
wait_until "the app to report the unknown sign-in" "grep -q 'the callback failed' '$app_log'"
[ "$(installed_pids | wc -l)" = 1 ] || fail "the link started a second app instead of reaching the running one"
log "a link opened with xdg-open reached the running installed app"
kill -TERM "$first"
wait_until "the app to quit" "! kill -0 $first 2>/dev/null"

# 2. A cold start: nothing runs, the link starts the installed app, which reads it at launch.
: >"$app_log"
# Generic xdg-open runs the handler in the foreground, so it lives as long as the app.
ADVICLY_LOG=info xdg-open "$link" 2>>"$app_log" &
wait_until "the link to start the installed app" "[ -n \"\$(installed_pids)\" ]"
wait_until "the cold-started app to handle its launch link" "grep -q 'handling an advicly:// callback' '$app_log'"
log "a link opened with xdg-open started the installed app, which handled it"
for pid in $(installed_pids); do kill -TERM "$pid"; done
wait_until "the app to quit" "[ -z \"\$(installed_pids)\" ]"

# 3. The installed release app through WebDriver: the demo works without any settings.
command -v tauri-driver >/dev/null || fail "tauri-driver missing: cargo install tauri-driver --version ^2 --locked"
ADVICLY_DESKTOP_BINARY=/usr/bin/advicly-desktop cargo test --locked -q -p advicly-desktop-e2e --test demo_app -- --test-threads=1
log "the installed app's demo connected, listed meetings and disconnected"
