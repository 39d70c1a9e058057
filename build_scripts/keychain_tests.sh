#!/bin/sh
# Run the key-storage tests against a real Secret Service: gnome-keyring in a private D-Bus
# session, its login keyring created and unlocked with a password given on stdin (an empty
# password would make it open a dialog), in a throw-away HOME so no real keyring is touched.
#   sh build_scripts/keychain_tests.sh [PYTHON]      (default .venv/bin/python)
# Needs Debian's gnome-keyring, dbus and libsecret-tools (secret-tool).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv/bin/python}"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
mkdir -m 700 "$home/run"
export PYTHON HOME="$home" XDG_RUNTIME_DIR="$home/run"
export JOCKEY_REAL_KEYCHAIN=1 JOCKEY_KEYCHAIN_PASSWORD=ci-keychain-pass
dbus-run-session -- sh -c '
  printf %s "$JOCKEY_KEYCHAIN_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  # One process: the tests share one keyring daemon and lock/unlock its collection in turn.
  "$PYTHON" -m pytest -q -rxXs -p no:cacheprovider -n 0 tests/unit/test_keychain_real.py tests/unit/test_secrets.py
'
