#!/usr/bin/env bash
# Regenerates requirements.lock: every package TELEGLAS and its test tools install, resolved in a fresh
# virtualenv from pyproject.toml. The image and `make test` both install with `-c requirements.lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check -e '.[test]'
{
  echo "# Exact versions of every package TELEGLAS installs: the runtime dependencies of pyproject.toml and theirs (the Docker"
  echo "# image: pip install -c requirements.lock .) and the test tools (make test: pip install -c requirements.lock -e '.[test]')."
  echo "# Regenerate after changing pyproject.toml's dependencies: tools/lock.sh"
  # Names as the package index spells them once normalised (PEP 503), sorted.
  "$tmp/venv/bin/pip" freeze --exclude-editable | grep -v -E '^(-e |pip==|setuptools==|wheel==)' \
    | awk -F'==' '{ name = tolower($1); gsub(/[-_.]+/, "-", name); print name "==" $2 }' | sort
} > requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) packages"
