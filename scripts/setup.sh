#!/bin/sh
# Create .venv (once) and install the pinned requirements into it.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# The workbench package itself, so `python -m workbench` and notebooks work
# from any folder.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
