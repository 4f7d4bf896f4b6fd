"""Exports: mailing lists and ad-audience files, each with a report.

    python -m workbench export SEGMENT.json --db PATH --to mailing|yandex|vk
        --out FILE [--channel email|phone] [--hash sha256] [--as-of DATE]

Every export starts from the same normalised member list as a mailing
(``workbench.mailing``): opt-outs of the channel, invalid and duplicate
addresses are dropped, and the report says how many for each reason. The
platforms' rules (FORMATS.md) decide the file's shape and whether it would be
accepted; a file a platform would reject is refused with the reason, and the
report is written all the same so the user can see why.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import pandas as pd

from workbench import mailing
from workbench.definition import Definition, Resolver
from workbench.errors import WorkbenchError
from workbench.library import atomic_write

logger = logging.getLogger(__name__)

Platform = Literal["mailing", "yandex", "vk"]
PLATFORMS: Final = ("mailing", "yandex", "vk")
PLATFORM_LABELS: Final = {"mailing": "Mailing list", "yandex": "Yandex.Audiences",
                          "vk": "VK Ads"}
HASHES: Final = ("sha256",)
# Rows (unique values) a platform accepts; None = no limit.
LIMITS: Final[dict[str, tuple[int, int | None]]] = {
    "mailing": (1, None), "yandex": (100, None), "vk": (2_000, 5_000_000),
}


class ExportError(WorkbenchError, ValueError):
    """An export was asked for with options that do not fit together."""


class ExportRefused(WorkbenchError, ValueError):
    """The platform would reject the file; ``report`` says what was counted."""

    def __init__(self, reason: str, report: dict[str, Any]) -> None:
        self.reason = reason
        self.report = report
        super().__init__(reason)


@dataclass(frozen=True)
class Export:
    """An export built in memory: the rows to write and the report."""

    segment: str
    platform: Platform
    channel: mailing.Channel
    hash: str | None
    rows: pd.DataFrame  # the file's columns, in order
    report: dict[str, Any]
    members: pd.DataFrame  # every member: id, name, raw, address, reason

    @property
    def refused(self) -> str | None:
        return self.report["refused"]

    def text(self, header: bool = True) -> str:
        """The file's contents as CSV text (UTF-8, ``\\n`` line ends)."""
        return self.rows.to_csv(index=False, header=header, lineterminator="\n")

    def filename(self) -> str:
        suffix = f"-{self.hash}" if self.hash else ""
        return f"{self.segment}-{self.platform}-{self.channel}{suffix}.csv"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(text: pd.Series) -> pd.Series:
    """Free text that a spreadsheet would run as a formula gets a leading ``'``.

    A contact named ``=HYPERLINK(...)`` must reach the mailing tool as text,
    not as a formula when someone opens the CSV in a spreadsheet. Only free
    text is touched: normalised e-mails and phones never start that way.

    >>> defuse_formulas(pd.Series(["=1+1", "Anna"])).tolist()
    ["'=1+1", 'Anna']
    """
    risky = text.astype("string").str.startswith(FORMULA_STARTS).fillna(False)
    return text.where(~risky, "'" + text.astype("string"))


