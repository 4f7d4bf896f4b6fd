"""Demo data: a deterministic, realistic CRM for trying segments on.

``generate`` fills every entity table from three numbers (how many contacts,
a seed, the reference date), so the same command always gives the same
database and the example segments always find someone. The recipe of each
table is in ``demo_tables``, its vocabularies in ``demo_vocab``.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb

from workbench import demo_activity, demo_crm, store
from workbench.demo_tables import Demo
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

DEMO_TIMEZONE: Final = "Europe/Moscow"
DEFAULT_CONTACTS: Final = 5000
DEFAULT_SEED: Final = 42
# Bookkeeping tables keep their rows; every other table is replaced.
KEPT_TABLES: Final = ("workspace", "loads")


class DemoError(WorkbenchError, ValueError):
    """The demo data cannot be generated as asked."""


def generate(con: duckdb.DuckDBPyConnection, *, contacts: int, seed: int,
             as_of: date) -> dict[str, int]:
    """Replace every entity table with the demo data set for these arguments.

    Parameters
    ----------
    con : an open workbench database (``store.connect``).
    contacts : number of contacts; the other tables scale with it.
    seed : the same (contacts, seed, as_of) always gives identical tables.
    as_of : the reference day; history reaches three years back from it.

    Returns
    -------
    Row counts of the filled tables.

    Every table but the workspace settings and the load history is emptied
    first, external ids included (they would name other records). The run is
    one transaction; afterwards the workspace zone is Europe/Moscow, its
    ``origin`` names the arguments, and each filled table has a load record.
    """
    if contacts < 1:
        raise DemoError(f"the demo needs at least 1 contact, got {contacts}")
    started = time.perf_counter()
    tables = [t for t in store.table_ddl() if t not in KEPT_TABLES]

    con.begin()
    try:
        for table in tables:
            con.execute(f'DELETE FROM "{table}"')
        _fill(Demo(con, contacts, seed, as_of))
        counts = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in tables
        }
        origin = f"demo: {contacts} contacts, seed {seed}, as of {as_of.isoformat()}"
        store.set_timezone(con, DEMO_TIMEZONE)
        store.set_setting(con, "origin", origin)
        store.set_setting(con, "demo_data", "yes")
        for table, rows in counts.items():
            if rows:
                store.record_load(con, store.LoadRecord(
                    table, "demo", "demo", rows, rows, 0))
        con.commit()
    except BaseException:
        con.rollback()
        raise

    logger.debug("demo data generated in %.1f s: %s",
                 time.perf_counter() - started, counts)
    return {t: n for t, n in counts.items() if n}


def _fill(demo: Demo) -> None:
    """Fill every table, in the order their dependencies need."""
    demo_crm.users(demo)
    demo_crm.products(demo)
    demo_crm.companies(demo)
    demo_crm.contacts(demo)
    demo_crm.deals(demo)
    demo_activity.orders(demo)
    demo_activity.visits(demo)
    demo_activity.opt_outs(demo)
    demo_activity.mailings(demo)
    demo_activity.leads(demo)
    demo_crm.field_changes(demo)
    demo_crm.contact_points(demo)


def ensure_demo(path: str | Path) -> bool:
    """Create the default demo database at ``path`` unless it has contacts.

    Returns True when it generated the data (5,000 contacts, seed 42, as of
    today in Moscow), False when the database already had contacts.
    """
    con = store.connect(path)
    try:
        if con.execute("SELECT count(*) FROM contacts").fetchone()[0] > 0:
            return False
        store.set_timezone(con, DEMO_TIMEZONE)
        generate(con, contacts=DEFAULT_CONTACTS, seed=DEFAULT_SEED,
                 as_of=store.today(con))
        return True
    finally:
        con.close()


def register_cli(subparsers: Any) -> None:
    """Add the ``demo`` command to the command line."""
    parser = subparsers.add_parser(
        "demo", help="fill a database with generated demo CRM data",
        description="Replace the data in a database with a deterministic demo "
                    "CRM: contacts, companies, deals, orders, visits, mailings.",
    )
    parser.add_argument("--db", required=True, type=Path, metavar="PATH",
                        help="database file (created when missing)")
    parser.add_argument("--contacts", type=int, default=DEFAULT_CONTACTS,
                        metavar="N", help="number of contacts (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S",
                        help="random seed (default %(default)s)")
    parser.add_argument("--as-of", type=_parse_day, default=None, metavar="YYYY-MM-DD",
                        help="reference day (default: today in the workspace zone)")
    parser.set_defaults(run=_run_cli)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _run_cli(args: argparse.Namespace) -> int:
    if args.contacts < 1:
        raise DemoError(f"--contacts must be at least 1, got {args.contacts}")
    started = time.perf_counter()
    con = store.connect(args.db)
    try:
        con.execute("SET enable_progress_bar = false")
        as_of = args.as_of or store.today(con)
        counts = generate(con, contacts=args.contacts, seed=args.seed, as_of=as_of)
        origin = store.get_setting(con, "origin")
    finally:
        con.close()
    print(f"{origin} -> {args.db} in {time.perf_counter() - started:.1f} s")
    width = max(map(len, counts))
    for table, rows in counts.items():
        print(f"  {table:<{width}} {rows:>12,}")
    return 0
