"""Writing an import: the key register, reference lookups, upserts.

String keys from source systems get stable numeric ids through the
``external_ids`` table; rows are written with one INSERT or MERGE-like
statement per table from a registered frame, never row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from workbench.catalog import SOURCES, Field
from workbench.mapping import Load
from workbench.readers import as_text, clean_text

STAGE: Final = "_wb_import_stage"


@contextmanager
def stage_frame(con: duckdb.DuckDBPyConnection,
                frame: pd.DataFrame) -> Iterator[str]:
    """Expose ``frame`` to SQL as a view for the duration of a block."""
    con.complete()  # a half-read earlier result blocks register()
    con.register(STAGE, frame)
    try:
        yield STAGE
    finally:
        con.unregister(STAGE)


def register_keys(con: duckdb.DuckDBPyConnection, load: Load, keys: pd.Series,
                  frame: pd.DataFrame) -> pd.Series:
    """Our ids for external keys, new keys numbered in first-seen order.

    Numbering continues after the highest id the entity has, in its table or
    in the key register. Aliases name the same record; an alias already
    registered keeps the id it had.
    """
    entity, table = load.entity, SOURCES[load.entity].table
    distinct = pd.DataFrame({"k": pd.unique(keys.to_numpy())})
    distinct["ord"] = np.arange(len(distinct))
    with stage_frame(con, distinct) as stage:
        con.execute(
            f"""INSERT INTO external_ids
            SELECT $e, s.k, base.b + row_number() OVER (ORDER BY s.ord)
            FROM {stage} AS s
            CROSS JOIN (SELECT greatest(
                coalesce((SELECT max(id) FROM external_ids WHERE entity = $e), 0),
                coalesce((SELECT max(id) FROM "{table}"), 0)) AS b) AS base
            WHERE s.k NOT IN (SELECT external_id FROM external_ids
                              WHERE entity = $e)""",
            {"e": entity},
        )
    ids = resolve(con, entity, keys)

    spec = load.spec("id")
    for alias in spec.aliases if spec else ():
        pairs = pd.DataFrame({"k": as_text(frame[alias]).str.strip(), "id": ids})
        pairs = pairs[pairs["k"] != ""].drop_duplicates("k")
        with stage_frame(con, pairs) as stage:
            con.execute(
                f"""INSERT INTO external_ids SELECT $e, s.k, s.id FROM {stage} s
                WHERE s.k NOT IN (SELECT external_id FROM external_ids
                                  WHERE entity = $e)""",
                {"e": entity},
            )
    return ids


def resolve(con: duckdb.DuckDBPyConnection, entity: str,
             keys: pd.Series) -> pd.Series:
    """Ids of ``entity`` for external keys; missing where unknown or blank."""
    distinct = pd.DataFrame({"k": pd.unique(keys[keys != ""].to_numpy())})
    if distinct.empty:
        return pd.Series(pd.NA, index=keys.index, dtype="Int64")
    with stage_frame(con, distinct) as stage:
        found = con.execute(
            f"""SELECT e.external_id, e.id FROM external_ids AS e
            JOIN {stage} AS s ON s.k = e.external_id WHERE e.entity = $e""",
            {"e": entity},
        ).df()
    lookup = pd.Series(found["id"].to_numpy(), index=found["external_id"].to_numpy())
    return keys.map(lookup).astype("Int64")


def write(con: duckdb.DuckDBPyConnection, table: str, fields: tuple[Field, ...],
           rows: pd.DataFrame, empty_first: bool) -> None:
    """Insert, or upsert by id: mapped columns updated, others kept."""
    if empty_first:
        con.execute(f'DELETE FROM "{table}"')
    mapped = [f for f in fields if f.name in rows.columns]
    staged = pd.DataFrame({f.name: rows[f.name] for f in mapped})
    cols = ", ".join(f'"{f.name}"' for f in mapped)
    select = ", ".join(f'CAST(s."{f.name}" AS {f.sql_type})' for f in mapped)
    with stage_frame(con, staged) as stage:
        new_only = ""
        if not empty_first:
            sets = ", ".join(f'"{f.name}" = CAST(s."{f.name}" AS {f.sql_type})'
                             for f in mapped if f.name != "id")
            if sets:
                con.execute(f'UPDATE "{table}" AS t SET {sets} FROM {stage} AS s '
                            "WHERE t.id = s.id")
            new_only = (f'WHERE s.id NOT IN (SELECT id FROM "{table}" '
                        "WHERE id IS NOT NULL)")
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {select} '
                    f"FROM {stage} AS s {new_only}")


def write_contact_points(con: duckdb.DuckDBPyConnection, load: Load,
                          frame: pd.DataFrame, ids: pd.Series,
                          empty_first: bool) -> None:
    """Every phone and e-mail of the loaded records, one row each.

    A cell may hold several values separated by ``", "`` (Bitrix24 style).
    """
    if not load.contact_points:
        return
    parts = []
    for point in load.contact_points:
        cells = clean_text(frame[point.column]) if point.column in frame.columns \
            else pd.Series(None, index=frame.index, dtype=object)
        split = cells
        if cells.str.contains(", ", regex=False).any():
            split = cells.str.split(", ").explode().str.strip()
        part = pd.DataFrame({"record_id": ids.reindex(split.index).to_numpy(),
                             "value": split.to_numpy()})
        part["channel"], part["kind"] = point.channel, point.kind
        parts.append(part[part["value"].notna() & (part["value"] != "")])
    points = pd.concat(parts, ignore_index=True).drop_duplicates(
        ["record_id", "channel", "value"])
    points["entity"] = load.entity
    staged = points[["entity", "record_id", "channel", "kind", "value"]]
    with stage_frame(con, staged) as stage:
        if empty_first:
            con.execute("DELETE FROM contact_points WHERE entity = $e",
                        {"e": load.entity})
        else:
            con.execute(f"DELETE FROM contact_points WHERE entity = $e AND "
                        f"record_id IN (SELECT DISTINCT record_id FROM {stage})",
                        {"e": load.entity})
        con.execute(f"INSERT INTO contact_points SELECT entity, "
                    f"CAST(record_id AS BIGINT), channel, kind, value FROM {stage}")
