"""Run segments where the CRM data is: a PostgreSQL database or a Spark session.

The compiler's query is rendered for the engine's dialect (``dialects``) and
run there with its values bound as parameters, never written into the text.
The engine must hold the workbench tables under their catalog names and
columns (``store.table_ddl``); ``copy_store`` puts a DuckDB store's tables
there, which is how the tests load the same data into every engine::

    engine = PostgresEngine.connect("host=127.0.0.1 port=5432 dbname=crm")
    member_ids(engine, definition.load("data/segments/vip.json"),
               as_of=date(2026, 6, 30))

Time stamps are compared as the wall-clock times stored in the workspace zone
(DESIGN.md, "calendar days"). Each engine also sets its session time zone to
the workspace zone, so columns stored with a zone (PostgreSQL ``timestamptz``,
Spark ``TIMESTAMP``) fall on the same calendar days.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench import catalog, compiler, dialects, evaluator, store
from workbench.compiler import Compiled
from workbench.definition import Definition, Resolver
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

# DuckDB column types of the store and their Arrow twins, for result frames.
ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "BIGINT": pa.int64(), "VARCHAR": pa.string(), "DOUBLE": pa.float64(),
    "DECIMAL(18,2)": pa.decimal128(18, 2), "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(),
    "VARCHAR[]": pa.list_(pa.string()),
}


class EngineError(WorkbenchError, ValueError):
    """An engine cannot be reached or lacks what the workbench expects."""


class Engine:
    """Somewhere a rendered query runs: one dialect, one session."""

    dialect: str = "duckdb"

    def query(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        """Column names and rows of ``sql`` run with ``params`` bound."""
        raise NotImplementedError

    def create_table(self, name: str, columns: list[tuple[str, str]],
                     data: pa.Table) -> None:
        """Replace table ``name`` by ``data`` (columns in DuckDB types)."""
        raise NotImplementedError

    def set_session_zone(self, zone: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection (a Spark session is left to its owner)."""

    def timezone(self) -> str:
        """The workspace zone from the ``workspace`` table, or the default."""
        try:
            _, rows = self.query(
                "SELECT value FROM workspace WHERE key = 'timezone'", {})
        except Exception:  # no workspace table: the data came from elsewhere
            logger.info("no workspace table in %s; assuming %s", self.dialect,
                        store.DEFAULT_TIMEZONE)
            return store.DEFAULT_TIMEZONE
        return rows[0][0] if rows else store.DEFAULT_TIMEZONE

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone())).date()


# --------------------------------------------------------------------------
# PostgreSQL


