#!/usr/bin/env bash
# Set up if needed, then start hushtype (assistant + bundled inference server) on the
# embedded default models. Extra arguments go to `hushtype up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hushtype up "$@"
