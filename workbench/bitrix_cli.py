"""Command line for Bitrix24 data: ``import-bitrix`` (files) and ``pull-bitrix`` (REST).

::

    python -m workbench import-bitrix --db crm.duckdb contacts.csv deals.xls
    python -m workbench import-bitrix --db crm.duckdb new.csv --mode append
    python -m workbench pull-bitrix --db crm.duckdb --webhook https://PORTAL/rest/1/TOKEN/
    python -m workbench pull-bitrix --db crm.duckdb --webhook ... --resume

Progress goes to stderr; stdout has one line per file or entity, or one JSON
object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from workbench import bitrix, bitrix_rest, store
from workbench.import_cli import print_load
from workbench.importers import write_rejects


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-bitrix`` and ``pull-bitrix``."""
    imp = subparsers.add_parser(
        "import-bitrix", help="load Bitrix24 CRM exports (CSV, HTML .xls, XLSX)",
        description="Load Bitrix24 list exports; the entity and the columns are "
                    "recognised from the Russian or English titles.")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--db", required=True, help="database file")
    imp.add_argument("--entity", choices=bitrix.ENTITIES,
                     help="what the files hold (default: recognised per file)")
    imp.add_argument("--mode", choices=("replace", "append"), default="replace",
                     help="replace (the default) empties the entity's table "
                          "before loading each file; append updates records "
                          "with the same id and adds new ones")
    imp.add_argument("--rejects", metavar="OUT.csv", help="write every rejected row here")
    imp.add_argument("--json", action="store_true", help="print one JSON object")
    imp.set_defaults(run=_run_import)

    pull = subparsers.add_parser(
        "pull-bitrix", help="pull contacts, companies, deals and leads over REST",
        description="Pull CRM records through an inbound webhook, page by page. "
                    "The webhook may also come from $BITRIX24_WEBHOOK.")
    pull.add_argument("--db", required=True, help="database file")
    pull.add_argument("--webhook", help="https://PORTAL/rest/USER_ID/TOKEN/")
    pull.add_argument("--entity", action="append", choices=bitrix_rest.PULL_ORDER,
                      help="pull only this entity (repeatable)")
    pull.add_argument("--resume", action="store_true",
                      help="continue after the last id each entity reached")
    pull.add_argument("--json", action="store_true", help="print one JSON object")
    pull.set_defaults(run=_run_pull)


def _run_import(args: argparse.Namespace) -> int:
    con = store.connect(args.db)
    con.execute("SET enable_progress_bar = false")  # stdout is for results
    done = []
    emptied: set[str] = set()  # replace empties each table once per run
    try:
        for path in args.files:
            done.append(bitrix.import_export(con, path, entity=args.entity,
                                             mode=args.mode, emptied=emptied))
    finally:
        con.close()
    if args.rejects:
        rows = [r for d in done for r in d.result.rejections]
        write_rejects(rows, args.rejects)
    if args.json:
        print(json.dumps({"files": [_import_summary(d) for d in done]},
                         ensure_ascii=False))
        return 0
    for d in done:
        encoding = f", {d.file.encoding}" if d.file.encoding else ""
        print_load(d.result, f" ({d.file.format}{encoding})", d.notes)
    return 0


def _import_summary(done: bitrix.BitrixImport, limit: int = 20) -> dict:
    r = done.result
    return {
        "file": r.file, "entity": r.entity, "format": done.file.format,
        "encoding": done.file.encoding, "delimiter": done.file.delimiter,
        "mapping": {c: t for c, t in done.recognition.targets.items()},
        "rows_in": r.rows_in, "lines_in": r.lines_in, "lines_note": r.lines_note,
        "notes": list(done.notes),
        "rows_loaded": r.rows_loaded, "rows_rejected": r.rows_rejected,
        "rejections": [asdict(x) for x in r.rejections[:limit]],
    }


def _run_pull(args: argparse.Namespace) -> int:
    webhook = args.webhook or os.environ.get("BITRIX24_WEBHOOK")
    if not webhook:
        raise bitrix_rest.BitrixRestError(
            "give --webhook https://PORTAL/rest/USER_ID/TOKEN/ or set BITRIX24_WEBHOOK")
    con = store.connect(args.db)
    con.execute("SET enable_progress_bar = false")

    def progress(entity: str, done: int, total: int) -> None:
        print(f"\r{entity}: {done} of {total}", end="", file=sys.stderr, flush=True)

    try:
        result = bitrix_rest.pull(con, webhook, resume=args.resume,
                                  entities=tuple(args.entity or bitrix_rest.PULL_ORDER),
                                  progress=progress)
    finally:
        print(file=sys.stderr)
        con.close()
    if args.json:
        print(json.dumps({
            "portal": result.portal, "calls": result.calls, "retries": result.retries,
            "pipelines": result.pipelines,
            "entities": [{"entity": e.entity, "rows_in": e.rows_in,
                          "rows_loaded": e.rows_loaded, "last_id": e.last_id,
                          "rejections": [asdict(x) for x in e.rejections[:20]]}
                         for e in result.entities]}, ensure_ascii=False))
        return 0
    for e in result.entities:
        print(f"{e.entity}: {e.rows_in} pulled, {e.rows_loaded} loaded, "
              f"{len(e.rejections)} rejected, last id {e.last_id}")
    return 0