class PostgresEngine(Engine):
    """A psycopg 3 connection; autocommit, so a failed query spoils nothing."""

    dialect = "postgres"

    def __init__(self, connection: Any):
        self.connection = connection
        self.connection.autocommit = True
        self.check_case_folding()
        self.set_session_zone(self.timezone())

    @classmethod
    def connect(cls, conninfo: str) -> PostgresEngine:
        """Connect with a libpq string (``host=... dbname=...``) or URI."""
        import psycopg

        try:
            return cls(psycopg.connect(conninfo, autocommit=True))
        except psycopg.Error as err:
            raise EngineError(f"cannot connect to PostgreSQL ({conninfo}): "
                              f"{str(err).strip()}") from None

    def check_case_folding(self) -> None:
        """Refuse a database whose ``lower`` folds ASCII only (C/POSIX ctype).

        Text comparisons must fold every alphabet (DESIGN.md); with a C
        ctype "МОСКВА" would silently not equal "москва".
        """
        _, rows = self.query("SELECT lower('ЁЖИК'), current_setting('lc_ctype')", {})
        folded, ctype = rows[0]
        if folded != "ёжик":
            raise EngineError(
                f"PostgreSQL database has LC_CTYPE {ctype!r}, whose lower() does "
                "not fold Cyrillic; create it with a UTF-8 locale, e.g. "
                "CREATE DATABASE crm LOCALE 'C.UTF-8' TEMPLATE template0")

    def query(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        with self.connection.cursor() as cur:
            cur.execute(sql, params or None)
            names = [d.name for d in cur.description or ()]
            return names, cur.fetchall() if cur.description else []

    def set_session_zone(self, zone: str) -> None:
        with self.connection.cursor() as cur:
            cur.execute("SELECT set_config('TimeZone', %s, false)", (zone,))

    def create_table(self, name: str, columns: list[tuple[str, str]],
                     data: pa.Table) -> None:
        body = ", ".join(f'"{c}" {_type(t, "postgres")}' for c, t in columns)
        names = ", ".join(f'"{c}"' for c, _ in columns)
        with self.connection.transaction(), self.connection.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.execute(f'CREATE TABLE "{name}" ({body})')
            with cur.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
                for row in zip(*(data.column(c).to_pylist() for c, _ in columns)):
                    copy.write_row(row)
        # Fresh tables have no statistics; without them the planner may pick
        # nested loops that take seconds on a few thousand rows.
        with self.connection.cursor() as cur:
            cur.execute(f'ANALYZE "{name}"')

    def close(self) -> None:
        self.connection.close()


# --------------------------------------------------------------------------
# Spark


class SparkEngine(Engine):
    """A Spark session; tables are read from its current database.

    ``database`` switches the session to that database first. Tables copied
    in with ``copy_store`` become temporary views of this session unless a
    database is given, in which case they are saved as tables there.
    """

    dialect = "spark"

    def __init__(self, session: Any, database: str | None = None):
        self.session = session
        self.database = database
        if database:
            session.catalog.setCurrentDatabase(database)
        self.set_session_zone(self.timezone())

    @classmethod
    def start(cls, master: str, *, database: str | None = None,
              memory: str = "1g") -> SparkEngine:
        """Start (or join) a session on ``master`` (``local[2]``, ``spark://...``)."""
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(master)
                   .appName("segment-workbench")
                   .config("spark.driver.memory", memory)
                   .config("spark.ui.showConsoleProgress", "false"))
        if master.startswith("local"):
            builder = (builder.config("spark.driver.host", "127.0.0.1")
                       .config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.ui.enabled", "false")
                       .config("spark.sql.shuffle.partitions", "2"))
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return cls(session, database)

    def query(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        frame = self.session.sql(sql, args=params or None)
        return list(frame.columns), [tuple(r) for r in frame.collect()]

    def set_session_zone(self, zone: str) -> None:
        self.session.conf.set("spark.sql.session.timeZone", zone)

    def create_table(self, name: str, columns: list[tuple[str, str]],
                     data: pa.Table) -> None:
        schema = ", ".join(f"`{c}` {_type(t, 'spark')}" for c, t in columns)
        frame = self.session.createDataFrame(data.select([c for c, _ in columns]),
                                             schema=schema)
        if self.database:
            frame.write.mode("overwrite").saveAsTable(f"`{self.database}`.`{name}`")
        else:
            frame.createOrReplaceTempView(name)


# Tables a query reads: the sources' tables, the tables behind their joins,
# field changes, and the workspace settings (optional: the time zone).
READ_TABLES: Final = ("contacts", "companies", "leads", "deals", "orders",
                      "order_items", "visits", "users", "mailings",
                      "mailing_recipients", "opt_outs", "field_changes", "workspace")


def ddl(dialect: str) -> str:
    """CREATE TABLE statements of the tables queries read, for ``dialect``."""
    tables = store.table_ddl()
    return "\n".join(
        f"CREATE TABLE {name} ("
        + ", ".join(f"{c} {_type(t, dialect)}" for c, t in tables[name]) + ");"
        for name in READ_TABLES)


def _type(duckdb_type: str, dialect: str) -> str:
    """A store column type written for ``dialect`` (Spark: TIMESTAMP_NTZ)."""
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect)


# --------------------------------------------------------------------------
# Running compiled queries


