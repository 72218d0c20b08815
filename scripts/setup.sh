#!/usr/bin/env bash
# Installs everything callticket needs on Debian 12 (apt packages, a virtualenv
# in .venv with the project and its test tools). Safe to run again: it only
# does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng flite sox sip-tester debootstrap postgresql python3-venv iproute2 procps)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing apt packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.callticket-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log=$(mktemp)
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test,neural]'; } >"$log" 2>&1; then
    cat "$log" >&2; echo "setup: pip install failed" >&2; exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi
