"""Benchmark: the evaluator against hand-written SQL and a pandas analyst.

For each scale the demo data is generated into a database in a temporary
folder (deleted afterwards), then every example segment is counted three
ways: (a) the evaluator from a parsed definition (compile included), (b) the
hand-written DuckDB query of ``bench/expert_sql.py``, (c) the pandas
computation of ``bench/analyst.py`` on tables loaded beforehand (load timed
apart). The three counts must agree, or the run stops. It also times the
builder's recount after one changed condition, the overlap of 5 segments, a
52-week size history, and importing the contacts as a CSV file.

Each step runs in its own process so that its peak memory
(``ru_maxrss``) is its own: the evaluator's peak is not the pandas frames'.

    python bench/run.py --contacts 100000 1000000 --repeat 5 --out bench/results.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from bench import analyst, expert_sql  # noqa: E402
from workbench import builder_state, compiler, definition, evaluator  # noqa: E402
from workbench import demo, importers, store  # noqa: E402
from workbench.library import Library  # noqa: E402

SEGMENTS = REPO / "data" / "segments"
AS_OF = date(2026, 6, 30)
SEED = 42
OVERLAP_SEGMENTS = ("customers", "vip", "active-buyers", "two-capitals",
                    "unsubscribed")
HISTORY_WEEKS = 52

# The builder's edit for each example: the node's path in the draft and the
# value typed into it.
EDITS: dict[str, tuple[tuple[Any, ...], Any]] = {
    "active-buyers": (("include", 0, "where", 1), 30),
    "vip": (("include", 0), 150000),
    "inactive": (("include", 0), 365),
    "potential": (("include", 0, "where", 2), "Proposal"),
    "two-capitals": (("include", 0), ["Moscow"]),
    "customers": (("include", 1, "where", 0), ["paid"]),
    "unsubscribed": (("include", 0, "where", 0), "phone"),
    "spring-sale-followup": (("exclude", 0, "where", 0), "Spring sale 2025"),
    "electronics-buyers": (("include", 0, "where", 1), 30),
    "pricing-visitors": (("include", 0), 3),
    "moved-recently": (("include", 0), 60),
    "it-companies-in-play": (("include", 1), 100),
    "fresh-website-leads": (("include", 1), 7),
}

# Columns of the contacts CSV and the simple mapping that imports them.
CSV_COLUMNS = ("id", "name", "email", "phone", "city", "region", "source", "type",
               "birthday", "created_at", "modified_at", "company_id",
               "assigned_user_id")


class Disagreement(SystemExit):
    """The three ways gave different counts: the figures mean nothing."""


def peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def median(values: list[float]) -> float:
    return statistics.median(values)


def segment_ids() -> list[str]:
    return sorted(p.stem for p in SEGMENTS.glob("*.json"))


# --------------------------------------------------------------------------
# Steps, each run in a child process


def step_generate(db: Path, contacts: int) -> dict[str, Any]:
    con = store.connect(db)
    con.execute("SET enable_progress_bar = false")
    seconds, rows = timed(lambda: demo.generate(con, contacts=contacts, seed=SEED,
                                                as_of=AS_OF))
    con.execute("CHECKPOINT")
    con.close()
    return {"seconds": seconds, "rows": rows, "peak_mb": peak_mb(),
            "db_mb": db.stat().st_size / 2**20}


def step_engine(db: Path, repeat: int) -> dict[str, Any]:
    """Evaluator and hand-written SQL, recount, overlap, history."""
    con = store.connect(db)
    con.execute("SET enable_progress_bar = false")
    library = Library(SEGMENTS)
    sqls = expert_sql.queries(AS_OF)
    out: dict[str, Any] = {"segments": {}}
    for seg in segment_ids():
        defn = definition.load(SEGMENTS / f"{seg}.json")
        out["segments"][seg] = _evaluator_vs_sql(con, defn, sqls[seg], library, repeat)
    out["recount"] = {seg: _recount(con, seg, library, repeat)
                      for seg in segment_ids()}
    sizes = {seg: r["counts"]["evaluator"] for seg, r in out["segments"].items()}
    out["overlap"] = _overlap(con, library, repeat, sizes)
    out["history"] = {seg: _history(con, library, seg, repeat, sizes[seg])
                      for seg in segment_ids()}
    out["peak_mb"] = peak_mb()
    con.close()
    return out


def _evaluator_vs_sql(con: duckdb.DuckDBPyConnection, defn: definition.Definition,
                      sql: str, library: Library, repeat: int) -> dict[str, Any]:
    def by_evaluator() -> int:
        return evaluator.count(con, defn, as_of=AS_OF, resolver=library)

    def by_hand() -> int:
        return int(con.execute(sql).fetchone()[0])

    def compile_only() -> str:
        return compiler.compile_count(defn, AS_OF, library).sql()

    counts = {"evaluator": by_evaluator(), "sql": by_hand()}  # also warms up
    times: dict[str, list[float]] = {"evaluator": [], "sql": [], "compile": []}
    for _ in range(repeat):  # interleaved, so a busy moment hits both
        times["evaluator"].append(timed(by_evaluator)[0])
        times["sql"].append(timed(by_hand)[0])
        times["compile"].append(timed(compile_only)[0])
    return {"counts": counts, "times": times,
            "median": {k: median(v) for k, v in times.items()}}


def edited_draft(seg: str) -> builder_state.Draft:
    path, value = EDITS[seg]
    draft = builder_state.draft_from(definition.load(SEGMENTS / f"{seg}.json"))
    node = builder_state.change_value(builder_state.node_at(draft, path), value)
    return builder_state.set_node(draft, path, node)


def _recount(con: duckdb.DuckDBPyConnection, seg: str, library: Library,
             repeat: int) -> dict[str, Any]:
    """What the builder does after an edit: the live definition, its count and
    the per-condition counts."""
    def recount() -> int:
        live = builder_state.live_definition(edited_draft(seg), library, AS_OF)
        total = evaluator.count(con, live.definition, as_of=AS_OF, resolver=library)
        evaluator.condition_counts(con, live.definition, as_of=AS_OF,
                                   resolver=library)
        return total

    count = recount()
    times = [timed(recount)[0] for _ in range(repeat)]
    return {"count": count, "times": times, "median": median(times)}


def _overlap(con: duckdb.DuckDBPyConnection, library: Library, repeat: int,
             sizes: dict[str, int]) -> dict[str, Any]:
    defns = [library.load(s) for s in OVERLAP_SEGMENTS]
    if importlib.util.find_spec("workbench.overlap") is not None:
        from workbench import overlap  # noqa: PLC0415

        def run() -> list[int]:
            return overlap.overlap(con, defns, as_of=AS_OF, resolver=library).sizes
        how = "workbench.overlap.overlap"
    else:
        def run() -> list[int]:
            # Stand-in: five member lists and their pairwise intersections.
            sets = [set(evaluator.member_ids(con, d, as_of=AS_OF, resolver=library))
                    for d in defns]
            [[len(a & b) for b in sets] for a in sets]
            return [len(s) for s in sets]
        how = "stand-in: 5 x evaluator.member_ids + pairwise set intersections"
    got = run()
    times = [timed(run)[0] for _ in range(repeat)]
    return {"how": how, "segments": list(OVERLAP_SEGMENTS), "times": times,
            "median": median(times),
            "sizes_agree": got == [sizes[s] for s in OVERLAP_SEGMENTS]}


def _history(con: duckdb.DuckDBPyConnection, library: Library, seg: str,
             repeat: int, size: int) -> dict[str, Any]:
    """52 weekly sizes ending ``AS_OF``; the last must equal today's count."""
    defn = library.load(seg)
    dates = [AS_OF - timedelta(weeks=w) for w in range(HISTORY_WEEKS)]
    if importlib.util.find_spec("workbench.history") is not None:
        from workbench import history  # noqa: PLC0415

        def run(existing_only: bool = True) -> tuple[list[int], str]:
            found = history.history(con, defn, dates, resolver=library,
                                    existing_only=existing_only)
            return found.sizes, found.path
        how = "workbench.history.history"
    else:
        def run(existing_only: bool = True) -> tuple[list[int], str]:
            # Stand-in: one count per week with as_of moved back.
            return [evaluator.count(con, defn, as_of=d, resolver=library)
                    for d in sorted(dates)], "stand-in"
        how = "stand-in: 52 x evaluator.count with as_of moved back a week"
    exact, path = run(existing_only=False)
    times = [timed(run)[0] for _ in range(repeat)]
    return {"how": how, "path": path, "times": times, "median": median(times),
            "today_agrees": exact[-1] == size}


