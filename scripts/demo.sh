#!/usr/bin/env bash
# One complete demo call on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/callticket demo "$@"
