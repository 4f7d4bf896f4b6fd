#!/bin/sh
# Set up, then start the app on 127.0.0.1:8501. The demo database is created
# at data/workbench.duckdb on first start (WORKBENCH_DB overrides the path).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec .venv/bin/streamlit run app.py --server.address 127.0.0.1 \
    --server.port "${PORT:-8501}" --server.headless true "$@"
