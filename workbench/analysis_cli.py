"""Analysis commands: overlap, size history and forecast.

    python -m workbench overlap  A.json B.json ... --db PATH [--as-of D] [--json]
    python -m workbench history  SEGMENT.json --db PATH --from D --to D
                                 [--every day|week|month] [--all-records] [--json]
    python -m workbench forecast SEGMENT.json --db PATH --periods N
                                 [--from D] [--to D] [--every ...] [--model linear|holt]

They call the same functions as the Overlap and Sizes pages, so a number
printed here is the number the page shows.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from workbench import definition, forecast, history, overlap
from workbench.cli import UsageError, _as_of, _open_db
from workbench.definition import DirectoryResolver


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} expects a date YYYY-MM-DD, got {text!r}") from None


def _resolver(args: argparse.Namespace, first: str) -> DirectoryResolver:
    return DirectoryResolver(args.segments or Path(first).parent)


def _print_frame(frame: pd.DataFrame, as_json: bool) -> None:
    if as_json:
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(frame.to_string(index=False))


def cmd_overlap(args: argparse.Namespace) -> int:
    defns = [definition.load(p) for p in args.segment]
    con = _open_db(args)
    as_of = _as_of(args, con)
    result = overlap.overlap(con, defns, as_of=as_of,
                             resolver=_resolver(args, args.segment[0]))
    if args.json:
        out = {"as_of": as_of.isoformat(), "entity": result.entity,
               "segments": list(result.segments), "sizes": result.sizes,
               "outside": result.outside, "total": result.total,
               "regions": [{"segments": [result.segments[i]
                                         for i in result.members_of(m)],
                            "mask": m, "count": n}
                           for m, n in sorted(result.regions.items())],
               "pairwise": result.pairwise().to_dict(orient="records")}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"overlap of {len(defns)} {result.entity} segments as of {as_of}")
    for seg, size in zip(result.segments, result.sizes):
        print(f"  {seg}: {size:,}")
    print(f"  in none of them: {result.outside:,} of {result.total:,}")
    print("regions (largest first):")
    bars = result.intersections()
    for row in bars.itertuples():
        print(f"  {row.count:>10,}  {row.region}")
    print("shared / Jaccard:")
    print(result.matrix("shared").to_string())
    print(result.matrix("jaccard").round(3).to_string())
    return 0


def _history(args: argparse.Namespace):
    defn = definition.load(args.segment)
    con = _open_db(args)
    end = _day(args.to, "--to") if args.to else _as_of(args, con)
    start = _day(args.start, "--from") if args.start else end - timedelta(days=364)
    dates = history.date_series(start, end, args.every)
    resolver = _resolver(args, args.segment)
    h = history.history(con, defn, dates, resolver=resolver,
                        existing_only=not args.all_records)
    return defn, con, resolver, h


def cmd_history(args: argparse.Namespace) -> int:
    defn, _, _, h = _history(args)
    frame = h.frame().assign(date=lambda f: f["date"].dt.date)
    if args.json:
        print(json.dumps({"segment": defn.id, "path": h.path, "reason": h.reason,
                          "existing_only": h.existing_only,
                          "seconds": round(h.seconds, 3),
                          "history": [
                              {"date": d.isoformat(), "size": n, "entered": e,
                               "left": gone}
                              for d, n, e, gone in zip(h.dates, h.sizes, h.entered,
                                                       h.left)]},
                         ensure_ascii=False))
        return 0
    why = f" ({h.reason})" if h.reason else ""
    print(f"{defn.id}: {len(h.dates)} dates by the {h.path} path{why}, "
          f"{h.seconds:.2f}s", file=sys.stderr)
    _print_frame(frame, False)
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    defn, con, resolver, h = _history(args)
    result = forecast.forecast(con, defn, h, args.periods, every=args.every,
                               resolver=resolver, model=args.model, level=args.level)
    frame = result.frame().assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d"))
    test = result.backtest
    if args.json:
        out = {"segment": defn.id, "model": result.fit.description,
               "forecast": json.loads(frame.to_json(orient="records",
                                                    date_format="iso")),
               "backtest": None if test is None else {
                   "holdout": test.holdout, "mae": test.mae, "mape": test.mape,
                   "covered": test.covered}}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{defn.id}: {result.fit.description}; history of {len(h.dates)} points "
          f"({h.path} path)")
    _print_frame(frame.round(1), False)
    print("known = size if no new record or event arrives (from today's data)")
    if test is not None:
        mape = "n/a" if test.mape is None else f"{test.mape:.1f}%"
        print(f"backtest on the last {test.holdout} points: MAE {test.mae:.1f}, "
              f"MAPE {mape}, {test.covered} of {test.holdout} inside the interval")
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("overlap", help="exact overlap of 2-8 segments")
    p.add_argument("segment", nargs="+", help="segment definitions (JSON files)")
    p.add_argument("--db", required=True, help="workbench database file")
    p.add_argument("--as-of", help="evaluate as of this day (default: today)")
    p.add_argument("--segments", help="folder of referenced segments")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(run=cmd_overlap)

    for name, help_, fn in (("history", "size at each date of a range", cmd_history),
                            ("forecast", "forecast the size with an interval",
                             cmd_forecast)):
        p = sub.add_parser(name, help=help_)
        p.add_argument("segment", help="segment definition (JSON file)")
        p.add_argument("--db", required=True, help="workbench database file")
        p.add_argument("--from", dest="start", help="first day (default: a year "
                       "before --to)")
        p.add_argument("--to", help="last day (default: today)")
        p.add_argument("--as-of", help=argparse.SUPPRESS)
        p.add_argument("--every", choices=("day", "week", "month"), default="week")
        p.add_argument("--all-records", action="store_true",
                       help="also count records created after each date "
                       "(equals `count --as-of` at every date)")
        p.add_argument("--segments", help="folder of referenced segments")
        p.add_argument("--json", action="store_true", help="one JSON object")
        p.set_defaults(run=fn)
    p.add_argument("--periods", type=int, required=True, help="steps to forecast")
    p.add_argument("--model", choices=tuple(forecast.MODELS), default="linear")
    p.add_argument("--level", type=float, default=0.9,
                   help="coverage of the prediction interval (default 0.9)")
