#!/bin/sh
# Set up, install Debian's chromium for the browser smoke test, run the tests.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh .ci/install-browser
sh .ci/install-engines
exec .venv/bin/python -m pytest "$@"
