"""Import files into the store's entity tables through a mapping.

``import_files`` reads each file of a mapping (see ``workbench.mapping`` for
the format), turns every mapped column into its catalog field's type with
column-wide pandas operations, resolves string keys to our ids through the
``external_ids`` table, writes the rows that load and reports the ones that
do not, each with its file, 1-based data row (header not counted) and reason.
Nothing is dropped silently.

Modes: ``replace`` (default) empties each target table before its first load
in the run; ``append`` upserts by id: mapped columns of an existing record
are updated, unmapped ones kept, new ids inserted. The key register
(``external_ids``) is never emptied, so a re-import gives every record the
id it had before.

Example::

    con = store.connect("crm.duckdb")
    result = import_files(con, "maven-crm", directory="maven-crm-sales-opportunities")
    print(result.rows_loaded, result.rejections[:3])
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from workbench import changes, store
from workbench.catalog import SOURCES, Field
from workbench.import_writes import (
    register_keys, resolve, write, write_contact_points,
)
from workbench.mapping import (
    FieldSpec, Load, Lookup, Mapping, MappingError, load_mapping,
    shipped_mappings,
)
from workbench.readers import (
    ImportFileError, RowNotes, as_text, convert, exact_decimals,
    is_textual, parse_numbers, read_table, row_notes,
)

__all__ = [
    "ImportFileError", "ImportResult", "LoadResult", "MappingError",
    "Rejection", "ReplaceScope", "import_files", "import_summary", "load_frame",
    "load_mapping", "note_origin", "plan_files", "replace_scope", "shipped_mappings",
    "write_rejects",
]

logger = logging.getLogger(__name__)

Mode = Literal["replace", "append"]
# Money is DECIMAL(18,2), read from text as exact decimals; 10^15 and more is
# refused as a likely mistake, and leaves room for sums.
MONEY_LIMIT: Final = Decimal(10) ** 15
_CENT: Final = Decimal("0.01")
_ORIGIN_IMPORTS_KEPT: Final = 3  # imports named in the origin setting


@dataclass(frozen=True)
class Rejection:
    """A data row that was not loaded, and why."""

    file: str
    row: int  # 1-based data row; the header is not counted
    reason: str


@dataclass(frozen=True)
class LoadResult:
    """What one file did to one entity table."""

    entity: str
    file: str
    mode: str
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    records: int  # distinct ids written; rows sharing an id count once
    rejections: tuple[Rejection, ...] = ()
    seconds: float = 0.0
    lines_in: int | None = None  # data lines of a text file, when known
    lines_note: str = ""  # why lines_in differs from rows_in, when it does


@dataclass(frozen=True)
class ImportResult:
    """Every load of one import run, in mapping order."""

    mapping: str
    mode: str
    loads: tuple[LoadResult, ...]

    @property
    def rows_in(self) -> int:
        return sum(r.rows_in for r in self.loads)

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.loads)

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.loads)

    @property
    def rejections(self) -> tuple[Rejection, ...]:
        return tuple(x for r in self.loads for x in r.rejections)

    def to_dict(self, max_rejections: int = 20) -> dict[str, Any]:
        """A JSON-ready summary with the first rejections of each load."""
        loads = []
        for r in self.loads:
            item = asdict(r)
            item["rejections"] = [asdict(x) for x in r.rejections[:max_rejections]]
            item["seconds"] = round(r.seconds, 3)
            loads.append(item)
        return {"mapping": self.mapping, "mode": self.mode,
                "rows_in": self.rows_in, "rows_loaded": self.rows_loaded,
                "rows_rejected": self.rows_rejected, "loads": loads}


# --------------------------------------------------------------------------
# What a load replaces, and what the workspace says it holds


@dataclass(frozen=True)
class ReplaceScope:
    """What a ``replace`` load of one entity empties, and what refers to it."""

    entity: str
    rows: int  # rows of the entity's table now
    contact_points: int  # its phones and e-mails, emptied with it
    referring: tuple[tuple[str, str, int], ...] = ()  # (table, column, rows)

    def confirmation(self) -> str:
        """The sentence a user ticks to allow the replace.

        >>> ReplaceScope("contacts", 5000, 0).confirmation()
        'Empty contacts (5,000 rows) before loading'
        """
        points = f" and their {self.contact_points:,} phones and e-mails" \
            if self.contact_points else ""
        rows = f"{self.rows:,} row{'' if self.rows == 1 else 's'}"
        return f"Empty {self.entity} ({rows}){points} before loading"

    def consequences(self) -> str:
        """Which tables keep pointing at the emptied records, or ""."""
        if not self.referring:
            return ""
        parts = [f"{n:,} {table} (by {column})" for table, column, n in self.referring]
        return (", ".join(parts) + f" refer to {self.entity} by id; those whose "
                f"{self.entity} record is not in the file will point at nothing")


def replace_scope(con: duckdb.DuckDBPyConnection, entity: str) -> ReplaceScope:
    """Count what ``replace`` would empty for ``entity`` and what refers to it."""
    table = SOURCES[entity].table
    rows = store.scalar(con, f'SELECT count(*) FROM "{table}"')
    points = store.scalar(con, "SELECT count(*) FROM contact_points WHERE "
                          "entity = $e", {"e": entity})
    columns = {t: {c for c, _ in cols} for t, cols in store.table_ddl().items()}
    links: dict[tuple[str, str], None] = {}
    for src in SOURCES.values():
        for rel in src.relations:
            if src.name == entity and rel.cardinality == "many" and rel.key == "id":
                links[(rel.target, rel.target_key)] = None
            elif rel.target == table and rel.cardinality == "one" \
                    and rel.target_key == "id" and src.table != table:
                links[(src.table, rel.key)] = None
    referring = []
    for other, column in links:
        if column not in columns.get(other, ()):
            continue  # reached through a join, not stored
        n = store.scalar(con, f'SELECT count(*) FROM "{other}" WHERE "{column}" '
                         "IS NOT NULL")
        if n:
            referring.append((other, column, int(n)))
    return ReplaceScope(entity, int(rows), int(points), tuple(referring))


def note_origin(con: duckdb.DuckDBPyConnection, what: str) -> str:
    """Add an import to the workspace's ``origin`` setting, which Home shows.

    The first entry (the demo, or the first import) stays; only the latest
    few imports after it are kept, so the line stays readable.

    Returns the new setting.
    """
    old = store.get_setting(con, "origin") or ""
    parts = [p for p in old.split("; then ") if p] if old else []
    base, later = (parts[0], parts[1:]) if parts else ("", [])
    later = [p for p in later if p != "…"]
    if base:
        later.append(what)
    else:
        base = what
    if len(later) > _ORIGIN_IMPORTS_KEPT:
        later = ["…", *later[-_ORIGIN_IMPORTS_KEPT:]]
    origin = "; then ".join([base, *later])
    store.set_setting(con, "origin", origin)
    return origin


def import_summary(files: Sequence[str], rows: int, mode: str,
                   on: datetime, entity: str | None = None) -> str:
    """How an import reads in the ``origin`` setting.

    >>> import_summary(["contacts.csv"], 2, "replace", datetime(2026, 12, 4))
    'imported contacts.csv (2 rows, replace) on 2026-12-04'
    """
    into = f" into {entity}" if entity else ""
    return (f"imported {', '.join(files)}{into} ({rows:,} rows, {mode}) "
            f"on {on.date().isoformat()}")


# --------------------------------------------------------------------------
# Running a mapping


def plan_files(mapping: Mapping, files: Sequence[str | Path] | None = None,
               directory: str | Path | None = None) -> list[tuple[Load, Path]]:
    """Pair the mapping's loads with files, in load order.

    Without ``files`` every load reads its own file name inside ``directory``
    (default: the working directory). With ``files``, only the loads whose
    file name matches a given file's name run; a one-load mapping takes any
    single file.
    """
    base = Path(directory) if directory is not None else Path(".")
    if not files:
        return [(load, base / load.file) for load in mapping.loads]

    plan: list[tuple[int, Load, Path]] = []
    for given in files:
        path = Path(given)
        if directory is not None and not path.is_absolute() and not path.exists():
            path = base / path
        matches = [(i, ld) for i, ld in enumerate(mapping.loads)
                   if ld.file == path.name]
        if not matches and len(mapping.loads) == 1:
            matches = [(0, mapping.loads[0])]
        if not matches:
            names = ", ".join(dict.fromkeys(ld.file for ld in mapping.loads))
            raise ImportFileError(f"{path.name}: mapping {mapping.name!r} has no "
                                  f"load for this file; it reads {names}")
        plan += [(i, ld, path) for i, ld in matches]
    return [(ld, path) for _, ld, path in sorted(plan, key=lambda x: x[0])]


def import_files(con: duckdb.DuckDBPyConnection,
                 mapping: Mapping | str | Path | dict[str, Any],
                 files: Sequence[str | Path] | None = None, *,
                 directory: str | Path | None = None,
                 mode: Mode = "replace") -> ImportResult:
    """Run a mapping's loads in order inside one transaction.

    Args:
        con: a store connection (``store.connect``).
        mapping: a Mapping, a mapping file, a shipped mapping's short name or
            a decoded JSON dict.
        files: which files to load (see ``plan_files``); default all.
        directory: where the mapping's file names are looked up.
        mode: ``replace`` or ``append``.

    Returns:
        ImportResult with per-file counts and rejections. Raises
        ImportFileError / MappingError (both ValueError) for a missing file,
        a missing column or a bad mapping; nothing is written then.
    """
    if mode not in ("replace", "append"):
        raise MappingError(f"mode {mode!r} is not 'replace' or 'append'")
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    plan = plan_files(mapping, files, directory)
    for _, path in plan:
        if not path.is_file():
            raise ImportFileError(f"{path.name}: file not found in {path.parent}")

    results: list[LoadResult] = []
    emptied: set[str] = set()
    lookups: dict[Path, pd.DataFrame] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for load, path in plan:
            frame = read_table(path, sheet=load.sheet, records=load.records)
            first = mode == "replace" and load.entity not in emptied
            emptied.add(load.entity)
            results.append(load_frame(
                con, load, frame, file=path.name, mode=mode, empty_first=first,
                directory=path.parent, lookup_cache=lookups,
            ))
        files_read = list(dict.fromkeys(r.file for r in results))
        note_origin(con, import_summary(files_read, sum(r.rows_loaded for r in results),
                                        mode, _now(con)))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ImportResult(mapping.name, mode, tuple(results))


def load_frame(con: duckdb.DuckDBPyConnection, load: Load, frame: pd.DataFrame,
               *, file: str, mode: Mode = "replace", empty_first: bool | None = None,
               directory: str | Path | None = None,
               lookup_cache: dict[Path, pd.DataFrame] | None = None,
               loaded_at: datetime | None = None,
               changed_at: pd.Series | None = None,
               track_changes: bool = True, history: bool = True) -> LoadResult:
    """Type, check and write one frame (a file's rows) into ``load.entity``.

    ``empty_first`` defaults to ``mode == "replace"``. Lookup files are read
    from ``directory``. Records the load in the history table unless
    ``history`` is false (a caller loading one pull page by page records it
    once itself).

    With ``track_changes``, tracked fields of records that already exist are
    compared with the new rows first and differences go to ``field_changes``
    (see ``workbench.changes``), dated by ``changed_at`` (aligned with
    ``frame``: an export's Modified column), else the record's
    ``modified_at``, else ``loaded_at`` (default: now in the workspace zone).
    """
    started = time.perf_counter()
    source = SOURCES[load.entity]
    notes = row_notes(frame)
    whole_file = notes is not None and notes.records == len(frame)
    broken, spans = _notes_by_position(notes, frame.index)
    frame = frame.reset_index(drop=True)
    _check_columns(load, frame, file)
    ctx = _Context(con, load, frame, file, Path(directory or "."),
                   lookup_cache if lookup_cache is not None else {})
    ctx.mark_broken(broken, spans)

    values: dict[str, pd.Series] = {}
    keys: pd.Series | None = None
    for spec in load.fields:
        raw = ctx.raw(spec)
        if spec.field == "id" and spec.external:
            keys = raw.str.strip()
            ctx.fail(keys == "", "id: empty key" + _cols(spec))
            continue
        if spec.ref:
            values[spec.field] = ctx.reference(spec, raw)
            continue
        values[spec.field] = ctx.typed(spec, source.field(spec.field), raw)
    for spec in load.fields:
        if spec.only_if is not None:
            keep = values[spec.only_if.field].isin(spec.only_if.values)
            values[spec.field] = values[spec.field].where(keep)

    bad = ctx.bad_mask()
    rejections = ctx.rejections()
    accepted = pd.DataFrame(values)[~bad]
    if keys is not None:
        accepted["id"] = register_keys(con, load, keys[~bad], frame[~bad])
    accepted = accepted.drop_duplicates("id", keep="last")

    table = source.table
    if empty_first is None:
        empty_first = mode == "replace"
    if empty_first and store.holds_demo(con):
        store.clear_demo(con)  # real data replaces the whole demo, not one table
    if track_changes and not accepted.empty:
        stamps = None if changed_at is None else \
            changed_at.reset_index(drop=True).reindex(accepted.index)
        changes.record_changes(con, load.entity, accepted,
                               loaded_at=loaded_at or _now(con),
                               changed_at=stamps)
    write(con, table, source.stored_fields, accepted, empty_first)
    write_contact_points(con, load, frame.loc[accepted.index], accepted["id"],
                          empty_first)

    result = LoadResult(
        entity=load.entity, file=file, mode=mode, rows_in=len(frame),
        rows_loaded=int((~bad).sum()), rows_rejected=int(bad.sum()),
        records=len(accepted), rejections=rejections,
        seconds=time.perf_counter() - started,
        lines_in=notes.lines if whole_file and notes else None,
        lines_note=notes.describe() if whole_file and notes else "",
    )
    if history:
        store.record_load(con, store.LoadRecord(
            result.entity, file, mode, result.rows_in, result.rows_loaded,
            result.rows_rejected), at=loaded_at)
    if result.rows_rejected:
        first = rejections[0]
        logger.warning("%s: %d of %d rows rejected into %s (first: row %d: %s)",
                       file, result.rows_rejected, result.rows_in, table,
                       first.row, first.reason)
    logger.debug("%s: %d rows into %s in %.2fs", file, result.rows_loaded, table,
                 result.seconds)
    return result


def _notes_by_position(notes: RowNotes | None, index: pd.Index
                       ) -> tuple[dict[int, str], dict[int, tuple[int, int]]]:
    """The reader's notes keyed by row position in a frame that may be a slice."""
    if notes is None or not (notes.broken or notes.spans):
        return {}, {}
    where = {label: i for i, label in enumerate(index)}
    broken = {where[k]: v for k, v in notes.broken.items() if k in where}
    spans = {where[k]: v for k, v in notes.spans.items() if k in where}
    return broken, spans


def _now(con: duckdb.DuckDBPyConnection) -> datetime:
    """The wall clock as a naive time in the workspace zone, as stored times are."""
    return datetime.now(ZoneInfo(store.timezone(con))).replace(tzinfo=None)


def _check_columns(load: Load, frame: pd.DataFrame, file: str) -> None:
    present = set(frame.columns)
    for column, optional in load.source_columns:
        if column not in present and not optional:
            shown = ", ".join(map(str, list(frame.columns)[:20]))
            raise ImportFileError(
                f"{file}: column {column!r} named by the {load.entity} mapping is "
                f"not in the file; its columns are: {shown}"
            )


def _cols(spec: FieldSpec) -> str:
    return f" (column {', '.join(spec.columns)})" if spec.columns else ""


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


class _Context:
    """Per-load state: the frame, collected failures and cached lookup files."""

    def __init__(self, con: duckdb.DuckDBPyConnection, load: Load,
                 frame: pd.DataFrame, file: str, directory: Path,
                 cache: dict[Path, pd.DataFrame]) -> None:
        self.con, self.load, self.frame, self.file = con, load, frame, file
        self.directory, self.cache = directory, cache
        self.failures: list[tuple[np.ndarray, pd.Series]] = []
        self.workspace_zone = store.timezone(con)
        self.broken = np.zeros(len(frame), dtype=bool)
        self.spans: dict[int, tuple[int, int]] = {}

    def mark_broken(self, broken: dict[int, str],
                    spans: dict[int, tuple[int, int]]) -> None:
        """Reject records the reader could not split into the header's fields.

        Their cells are empty, so their only reason is the reader's; records
        running over several lines get that said in any rejection.
        """
        self.spans = spans
        if not broken:
            return
        mask = np.zeros(len(self.frame), dtype=bool)
        mask[list(broken)] = True
        self.fail(mask, pd.Series(broken).reindex(range(len(mask))))
        self.broken = mask

    def fail(self, mask: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        """Remember rows failing one check, with a reason per row."""
        mask = np.asarray(mask, dtype=bool) & ~self.broken
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        if isinstance(reason, str):
            texts = pd.Series([reason] * len(idx), index=idx)
        else:
            texts = pd.Series(np.asarray(reason, dtype=object)[idx], index=idx)
        self.failures.append((mask, texts))

    def bad_mask(self) -> np.ndarray:
        bad = np.zeros(len(self.frame), dtype=bool)
        for mask, _ in self.failures:
            bad |= mask
        return bad

    def rejections(self) -> tuple[Rejection, ...]:
        if not self.failures:
            return ()
        texts = pd.concat([t for _, t in self.failures])
        joined = texts.groupby(level=0, sort=True).agg("; ".join)
        return tuple(Rejection(self.file, int(i) + 1, self.with_span(int(i), r))
                     for i, r in joined.items())

    def with_span(self, row: int, reason: str) -> str:
        """A reason prefixed with the lines the record spans, if several."""
        if row not in self.spans or self.broken[row]:
            return reason  # the reader's reason names the lines already
        first, last = self.spans[row]
        return (f"this record runs over lines {first}-{last} of the file: if no "
                f"value in it holds a line break, a quote opened in it is closed "
                f"only on line {last} — check the quotes; {reason}")

    # -- raw text of a field ------------------------------------------------

    def column(self, name: str) -> pd.Series:
        if name not in self.frame.columns:
            return pd.Series("", index=self.frame.index, dtype=object)
        return as_text(self.frame[name])

    def raw(self, spec: FieldSpec) -> pd.Series:
        """The field's source text after combining, lookups and value maps."""
        if spec.has_constant:
            const = "" if spec.constant is None else str(spec.constant)
            if isinstance(spec.constant, bool):
                const = "true" if spec.constant else "false"
            return pd.Series(const, index=self.frame.index, dtype=object)
        if len(spec.columns) == 1 and not (spec.lookup or spec.values
                                           or spec.strip_prefix):
            col = spec.columns[0]
            if col in self.frame.columns and not is_textual(self.frame[col]):
                return self.frame[col]  # typed Parquet column, kept as is
        raw = _combine([self.column(c).str.strip() for c in spec.columns],
                       spec.combine, spec.sep)
        for step in spec.lookup:
            raw = self.lookup(step, raw, spec)
        if spec.strip_prefix:
            raw = raw.str.removeprefix(spec.strip_prefix)
        if spec.values or spec.default is not None:
            mapped = raw.map(spec.values)
            fallback = raw if spec.default is None else \
                raw.where(raw == "", spec.default)
            raw = mapped.fillna(fallback).astype(object)
        return raw

    def lookup(self, step: Lookup, raw: pd.Series, spec: FieldSpec) -> pd.Series:
        table = self.lookup_table(step, spec)
        key = as_text(table[step.key]).str.strip()
        if step.found is not None or step.missing is not None:
            hit = raw.isin(set(key))
            found = raw if step.found is None else step.found
            return pd.Series(np.where(hit, found, step.missing or ""),
                             index=raw.index, dtype=object)
        if step.aggregate == "count":
            table_values = key.value_counts().astype(str)
        elif step.aggregate == "first":
            table_values = pd.Series(as_text(table[step.value]).values,
                                     index=key.values)
            table_values = table_values[~table_values.index.duplicated()]
        else:
            numbers, _ = parse_numbers(as_text(table[step.value]))
            agg = numbers.groupby(key.values).agg(step.aggregate)
            table_values = agg.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        mapped = raw.map(table_values)
        return mapped.fillna(raw if step.keep_unmatched else "").astype(object)

    def lookup_table(self, step: Lookup, spec: FieldSpec) -> pd.DataFrame:
        path = self.directory / step.file
        if path not in self.cache:
            self.cache[path] = read_table(path)
        table = self.cache[path]
        for col in (step.key, step.value):
            if col is not None and col not in table.columns:
                raise ImportFileError(
                    f"{step.file}: column {col!r} named by the lookup of "
                    f"{self.load.entity}.{spec.field} is not in the file")
        return table

    # -- typing and references ------------------------------------------------

    def typed(self, spec: FieldSpec, fld: Field, raw: pd.Series) -> pd.Series:
        """Parse ``raw`` as the field's type; failing rows are remembered."""
        formats = spec.formats or self.load.date_formats
        values, bad = convert(raw, fld.type, formats=formats,
                              source_zone=self.load.timezone,
                              workspace_zone=self.workspace_zone)
        if bad.any():
            shown = pd.Series(raw, dtype=object).map(_show)
            self.fail(bad, f"{fld.name}: cannot read " + shown +
                      f" as {fld.type}{_cols(spec)}")
        if spec.scale is not None and fld.type in ("number", "money"):
            values = values * spec.scale
        before = values.notna()
        values = self.in_range(fld, values, raw, bad, spec)
        bad = bad | np.asarray(before & values.isna(), dtype=bool)
        if spec.required:
            self.fail(values.isna() & ~bad, f"{fld.name}: empty{_cols(spec)}")
        if fld.values:
            outside = values.notna() & ~values.isin(fld.values)
            if outside.any():
                shown = values.map(_show)
                self.fail(outside, f"{fld.name}: " + shown + " is not one of "
                          + ", ".join(fld.values) + _cols(spec))
        return values

    def in_range(self, fld: Field, values: pd.Series, raw: pd.Series,
                 bad: np.ndarray, spec: FieldSpec) -> pd.Series:
        """Values the column type can store; the rest fail and become missing.

        Numbers must be finite (after ``scale``), money below 10^15 in
        magnitude (DECIMAL(18,2), exact cents) and ids 1 or more.
        """
        if fld.type == "money":
            return self.exact_money(fld, values, raw, bad, spec)
        if fld.type == "number":
            size = np.abs(pd.to_numeric(values, errors="coerce").astype(float)
                          .fillna(0.0).to_numpy())
            infinite = ~np.isfinite(size) & ~bad
            self.fail(infinite, f"{fld.name}: " + self.shown(raw) +
                      f" is not a finite number{_cols(spec)}")
            return values.where(~infinite) if infinite.any() else values
        if fld.type == "id":
            low = np.asarray(values.notna() & (values < 1), dtype=bool)
            self.fail(low, f"{fld.name}: " + self.shown(raw) +
                      f" is not an id; ids are whole numbers from 1{_cols(spec)}")
            return values.where(~low) if low.any() else values
        return values

    def exact_money(self, fld: Field, values: pd.Series, raw: pd.Series,
                    bad: np.ndarray, spec: FieldSpec) -> pd.Series:
        """Money as exact cents (``Decimal``), refusing 10^15 and more."""
        factor = Decimal(repr(float(spec.scale))) if spec.scale is not None else 1
        exact = [v * factor if ok and isinstance(v, Decimal) else None
                 for v, ok in zip(exact_decimals(raw), values.notna())]
        large = np.array([v is not None and abs(v) >= MONEY_LIMIT for v in exact],
                         dtype=bool) & ~bad
        self.fail(large, f"{fld.name}: " + self.shown(raw) +
                  f" is too large; money must be below 10^15{_cols(spec)}")
        cents = [None if v is None or too_large else
                 v.quantize(_CENT, rounding=ROUND_HALF_UP)
                 for v, too_large in zip(exact, large)]
        return pd.Series(cents, index=values.index, dtype=object)

    @staticmethod
    def shown(raw: pd.Series) -> pd.Series:
        return pd.Series(raw, dtype=object).map(_show)

    def reference(self, spec: FieldSpec, raw: pd.Series) -> pd.Series:
        """Resolve another entity's external keys to its ids."""
        keys = as_text(raw).str.strip()
        ids = resolve(self.con, str(spec.ref), keys)
        missing = (keys != "") & ids.isna()
        if spec.must_resolve and missing.any():
            self.fail(missing, f"{spec.field}: " + keys.map(_show) +
                      f" is not a known {spec.ref} key{_cols(spec)}")
        elif missing.any():
            logger.info("%s: %d %s keys of %s resolve to nothing; left empty",
                        self.file, int(missing.sum()), spec.ref, spec.field)
        if spec.required:
            self.fail(keys == "", f"{spec.field}: empty{_cols(spec)}")
        return ids


def _combine(parts: list[pd.Series], how: str, sep: str) -> pd.Series:
    result = parts[0].astype(object)
    for part in parts[1:]:
        if how == "first":
            result = result.where(result != "", part)
        else:
            joined = result + sep + part
            result = joined.where((result != "") & (part != ""),
                                  result.where(result != "", part))
    return result.astype(object)


def write_rejects(rejections: Sequence[Rejection], path: str | Path) -> int:
    """Write rejections (file, row, reason) to a UTF-8 CSV; return the count."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "row", "reason"])
        writer.writerows((r.file, r.row, r.reason) for r in rejections)
    return len(rejections)