def step_pandas(db: Path, repeat: int) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    frames, load_seconds = analyst.load(con)
    con.close()
    out: dict[str, Any] = {"load_seconds": load_seconds,
                           "load_total": sum(load_seconds.values()),
                           "segments": {}}
    for seg in segment_ids():
        fn = analyst.COUNTS[seg]
        count = fn(frames, AS_OF)
        times = [timed(lambda: fn(frames, AS_OF))[0] for _ in range(repeat)]
        load = sum(load_seconds[t] for t in analyst.USES[seg])
        out["segments"][seg] = {"count": count, "times": times,
                                "median": median(times), "load": load}
    out["peak_mb"] = peak_mb()
    return out


def step_import(db: Path, folder: Path) -> dict[str, Any]:
    """Write the contacts to a CSV file and import it into an empty store."""
    csv_path = folder / "contacts.csv"
    con = duckdb.connect(str(db), read_only=True)
    columns = ", ".join(f'"{c}"' for c in CSV_COLUMNS)
    write_seconds, _ = timed(lambda: con.execute(
        f"COPY (SELECT {columns} FROM contacts ORDER BY id) TO '{csv_path}' "
        "(HEADER, DELIMITER ',')"))
    rows = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
    con.close()
    mapping = {"name": "bench-contacts",
               "loads": [{"entity": "contacts", "file": csv_path.name,
                          "fields": {c: c for c in CSV_COLUMNS}}]}
    target = store.connect(folder / "import.duckdb")
    seconds, result = timed(lambda: importers.import_files(target, mapping,
                                                           directory=folder))
    target.close()
    return {"rows": rows, "csv_mb": csv_path.stat().st_size / 2**20,
            "write_csv_seconds": write_seconds, "seconds": seconds,
            "rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected,
            "peak_mb": peak_mb()}


