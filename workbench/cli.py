"""Segment commands: validate, count, members, sql, explain, schema.

    python -m workbench validate SEGMENT.json
    python -m workbench count    SEGMENT.json --db PATH [--as-of DATE] [--json]
    python -m workbench members  SEGMENT.json --db PATH [--format csv|json]
    python -m workbench sql      SEGMENT.json [--dialect duckdb|postgres|spark]
    python -m workbench explain  SEGMENT.json --db PATH --id ID

``count`` and ``members`` also run where the data is, instead of ``--db``:
``--postgres "host=... dbname=..."`` or ``--spark local[2]`` (docs/ENGINES.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from workbench import compiler, definition, dialects, engines, evaluator, store
from workbench.definition import Definition, DirectoryResolver
from workbench.describe import describe
from workbench.errors import WorkbenchError
from workbench.export import defuse_formulas


class UsageError(WorkbenchError, ValueError):
    """A command-line argument has a value the command cannot use."""


def _as_of(args: argparse.Namespace, con=None) -> date:
    if getattr(args, "as_of", None):
        try:
            return date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError(f"--as-of expects a date YYYY-MM-DD, got {args.as_of!r}") \
                from None
    return store.today(con) if con is not None else date.today()


def _load(args: argparse.Namespace) -> tuple[Definition, DirectoryResolver]:
    path = Path(args.segment)
    folder = Path(args.segments) if getattr(args, "segments", None) else path.parent
    return definition.load(path), DirectoryResolver(folder)


def _open_db(args: argparse.Namespace):
    path = Path(args.db)
    if not path.exists():
        raise UsageError(f"database {path} does not exist; create one with "
                         "`python -m workbench demo --db PATH` or `import`")
    try:
        return store.connect(path, read_only=True)
    except store.StoreError:
        raise
    except Exception as err:  # duckdb raises its own IOException types
        if "lock" in str(err).lower():
            raise UsageError(f"database {path} is in use by another program (the "
                             "app?): stop it or work on a copy") from None
        raise UsageError(f"cannot open database {path}: {err}") from None


def cmd_validate(args: argparse.Namespace) -> int:
    ok = True
    for name in args.segment:
        try:
            defn = definition.load(name)
        except definition.DefinitionError as err:
            ok = False
            print(err, file=sys.stderr)
            continue
        refs = definition.references(defn)
        if refs:
            resolver = DirectoryResolver(args.segments or Path(name).parent)
            try:
                compiler.compile_members(defn, date.today(), resolver)
            except WorkbenchError as err:
                ok = False
                print(f"{name}: {err}", file=sys.stderr)
                continue
        print(f"{name}: ok ({defn.entity}, {defn.mode})")
    return 0 if ok else 1


def _open_engine(args: argparse.Namespace):
    """The PostgreSQL or Spark engine asked for, or None for the --db file."""
    chosen = [o for o in ("db", "postgres", "spark") if getattr(args, o, None)]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --db PATH, --postgres CONNINFO or "
                         f"--spark MASTER, got {len(chosen)}")
    if args.postgres:
        return engines.PostgresEngine.connect(args.postgres)
    if args.spark:
        return engines.SparkEngine.start(args.spark, database=args.spark_database)
    return None


def _engine_as_of(args: argparse.Namespace, engine) -> date:
    return _as_of(args) if getattr(args, "as_of", None) else engine.today()


def cmd_count(args: argparse.Namespace) -> int:
    defn, resolver = _load(args)
    engine = _open_engine(args)
    if engine is not None:
        as_of = _engine_as_of(args, engine)
        counts = engines.channel_counts(engine, defn, as_of=as_of, resolver=resolver)
        engine.close()
    else:
        con = _open_db(args)
        as_of = _as_of(args, con)
        counts = evaluator.channel_counts(con, defn, as_of=as_of, resolver=resolver)
    if args.json:
        out = {"segment": defn.id, "as_of": as_of.isoformat(), "count": counts.total,
               "channels": counts.as_dict()}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(counts.total)
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    defn, resolver = _load(args)
    engine = _open_engine(args)
    if engine is not None:
        frame = engines.members(engine, defn, as_of=_engine_as_of(args, engine),
                                resolver=resolver, limit=args.limit)
        engine.close()
    else:
        con = _open_db(args)
        frame = evaluator.members(con, defn, as_of=_as_of(args, con),
                                  resolver=resolver, limit=args.limit)
    if args.format == "json":
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif args.format == "ids":
        sys.stdout.write("".join(f"{i}\n" for i in frame["id"]))
    else:
        frame_for_csv(frame).to_csv(sys.stdout, index=False)
    return 0


def _is_list(value) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, (str, bytes))


def frame_for_csv(frame):
    """Lists (tags) as ``a, b`` text, so a CSV cell reads as the app shows it;
    free text that a spreadsheet would run as a formula gets a leading ``'``."""
    out = frame.copy()
    for name in out.columns:
        if out[name].map(_is_list).any():
            out[name] = out[name].map(
                lambda v: ", ".join(map(str, v)) if _is_list(v) else v)
        if name in ("name", "title", "company_name", "city", "region", "tags"):
            out[name] = defuse_formulas(out[name])
    return out


