#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu clone: Python 3.11 virtualenv in .venv with TELEGLAS and its test tools,
# and redis-server; with --test also Debian's Chromium, its chromedriver and an emoji font (the dashboard's
# browser tests). Quick when everything is already there; re-installs when pyproject.toml or requirements.lock
# changes (every package pinned there).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "[setup] apt-get install $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$candidate; break
  fi
done
if [ -z "$python" ]; then
  apt_install python3.11 python3.11-venv
  python=python3.11
fi

if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  apt_install redis-server
fi

if [ "${1:-}" = "--test" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv 2>/dev/null || { apt_install python3.11-venv; rm -rf .venv; "$python" -m venv .venv; }
  fi
  echo "[setup] installing TELEGLAS into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