STEPS = {"generate", "engine", "pandas", "import"}


def child(args: argparse.Namespace) -> None:
    db = Path(args.db)
    if args.step == "generate":
        out = step_generate(db, args.contacts[0])
    elif args.step == "engine":
        out = step_engine(db, args.repeat)
    elif args.step == "pandas":
        out = step_pandas(db, args.repeat)
    else:
        out = step_import(db, db.parent)
    Path(args.result).write_text(json.dumps(out, default=str))


# --------------------------------------------------------------------------
# The parent: one scale after another


def run_step(step: str, db: Path, contacts: int, repeat: int) -> dict[str, Any]:
    result = db.parent / f"{step}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", step,
           "--db", str(db), "--result", str(result), "--contacts", str(contacts),
           "--repeat", str(repeat)]
    print(f"  {step} ...", flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(result.read_text())


def run_scale(contacts: int, repeat: int, steps: set[str]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    db = folder / "bench.duckdb"
    try:
        out: dict[str, Any] = {"contacts": contacts}
        for step in ("generate", "engine", "pandas", "import"):
            if step == "generate" or step in steps:
                out[step] = run_step(step, db, contacts, repeat)
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_agreement(scale: dict[str, Any]) -> None:
    """Stop the run when the evaluator, the SQL and pandas count differently."""
    if "engine" not in scale:
        return
    wrong = []
    for seg, r in scale["engine"]["segments"].items():
        counts = dict(r["counts"])
        if "pandas" in scale:
            counts["pandas"] = scale["pandas"]["segments"][seg]["count"]
        if len(set(counts.values())) > 1:
            wrong.append(f"{seg}: {counts}")
    if wrong:
        raise Disagreement(f"COUNTS DISAGREE at {scale['contacts']:,} contacts:\n  "
                           + "\n  ".join(wrong))


def summary(scale: dict[str, Any]) -> dict[str, Any]:
    """Per-segment medians and ratios, as printed and saved."""
    rows = {}
    eng, pan = scale.get("engine"), scale.get("pandas")
    for seg in segment_ids():
        row: dict[str, Any] = {}
        if eng:
            r = eng["segments"][seg]
            row.update(count=r["counts"]["evaluator"], a=r["median"]["evaluator"],
                       b=r["median"]["sql"], compile=r["median"]["compile"])
            row["a/b"] = row["a"] / row["b"]
            row["recount"] = eng["recount"][seg]["median"]
        if pan:
            p = pan["segments"][seg]
            row.update(c=p["median"], load=p["load"])
            if eng:
                row["c/a"] = row["c"] / row["a"]
                row["(c+load)/a"] = (row["c"] + row["load"]) / row["a"]
        rows[seg] = row
    return rows


def print_scale(scale: dict[str, Any], rows: dict[str, Any]) -> None:
    n = scale["contacts"]
    gen = scale["generate"]
    print(f"\n== {n:,} contacts  (generated in {gen['seconds']:.1f} s, "
          f"peak {gen['peak_mb']:.0f} MB, database {gen['db_mb']:.0f} MB)")
    head = (f"{'segment':<22}{'count':>9}{'a eval':>9}{'b sql':>9}{'a/b':>6}"
            f"{'c pandas':>10}{'c/a':>7}{'load':>7}{'(c+l)/a':>9}{'recount':>9}")
    print(head)
    print("-" * len(head))

    def f(row: dict[str, Any], key: str, width: int, fmt: str) -> str:
        return f"{row[key]:>{width}{fmt}}" if key in row else " " * (width - 1) + "-"

    for seg, row in rows.items():
        print(f"{seg:<22}" + f(row, "count", 9, ",") + f(row, "a", 9, ".4f")
              + f(row, "b", 9, ".4f") + f(row, "a/b", 6, ".2f")
              + f(row, "c", 10, ".4f") + f(row, "c/a", 7, ".1f")
              + f(row, "load", 7, ".2f") + f(row, "(c+load)/a", 9, ".0f")
              + f(row, "recount", 9, ".4f"))
    eng = scale.get("engine")
    if eng:
        ov = eng["overlap"]
        flag = "" if ov["sizes_agree"] else "  SIZES DISAGREE"
        print(f"overlap of 5: {ov['median']:.3f} s ({ov['how']}){flag}")
        hist = eng["history"]
        print(f"52-week history ({next(iter(hist.values()))['how']}):")
        for seg, h in hist.items():
            flag = "" if h["today_agrees"] else "  LAST SIZE DISAGREES"
            print(f"  {seg:<22}{h['median']:>8.3f} s  {h['path']}{flag}")
        print(f"engine step peak memory: {eng['peak_mb']:.0f} MB")
    if "pandas" in scale:
        pan = scale["pandas"]
        print(f"pandas: load of all tables {pan['load_total']:.2f} s, "
              f"peak memory {pan['peak_mb']:.0f} MB")
    if "import" in scale:
        imp = scale["import"]
        print(f"import of {imp['rows']:,} contacts from CSV ({imp['csv_mb']:.0f} MB): "
              f"{imp['seconds']:.1f} s, {imp['rows_rejected']} rejected, "
              f"peak {imp['peak_mb']:.0f} MB")


def machine() -> dict[str, Any]:
    import os  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415
    import sqlglot  # noqa: PLC0415

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gb": round(mem, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pd.__version__, "sqlglot": sqlglot.__version__,
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(STEPS - {
        "generate"}), help="steps to leave out")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        child(args)
        return 0

    results: dict[str, Any] = {"machine": machine(), "as_of": AS_OF.isoformat(),
                               "seed": SEED, "repeat": args.repeat, "scales": []}
    steps = STEPS - set(args.skip)
    for contacts in args.contacts:
        print(f"{contacts:,} contacts", flush=True)
        scale = run_scale(contacts, args.repeat, steps)
        check_agreement(scale)
        scale["summary"] = summary(scale)
        print_scale(scale, scale["summary"])
        results["scales"].append(scale)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