def build_export(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
                 platform: str, channel: str | None = None, hash: str | None = None,
                 resolver: Resolver | None = None) -> Export:
    """Normalise, filter and shape a segment's members for one platform.

    A refusal does not raise here: ``Export.refused`` holds the reason, so a
    page can show the report beside it. ``write_export`` raises it.
    """
    if platform not in PLATFORMS:
        raise ExportError(f"--to must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    chan = mailing.check_channel(channel or "email")
    if hash is not None and hash not in HASHES:
        raise ExportError(f"--hash supports sha256 only, got {hash!r} (Yandex no "
                          "longer accepts MD5)")
    if hash and platform != "yandex":
        raise ExportError(f"{PLATFORM_LABELS[platform]} takes raw values; hashing is "
                          "for Yandex.Audiences only")
    frame = mailing.addresses(con, defn, as_of=as_of, channel=chan, resolver=resolver)
    kept = frame[frame["reason"].isna()]
    rows = _shape(con, kept, platform, chan, hash)
    report = _report(defn, platform, chan, hash, as_of, frame, len(rows))
    return Export(defn.id, platform, chan, hash, rows, report,  # type: ignore[arg-type]
                  frame)


def _shape(con: duckdb.DuckDBPyConnection, kept: pd.DataFrame, platform: str,
           channel: str, hash: str | None) -> pd.DataFrame:
    if platform == "mailing":
        rows = kept[["id", "name", "address"]].rename(
            columns={"address": channel}).reset_index(drop=True)
        rows["name"] = defuse_formulas(rows["name"])
        return rows
    values = kept[["address"]].reset_index(drop=True)
    if hash == "sha256":
        cur = con.cursor()
        cur.register("export_values", values)
        values = cur.execute("SELECT sha256(address) AS address FROM export_values").df()
    column = channel if platform == "yandex" else "id"
    return values.rename(columns={"address": column})


def _report(defn: Definition, platform: str, channel: str, hash: str | None,
            as_of: date, frame: pd.DataFrame, rows_out: int) -> dict[str, Any]:
    low, high = LIMITS[platform]
    label = PLATFORM_LABELS[platform]
    refused = None
    if rows_out < low:
        refused = (f"{label} needs at least {low:,} {_unit(platform, low)}; segment "
                   f'"{defn.id}" gives {rows_out:,} after dropping '
                   f"{len(frame) - rows_out:,} of {len(frame):,} members")
    elif high is not None and rows_out > high:
        refused = (f"{label} accepts at most {high:,} {_unit(platform, high)}; segment "
                   f'"{defn.id}" gives {rows_out:,}: narrow the segment or split it')
    return {"segment": defn.id, "platform": platform, "channel": channel,
            "hash": hash, "as_of": as_of.isoformat(), "rows_in": len(frame),
            "dropped": mailing.dropped_counts(frame), "rows_out": rows_out,
            "minimum": low, "maximum": high, "refused": refused, "file": None}


def _unit(platform: str, n: int) -> str:
    unit = "unique value" if platform == "vk" else "row"
    return unit if n == 1 else unit + "s"


def report_path(out: Path) -> Path:
    """``list.csv`` -> ``list.csv.report.json``, beside the file."""
    return out.with_name(out.name + ".report.json")


def write_export(result: Export, out: str | Path) -> Path:
    """Write the file and its report; a refused export writes only the report.

    Returns the report's path. Raises ``ExportRefused`` after writing the
    report when the platform would reject the file.
    """
    out = Path(out)
    report = dict(result.report)
    if result.refused is None:
        header = not (result.platform == "vk" and out.suffix.lower() == ".txt")
        atomic_write(out, result.text(header=header))
        report["file"] = out.name
    path = report_path(out)
    atomic_write(path, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if result.refused is not None:
        raise ExportRefused(f"{result.refused}; nothing written to {out.name} "
                            f"(report in {path.name})", report)
    return path


# --------------------------------------------------------------------------
# Command line


def register_cli(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export", help="write a mailing list or an ad-audience file with a report",
        description="Export a segment's members as a mailing list, a Yandex.Audiences"
                    " CSV or a VK Ads list; a report is written beside the file.")
    p.add_argument("segment", help="segment definition (JSON file)")
    p.add_argument("--db", required=True, help="workbench database")
    p.add_argument("--to", required=True, choices=PLATFORMS, help="file kind")
    p.add_argument("--out", required=True, help="file to write (.csv; .txt for vk)")
    p.add_argument("--channel", choices=mailing.CHANNELS, default="email")
    p.add_argument("--hash", choices=HASHES, default=None,
                   help="hash normalised values (Yandex.Audiences only)")
    p.add_argument("--as-of", help="reference date YYYY-MM-DD (default: today)")
    p.add_argument("--segments", help="folder of referenced segments "
                                      "(default: the segment file's folder)")
    p.set_defaults(run=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from workbench.cli import _as_of, _load, _open_db  # the shared argument helpers

    defn, resolver = _load(args)
    con = _open_db(args)
    result = build_export(con, defn, as_of=_as_of(args, con), platform=args.to,
                          channel=args.channel, hash=args.hash, resolver=resolver)
    path = write_export(result, args.out)
    report = result.report
    dropped = ", ".join(f"{n} {r}" for r, n in report["dropped"].items() if n)
    print(f"{args.out}: {report['rows_out']} rows from {report['rows_in']} members"
          f"{'; dropped ' + dropped if dropped else ''}; report in {path}")
    return 0
