"""The CRM store: one DuckDB database holding every entity table.

Date-times are stored as naive TIMESTAMPs in the workspace time zone, so a
calendar day is ``CAST(ts AS DATE)`` in every SQL dialect and no time-zone
extension is needed at query time. Importers convert values that carry an
offset into the workspace zone before they are stored.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from workbench.catalog import EXTRA_TABLES, SOURCES
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE: Final = "Europe/Moscow"
DEFAULT_DB: Final = Path(__file__).resolve().parent.parent / "data" / "workbench.duckdb"


class StoreError(WorkbenchError, ValueError):
    """The database or a setting in it cannot be used as asked."""


def default_db_path() -> Path:
    """Where the app's database lives: ``$WORKBENCH_DB`` or ``data/workbench.duckdb``."""
    env = os.environ.get("WORKBENCH_DB")
    return Path(env) if env else DEFAULT_DB


def connect(path: str | Path = ":memory:", *, read_only: bool = False,
            timezone: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (and, if new, create) a workbench database.

    The schema is created when missing; ``timezone`` is stored only when the
    database has none yet, so reopening never changes a workspace's zone.
    """
    if str(path) != ":memory:":
        check_database_file(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        create_schema(con)
        if get_setting(con, "timezone") is None:
            set_timezone(con, timezone or DEFAULT_TIMEZONE)
    return con


def check_database_file(path: Path) -> None:
    """Refuse a file that exists but is not a DuckDB database.

    DuckDB would otherwise open some files (a CSV, say) as a database held
    only in memory, and everything loaded into it would vanish at exit.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[8:12] != b"DUCK":
        raise StoreError(f"{path} is not a workbench database (a DuckDB file); "
                         "give a new file name to create one")


def table_ddl() -> dict[str, list[tuple[str, str]]]:
    """Every stored table with its columns and SQL types, from the catalog."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for src in SOURCES.values():
        tables[src.table] = [(f.name, f.sql_type) for f in src.stored_fields]
    for table in EXTRA_TABLES:
        tables[table.name] = list(table.columns)
    return tables


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that does not exist yet."""
    for name, cols in table_ddl().items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({body})')


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    """The single value of a query, read to the end.

    ``fetchall`` rather than ``fetchone``: DuckDB keeps a half-read result
    open on the connection, and a later ``register`` then fails.
    """
    return con.execute(sql, params or {}).fetchall()[0][0]


def get_setting(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM workspace WHERE key = $k", {"k": key}).fetchall()
    return rows[0][0] if rows else None


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("DELETE FROM workspace WHERE key = $k", {"k": key})
    con.execute("INSERT INTO workspace VALUES ($k, $v)", {"k": key, "v": value})


def set_timezone(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Store the workspace time zone after checking it is a real IANA zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise StoreError(
            f"time zone {name!r} is not an IANA zone name such as 'Europe/Moscow'"
        ) from None
    set_setting(con, "timezone", name)


def timezone(con: duckdb.DuckDBPyConnection) -> str:
    return get_setting(con, "timezone") or DEFAULT_TIMEZONE


def today(con: duckdb.DuckDBPyConnection, now: datetime | None = None):
    """The current calendar day in the workspace time zone.

    ``now`` is for callers that have their own clock; the app and the command
    line pass nothing and get the wall clock, the core never calls this.
    """
    zone = ZoneInfo(timezone(con))
    moment = now.astimezone(zone) if now is not None else datetime.now(zone)
    return moment.date()


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every stored table, in catalog order."""
    return {
        name: scalar(con, f'SELECT count(*) FROM "{name}"')
        for name in table_ddl()
        if name not in ("workspace",)
    }


@dataclass(frozen=True)
class LoadRecord:
    entity: str
    file: str
    mode: str
    rows_in: int
    rows_loaded: int
    rows_rejected: int


def record_load(con: duckdb.DuckDBPyConnection, load: LoadRecord,
                at: datetime | None = None) -> None:
    """Append one line to the load history."""
    next_id = scalar(con, "SELECT coalesce(max(id), 0) + 1 FROM loads")
    con.execute(
        "INSERT INTO loads VALUES ($id, $at, $entity, $file, $mode, $rin, $rok, $rbad)",
        {"id": next_id, "at": at or datetime.now(), "entity": load.entity,
         "file": load.file, "mode": load.mode, "rin": load.rows_in,
         "rok": load.rows_loaded, "rbad": load.rows_rejected},
    )


def holds_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the entity tables still hold generated demo data."""
    return get_setting(con, "demo_data") == "yes"


def clear_demo(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the demo data before the first real data is loaded in its place.

    Real records would otherwise take over demo deals, orders, opt-outs and
    mailings through ids they happen to share with demo contacts. The load
    history and the settings stay; ``origin`` says the demo was removed.
    """
    for table in table_ddl():
        if table not in ("workspace", "loads", "external_ids"):
            con.execute(f'DELETE FROM "{table}"')
    set_setting(con, "demo_data", "no")
    set_setting(con, "origin", "demo data removed")
    logger.info("demo data removed before loading real data")


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Row counts and the time of the last load: what a snapshot was made on."""
    last = scalar(con, "SELECT max(loaded_at) FROM loads")
    return {
        "tables": table_counts(con),
        "last_load": None if last is None else last.isoformat(sep=" "),
    }
