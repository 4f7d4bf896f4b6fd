"""Command line: ``python -m workbench COMMAND ...``.

Each command lives with the module that does its work; that module exposes
``register_cli(subparsers)`` which adds its parser(s) with ``run=function``.
A user mistake (``WorkbenchError``) prints one message to stderr and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import duckdb

from workbench.errors import WorkbenchError

COMMAND_MODULES = (
    "workbench.demo",
    "workbench.import_cli",
    "workbench.cli",
    "workbench.export",
    "workbench.analysis_cli",
    "workbench.bitrix_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workbench",
        description="Segment Workbench: build, count and export CRM segments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except WorkbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (e.g. `head`) stopped reading: fine
        sys.stdout = open(os.devnull, "w")  # no second error at exit
        return 0
    except (OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except duckdb.Error as err:  # e.g. the database is locked by a running app
        print(f"error: the database refused: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