def typed_placeholders(tree: exp.Expression, params: dict[str, Any],
                       dialect: str) -> tuple[exp.Expression, dict[str, Any]]:
    """Give parameters whose type the engine cannot guess an explicit cast.

    Spark reads a Python ``datetime`` as a zoned TIMESTAMP, so it goes in as
    text cast to TIMESTAMP_NTZ: a wall-clock time, as stored. An id list (a
    static snapshot) is cast to an array of BIGINT so that an empty one has
    a type in both engines.
    """
    values = dict(params)
    casts: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, list):
            casts[name] = "ARRAY<BIGINT>" if dialect == "spark" else "BIGINT[]"
        elif isinstance(value, datetime) and dialect == "spark":
            casts[name] = "TIMESTAMP_NTZ"
            values[name] = value.isoformat(sep=" ")
    if not casts:
        return tree, values

    def cast(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in casts:
            to = exp.DataType.build(casts[node.name], dialect=dialect)
            return exp.Cast(this=node.copy(), to=to)
        return node

    return tree.copy().transform(cast), values


def run(engine: Engine, compiled: Compiled, defn: Definition, *, as_of: date,
        resolver: Resolver | None = None) -> tuple[list[str], list[tuple]]:
    """Render ``compiled`` (a query of ``defn``) for the engine and run it."""
    tree, params = typed_placeholders(compiled.expression, compiled.params,
                                      engine.dialect)
    try:
        sql = dialects.to_sql(tree, engine.dialect)
    except dialects.Unsupported as err:
        raise dialects.blame(defn, engine.dialect, str(err), as_of=as_of,
                             resolver=resolver) from None
    started = time.perf_counter()
    result = engine.query(sql, params)
    logger.debug("%s ran in %.3fs: %s", engine.dialect,
                 time.perf_counter() - started, sql)
    return result


def count(engine: Engine, defn: Definition, *, as_of: date,
          resolver: Resolver | None = None) -> int:
    """Number of members of ``defn`` as of ``as_of``, counted by the engine."""
    compiled = compiler.compile_count(defn, as_of, resolver)
    _, rows = run(engine, compiled, defn, as_of=as_of, resolver=resolver)
    return int(rows[0][0])


def member_ids(engine: Engine, defn: Definition, *, as_of: date,
               resolver: Resolver | None = None) -> list[int]:
    """Ids of the members, ascending."""
    query = evaluator.ids_query(defn, as_of, resolver)
    _, rows = run(engine, query, defn, as_of=as_of, resolver=resolver)
    return [int(r[0]) for r in rows]


def members(engine: Engine, defn: Definition, *, as_of: date,
            resolver: Resolver | None = None, limit: int | None = None,
            columns: list[str] | None = None) -> pd.DataFrame:
    """Members with their stored fields, as ``evaluator.members`` gives them.

    The rows pass through DuckDB's own conversion so that the frame (and the
    CSV or JSON written from it) is the same whichever engine found them.
    """
    src = catalog.source(defn.entity)
    query, names = evaluator.members_query(defn, as_of, resolver, limit=limit,
                                           columns=columns)
    _, rows = run(engine, query, defn, as_of=as_of, resolver=resolver)
    types = dict(store.table_ddl()[src.table])
    table = pa.table({n: pa.array([r[i] for r in rows], ARROW_TYPES[types[n]])
                      for i, n in enumerate(names)})
    with duckdb.connect() as con:
        return con.from_arrow(table).df()


def channel_counts(engine: Engine, defn: Definition, *, as_of: date,
                   resolver: Resolver | None = None) -> evaluator.ChannelCounts:
    """Members and their reach per channel, as ``evaluator.channel_counts``."""
    query = evaluator.channels_query(defn, as_of, resolver)
    _, rows = run(engine, query, defn, as_of=as_of, resolver=resolver)
    return evaluator.ChannelCounts.from_row(rows[0])


# --------------------------------------------------------------------------
# Copying a store


def copy_store(con: duckdb.DuckDBPyConnection, engine: Engine,
               tables: list[str] | None = None) -> dict[str, int]:
    """Put the tables of a DuckDB store into ``engine``, replacing them there.

    Returns the number of rows copied per table. The workspace settings
    (time zone) go too, and the engine's session zone follows them.
    """
    copied: dict[str, int] = {}
    for name, columns in store.table_ddl().items():
        if tables is not None and name not in tables and name != "workspace":
            continue
        data = con.sql(f'SELECT * FROM "{name}"').to_arrow_table()
        engine.create_table(name, columns, data)
        copied[name] = data.num_rows
    engine.set_session_zone(engine.timezone())
    return copied
