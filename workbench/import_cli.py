"""Command line: ``python -m workbench import``, files through a mapping."""

from __future__ import annotations

import argparse
import json

from workbench import store
from workbench.importers import LoadResult, import_files, write_rejects
from workbench.mapping import load_mapping, shipped_mappings


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import``: load files into a database through a mapping."""
    names = ", ".join(shipped_mappings()) or "none"
    parser = subparsers.add_parser(
        "import", help="load CSV / XLSX / Parquet / JSON files through a mapping",
        description="Load files into the entity tables through a mapping. "
                    f"Shipped mappings: {names}.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="files to load (default: the mapping's files in --dir)")
    parser.add_argument("--db", required=True, help="database file")
    parser.add_argument("--mapping", required=True,
                        help="mapping JSON file or a shipped mapping's name")
    parser.add_argument("--dir", help="folder holding the mapping's files")
    parser.add_argument("--mode", choices=("replace", "append"), default="replace",
                        help="replace (the default) empties each table the "
                             "mapping loads before loading it; append updates "
                             "records with the same id and adds new ones")
    parser.add_argument("--rejects", metavar="OUT.csv",
                        help="write every rejected row here")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of text")
    parser.set_defaults(run=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    mapping = load_mapping(args.mapping)
    con = store.connect(args.db)
    con.execute("SET enable_progress_bar = false")  # stdout is for results
    before, had_demo = store.table_counts(con), store.holds_demo(con)
    try:
        result = import_files(con, mapping, args.files or None,
                              directory=args.dir, mode=args.mode)
        demo_removed = had_demo and not store.holds_demo(con)
    finally:
        con.close()
    if args.rejects:
        write_rejects(result.rejections, args.rejects)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    if demo_removed:
        print("replace: the demo data was removed first (every table)")
    else:
        replaced = sorted({load.entity for load in result.loads
                           if load.mode == "replace"})
        for entity in replaced:
            print(f"replace: {entity} held {before.get(entity, 0)} rows before "
                  "this import")
    for load in result.loads:
        print_load(load)
    return 0


def print_load(load: LoadResult, detected: str = "",
               notes: tuple[str, ...] = (), shown: int = 5) -> None:
    """One load's counts, its notes and its first rejections, for a terminal."""
    print(f"{load.file} -> {load.entity}{detected}: {load.rows_in} in, "
          f"{load.rows_loaded} loaded, {load.rows_rejected} rejected")
    for note in ((load.lines_note,) if load.lines_note else ()) + tuple(notes):
        print(f"  note: {note}")
    for rej in load.rejections[:shown]:
        print(f"  row {rej.row}: {rej.reason}")
    if load.rows_rejected > shown:
        print(f"  ... and {load.rows_rejected - shown} more")
