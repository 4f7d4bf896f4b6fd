"""Field changes: what a newer load of an entity changed in records we had.

When rows are written over records that already exist (same id), every
*tracked* catalog field the load maps is compared with the stored value, and
each difference becomes one ``field_changes`` row
``(entity, record_id, field, old_value, new_value, changed_at)``. That is
what the ``changed_in_last_days`` operator reads, so "changed city in the
last 30 days" works on real exports loaded one after another.

Decisions about meaning:

- Only records present both before and after count: a new record has no
  history and a record missing from a ``replace`` load was removed, not
  changed.
- A field that no earlier load ever filled (every stored value empty) is
  skipped, so adding a column to the export does not make every record look
  changed.
- Empty and filled differ (``NULL`` -> "Москва" is a change, and so is the
  reverse); values are compared as their catalog type, so "1 234,50" and
  "1234.5" are the same amount.
- ``changed_at`` is the record's own modification time when the load
  carries one (Bitrix24's "Modified" column), else the load time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

import duckdb
import pandas as pd

from workbench.catalog import SOURCES

logger = logging.getLogger(__name__)

_STAGE: Final = "_wb_changes_stage"


def record_changes(con: duckdb.DuckDBPyConnection, entity: str,
                   rows: pd.DataFrame, *, loaded_at: datetime,
                   changed_at: pd.Series | None = None) -> int:
    """Insert a ``field_changes`` row per tracked field that ``rows`` change.

    Call it before the rows are written. ``rows`` holds typed values (as the
    importer stages them) with an ``id`` column; ``changed_at`` is aligned
    with ``rows`` (missing values fall back to ``loaded_at``).

    Returns:
        The number of changes recorded.
    """
    source = SOURCES[entity]
    fields = [f for f in source.stored_fields
              if f.tracked and f.name in rows.columns and f.name != "id"]
    if not fields or rows.empty or "id" not in rows.columns:
        return 0

    stamps = _stamps(rows, changed_at, loaded_at)
    staged = pd.DataFrame({f.name: rows[f.name] for f in fields})
    staged["id"] = rows["id"].to_numpy()
    staged["_changed_at"] = stamps.to_numpy()
    before = _count(con)
    con.complete()  # a half-read earlier result blocks register()
    con.register(_STAGE, staged)
    try:
        for fld in fields:
            if _never_filled(con, source.table, fld.name):
                continue
            new = f'CAST(s."{fld.name}" AS {fld.sql_type})'
            con.execute(
                f"""INSERT INTO field_changes
                SELECT $e, t.id, $f, CAST(t."{fld.name}" AS VARCHAR),
                       CAST({new} AS VARCHAR), CAST(s._changed_at AS TIMESTAMP)
                FROM "{source.table}" AS t JOIN {_STAGE} AS s ON s.id = t.id
                WHERE t."{fld.name}" IS DISTINCT FROM {new}""",
                {"e": entity, "f": fld.name},
            )
    finally:
        con.unregister(_STAGE)
    recorded = _count(con) - before
    logger.debug("%s: %d field changes recorded", entity, recorded)
    return recorded


def _stamps(rows: pd.DataFrame, changed_at: pd.Series | None,
            loaded_at: datetime) -> pd.Series:
    """Per row: its own change time, else the record's modified_at, else the load."""
    stamps = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[us]")
    if changed_at is not None:
        stamps = pd.to_datetime(changed_at.reindex(rows.index)).astype(
            "datetime64[us]")
    if "modified_at" in rows.columns:
        own = pd.to_datetime(rows["modified_at"]).astype("datetime64[us]")
        stamps = stamps.fillna(own)
    return stamps.fillna(pd.Timestamp(loaded_at))


def _never_filled(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    rows = con.execute(
        f'SELECT 1 FROM "{table}" WHERE "{column}" IS NOT NULL LIMIT 1').fetchall()
    return not rows


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM field_changes").fetchall()[0][0]


def changes_of(con: duckdb.DuckDBPyConnection, entity: str,
               record_id: int | None = None) -> pd.DataFrame:
    """Recorded changes of an entity (or one record), newest first."""
    sql = "SELECT * FROM field_changes WHERE entity = $e"
    params: dict[str, object] = {"e": entity}
    if record_id is not None:
        sql += " AND record_id = $id"
        params["id"] = record_id
    return con.execute(sql + " ORDER BY changed_at DESC, record_id, field",
                       params).df()
