"""Analysis commands: overlap, size history and forecast.

    python -m workbench overlap  A.json B.json ... --db PATH [--as-of D] [--json]
    python -m workbench history  SEGMENT.json --db PATH --from D --to D
                                 [--every day|week|month] [--all-records] [--json]
    python -m workbench forecast SEGMENT.json --db PATH --periods N
                                 [--from D] [--to D] [--every ...]
                                 [--model auto|linear|holt|damped|drift]

They call the same functions as the Overlap and Sizes pages, so a number
printed here is the number the page shows. ``history`` starts at ``--from``
and steps forward; ``forecast`` (like the Sizes page) ends its history at
``--to`` and steps back, so the forecast starts from that day.
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
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} expects a date YYYY-MM-DD, got {text!r}") from None
    return _in_range(day, flag)


def _in_range(day: date, flag: str) -> date:
    try:
        return history.check_day(day, flag)
    except history.HistoryError as err:
        raise UsageError(str(err)) from None


def _periods(text: str) -> int:
    """argparse type of --periods: a whole number from 1 to MAX_PERIODS."""
    try:
        return forecast.check_periods(int(text))
    except (ValueError, forecast.ForecastError):
        raise argparse.ArgumentTypeError(
            f"a whole number of steps from 1 to {forecast.MAX_PERIODS}, "
            f"got {text!r}") from None


def _resolver(args: argparse.Namespace, first: str) -> DirectoryResolver:
    return DirectoryResolver(args.segments or Path(first).parent)


def _print_frame(frame: pd.DataFrame, as_json: bool) -> None:
    if as_json:
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(frame.to_string(index=False, na_rep="-"))


def cmd_overlap(args: argparse.Namespace) -> int:
    defns = [definition.load(p) for p in args.segment]
    con = _open_db(args)
    as_of = _in_range(_as_of(args, con), "--as-of")
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


def _history(args: argparse.Namespace, anchor: str = "start"):
    defn = definition.load(args.segment)
    con = _open_db(args)
    end = _day(args.to, "--to") if args.to else _in_range(_as_of(args, con),
                                                             "--as-of")
    start = _day(args.start, "--from") if args.start else end - timedelta(days=364)
    dates = history.date_series(start, end, args.every, anchor=anchor)
    resolver = _resolver(args, args.segment)
    h = history.history(con, defn, dates, resolver=resolver,
                        existing_only=not args.all_records)
    return defn, con, resolver, h


def cmd_history(args: argparse.Namespace) -> int:
    defn, _, _, h = _history(args)
    frame = h.frame().assign(date=lambda f: f["date"].dt.date).astype(
        {"entered": "Int64", "left": "Int64"})
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
    defn, con, resolver, h = _history(args, anchor="end")
    result = forecast.forecast(con, defn, h, args.periods, every=args.every,
                               resolver=resolver, model=args.model, level=args.level)
    frame = result.frame().assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d"))
    test, choice = result.backtest, result.choice
    if args.json:
        out = {"segment": defn.id, "model": result.fit.model,
               "description": result.fit.description,
               "chosen_because": choice.reason if choice else None,
               "candidates": [] if choice is None else json.loads(
                   choice.candidates.to_json(orient="records")),
               "level": result.fit.level, "widened": result.fit.widened,
               "cap": result.fit.cap,
               "forecast": json.loads(frame.to_json(orient="records",
                                                    date_format="iso")),
               "backtest": None if test is None else {
                   "holdout": test.holdout, "mae": test.mae, "mape": test.mape,
                   "covered": test.covered, "covered_widened": test.covered_widened}}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{defn.id}: {result.fit.description}; history of {len(h.dates)} points "
          f"({h.path} path), {h.dates[0]} to {h.dates[-1]}")
    if choice is not None and args.model == "auto":
        print(f"model: {result.fit.model}, chosen for the {choice.reason}")
    _print_frame(frame.round(0).astype({c: "Int64" for c in (
        "mean", "lower", "upper", "known", "known_entered", "known_left")}), False)
    print("known = size if no new record or event arrives (from today's data); "
          f"clamped to 0..{result.fit.cap:,.0f} {defn.entity}")
    if test is not None:
        mape = "n/a" if test.mape is None else f"{test.mape:.1f}%"
        print(f"backtest on the last {test.holdout} points: MAE {test.mae:.1f}, "
              f"MAPE {mape}, {test.coverage()}")
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
        p.add_argument("--from", dest="start", help=(
            "first day (default: a year before --to); history starts here"
            if name == "history" else "earliest day of the history (default: a "
            "year before --to); the history ends at --to and steps back from it"))
        p.add_argument("--to", help="last day (default: today)")
        p.add_argument("--as-of", help=argparse.SUPPRESS)
        p.add_argument("--every", choices=("day", "week", "month"), default="week")
        p.add_argument("--all-records", action="store_true",
                       help="also count records created after each date "
                       "(equals `count --as-of` at every date)")
        p.add_argument("--segments", help="folder of referenced segments")
        p.add_argument("--json", action="store_true", help="one JSON object")
        p.set_defaults(run=fn)
    p.add_argument("--periods", type=_periods, required=True,
                   help=f"steps to forecast, 1 to {forecast.MAX_PERIODS}")
    p.add_argument("--model", choices=tuple(forecast.MODELS), default="auto",
                   help="auto (default): the candidate with the lowest backtest "
                   "error; or linear, holt, damped, drift")
    p.add_argument("--level", type=float, default=0.9,
                   help="coverage of the prediction interval (default 0.9)")