def cmd_sql(args: argparse.Namespace) -> int:
    defn, resolver = _load(args)
    as_of = _as_of(args)
    compiled = compiler.compile_members(defn, as_of, resolver)
    if args.dialect in dialects.DIALECTS and args.dialect != "duckdb":
        # Passes keep the meaning where a dialect differs; a condition it
        # cannot express is an error naming the condition and the dialect.
        text = dialects.render(compiled, args.dialect, defn, as_of=as_of,
                               resolver=resolver, pretty=True)
    else:
        try:
            text = compiled.sql(args.dialect, pretty=True)
        except Exception as err:  # sqlglot raises UnsupportedError and friends
            raise UsageError(f'segment "{defn.id}" cannot be written in '
                             f"{args.dialect}: {err}") from None
    print(text)
    if args.params:
        print(json.dumps({k: _shown(v) for k, v in compiled.params.items()},
                         ensure_ascii=False, default=str), file=sys.stderr)
    return 0


def _shown(value):
    return value if not isinstance(value, list) or len(value) < 50 else \
        f"[{len(value)} values]"


def cmd_explain(args: argparse.Namespace) -> int:
    defn, resolver = _load(args)
    con = _open_db(args)
    as_of = _as_of(args, con)
    if args.id is None:
        for line in describe(defn):
            print(line)
        for c in evaluator.condition_counts(con, defn, as_of=as_of, resolver=resolver):
            left = "" if c.remaining is None else f", {c.remaining:,} left after it"
            print(f"{c.path}: {c.text}: {c.alone:,} alone{left}")
        return 0
    result = evaluator.explain_record(con, defn, args.id, as_of=as_of, resolver=resolver)
    if not result.exists:
        raise UsageError(f"{defn.entity} has no record with id {args.id}")
    state = "a member" if result.member else "not a member"
    print(f"{defn.entity} {args.id} is {state} of {defn.id} as of {as_of}")
    for v in result.verdicts:
        mark = "met    " if v.met else "not met"
        seen = "no value" if v.seen is None else repr(v.seen)
        print(f"  [{mark}] {v.path}: {v.text} (seen: {seen})")
    for path in result.excluded_by:
        print(f"  removed by {path}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from workbench.schema import schema_text

    if args.out:
        Path(args.out).write_text(schema_text(), encoding="utf-8")
    else:
        sys.stdout.write(schema_text())
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    def segment_cmd(name: str, help_: str, fn, db: bool = True,
                    elsewhere: bool = False):
        p = sub.add_parser(name, help=help_)
        p.add_argument("segment", help="segment definition (JSON file)")
        if db:
            p.add_argument("--db", required=not elsewhere,
                           help="workbench database file")
        if elsewhere:
            p.add_argument("--postgres", metavar="CONNINFO", help="run on this "
                           "PostgreSQL database instead (libpq string or URI)")
            p.add_argument("--spark", metavar="MASTER", help="run in a Spark "
                           "session on this master instead, e.g. local[2]")
            p.add_argument("--spark-database", metavar="NAME",
                           help="Spark database holding the tables")
        p.add_argument("--as-of", help="evaluate as of this day (YYYY-MM-DD); "
                       "default: today in the workspace time zone")
        p.add_argument("--segments", help="folder of referenced segments "
                       "(default: the definition's folder)")
        p.set_defaults(run=fn)
        return p

    p = sub.add_parser("validate", help="check definitions, reporting every problem")
    p.add_argument("segment", nargs="+")
    p.add_argument("--segments")
    p.set_defaults(run=cmd_validate)

    p = segment_cmd("count", "count members", cmd_count, elsewhere=True)
    p.add_argument("--json", action="store_true", help="one JSON object with channels")

    p = segment_cmd("members", "list members", cmd_members, elsewhere=True)
    p.add_argument("--format", choices=("csv", "json", "ids"), default="csv")
    p.add_argument("--limit", type=int)

    p = segment_cmd("sql", "print the compiled SQL", cmd_sql, db=False)
    p.add_argument("--dialect", default="duckdb",
                   help="duckdb, postgres, spark, trino, bigquery, clickhouse")
    p.add_argument("--params", action="store_true", help="also print values (stderr)")

    p = segment_cmd("explain", "counts per condition, or why one record is in/out",
                    cmd_explain)
    p.add_argument("--id", type=int, help="explain this record")

    p = sub.add_parser("schema", help="print the JSON Schema of definitions")
    p.add_argument("--out", help="write it to this file instead")
    p.set_defaults(run=cmd_schema)
