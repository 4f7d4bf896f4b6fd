"""The recipe of each demo table: numpy draws codes and times, DuckDB writes text.

Every table has its own random stream (seeded by the run's seed and the
table's name), so changing one table's recipe leaves the others as they were.
Draws are whole arrays, never a Python loop per row; strings are made by
DuckDB while it inserts from Arrow, by indexing the vocabularies of
``demo_vocab`` (passed as list parameters) with the drawn codes.

Times are int64 seconds relative to midnight at the start of ``as_of``; the
latest allowed moment is ``END``, the last second of that day.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from workbench import demo_vocab as V

logger = logging.getLogger(__name__)

DAY: Final = 86_400
END: Final = DAY - 1
HISTORY_DAYS: Final = 3 * 365

PARAMS: Final[dict[str, object]] = {
    "mfirst": list(V.MALE_FIRST), "ffirst": list(V.FEMALE_FIRST),
    "mlast": list(V.LAST), "flast": list(V.LAST_FEMALE),
    "domains": list(V.EMAIL_DOMAINS), "pcodes": list(V.PHONE_CODES),
    "pformats": list(V.PHONE_FORMATS), "cities": list(V.CITY_NAMES),
    "regions": list(V.CITY_REGIONS), "csources": list(V.CONTACT_SOURCES),
    "ctypes": list(V.CONTACT_TYPES), "tags": list(V.TAGS),
    "depts": [d for d, _ in V.DEPARTMENTS], "industries": list(V.INDUSTRIES),
    "bands": [b for _, b in V.SIZE_BANDS], "forms": list(V.COMPANY_FORMS),
    "roots": list(V.COMPANY_ROOTS), "suffixes": list(V.COMPANY_SUFFIXES),
    "pipelines": list(V.PIPELINES), "stages": list(V.STAGES),
    "dproducts": list(V.DEAL_PRODUCTS), "currencies": list(V.CURRENCIES),
    "pnames": [p[0] for p in V.PRODUCTS], "pcats": [p[1] for p in V.PRODUCTS],
    "ostatuses": list(V.ORDER_STATUSES), "vsources": list(V.VISIT_SOURCES),
    "utm": list(V.UTM_BY_SOURCE), "reasons": list(V.OPT_OUT_REASONS),
    "lstatuses": list(V.LEAD_STATUSES), "lsemantics": list(V.LEAD_SEMANTICS),
    "cfields": list(V.CONTACT_CHANGED_FIELDS),
    "pages": list(V.PAGES) + [
        "/product/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for name, _, _ in V.PRODUCTS
    ],
}
# Where each open stage of a pipeline sits in STAGES, in funnel order.
OPEN_STAGE_CODES: Final = tuple(
    np.array([V.STAGES.index(s) for s in stages]) for stages in V.OPEN_STAGES
)
WON: Final = V.STAGES.index("Won")
LOST: Final = V.STAGES.index("Lost")
MOBILE_CODES: Final = np.array([c for c in V.PHONE_CODES if c >= 900])


# --- drawing helpers ---------------------------------------------------------

def pick(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    """Codes 0..len(weights)-1 drawn with the (normalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int16)


def skewed_counts(rng: np.random.Generator, n: int, mean: float,
                  shape: float) -> np.ndarray:
    """Per-record counts with many zeros and a long tail (negative binomial)."""
    return rng.negative_binomial(shape, shape / (shape + mean), n).astype(np.int64)


def between(rng: np.random.Generator, lo: Any, hi: Any, n: int,
            power: float = 1.0) -> np.ndarray:
    """Times in [lo, hi]; power < 1 leans towards hi (recent), > 1 towards lo."""
    u = rng.random(n) ** power
    return (lo + (np.asarray(hi) - lo) * u).astype(np.int64)


def work_time(rng: np.random.Generator, days_ago: np.ndarray) -> np.ndarray:
    """A moment between 08:00 and 22:00 on each day ``days_ago`` before as_of."""
    return -days_ago * DAY + 8 * 3600 + rng.integers(0, 14 * 3600, len(days_ago))


def ids(n: int) -> np.ndarray:
    """Record ids 1..n."""
    return np.arange(1, n + 1, dtype=np.int64)


def _used(sql: str, params: Mapping[str, object]) -> dict[str, object]:
    """The parameters ``sql`` refers to (DuckDB rejects unused ones)."""
    names = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in names}


# --- SQL that turns codes into text -------------------------------------------

FIRST_SQL: Final = (
    "CASE WHEN s.female THEN $ffirst[s.fname + 1] ELSE $mfirst[s.fname + 1] END"
)
LAST_SQL: Final = (
    "CASE WHEN s.female THEN $flast[s.lname + 1] ELSE $mlast[s.lname + 1] END"
)
NAME_SQL: Final = f"({FIRST_SQL}) || ' ' || ({LAST_SQL})"
_EMAIL_RAW = (
    f"(CASE s.email_style WHEN 0 THEN ({FIRST_SQL}) || '.' || ({LAST_SQL}) "
    f"WHEN 1 THEN left({FIRST_SQL}, 1) || '.' || ({LAST_SQL}) "
    f"ELSE ({LAST_SQL}) || '.' || ({FIRST_SQL}) END "
    "|| CASE WHEN s.email_num > 0 THEN CAST(s.email_num AS VARCHAR) ELSE '' END "
    "|| '@' || $domains[s.email_domain + 1])"
)
# Messy on purpose: 1 keeps capitals, 2 adds spaces, 3 loses the "@".
EMAIL_SQL: Final = (
    f"CASE WHEN s.email_style < 0 THEN NULL WHEN s.email_mess = 1 THEN {_EMAIL_RAW} "
    f"WHEN s.email_mess = 2 THEN ' ' || lower({_EMAIL_RAW}) || ' ' "
    f"WHEN s.email_mess = 3 THEN replace(lower({_EMAIL_RAW}), '@', '.') "
    f"ELSE lower({_EMAIL_RAW}) END"
)
PHONE_SQL: Final = (
    "CASE WHEN s.phone_code < 0 THEN NULL ELSE printf($pformats[s.phone_format + 1], "
    "$pcodes[s.phone_code + 1], s.phone_num // 10000, (s.phone_num // 100) % 100, "
    "s.phone_num % 100) END"
)
# City states: 0 clean, 1 "moscow ", 2 " MOSCOW", 3 "Saint petersburg", 4 "", 5 NULL.
_CITY = "$cities[s.city + 1]"
CITY_SQL: Final = (
    f"CASE s.city_state WHEN 0 THEN {_CITY} WHEN 1 THEN lower({_CITY}) || ' ' "
    f"WHEN 2 THEN ' ' || upper({_CITY}) "
    f"WHEN 3 THEN left({_CITY}, 1) || lower(substr({_CITY}, 2)) WHEN 4 THEN '' END"
)
REGION_SQL: Final = "CASE WHEN s.city_state < 4 THEN $regions[s.city + 1] END"
COMPANY_NAME_SQL: Final = (
    "$forms[s.form + 1] || ' \"' || $roots[s.root + 1] || ' ' "
    "|| $suffixes[s.suffix + 1] || '\"'"
)


def tags_sql(mask: str) -> str:
    """The list of tags whose bits are set in the integer column ``mask``."""
    return f"list_filter($tags, lambda t, i: ({mask} >> (i - 1)) & 1 = 1)"


def person_columns(rng: np.random.Generator, n: int, email_share: float,
                   phone_share: float) -> dict[str, np.ndarray]:
    """Codes of a person's name, e-mail and phone, read by the *_SQL above."""
    has_email = rng.random(n) < email_share
    has_phone = rng.random(n) < phone_share
    mess = rng.random(n)
    mobile = len(MOBILE_CODES)
    code_weights = tuple([0.85 / mobile] * mobile
                         + [0.15 / (len(V.PHONE_CODES) - mobile)]
                         * (len(V.PHONE_CODES) - mobile))
    return {
        "female": rng.random(n) < 0.5,
        "fname": rng.integers(0, len(V.MALE_FIRST), n).astype(np.int16),
        "lname": rng.integers(0, len(V.LAST), n).astype(np.int16),
        "email_style": np.where(has_email, pick(rng, n, (0.6, 0.25, 0.15)), -1),
        "email_num": np.where(rng.random(n) < 0.7, rng.integers(1, 1000, n), 0),
        "email_domain": pick(rng, n, V.EMAIL_DOMAIN_WEIGHTS),
        "email_mess": np.select([mess < 0.04, mess < 0.07, mess < 0.08], [1, 2, 3], 0),
        "phone_code": np.where(has_phone, pick(rng, n, code_weights), -1),
        "phone_num": rng.integers(0, 10_000_000, n),
        "phone_format": pick(rng, n, V.PHONE_FORMAT_WEIGHTS),
    }


def city_columns(rng: np.random.Generator, n: int, messy: float,
                 blank: float) -> dict[str, np.ndarray]:
    """City codes by weight, and how the city was typed (see CITY_SQL)."""
    r = rng.random(n)
    edges = [messy / 3, 2 * messy / 3, messy, messy + blank / 2, messy + blank]
    return {
        "city": pick(rng, n, V.CITY_WEIGHTS),
        "city_state": np.select([r < e for e in edges], [1, 2, 3, 4, 5], 0),
    }


# --- one generation run --------------------------------------------------------

class Demo:
    """One generation run; arrays that later tables draw on are kept here."""

    def __init__(self, con: duckdb.DuckDBPyConnection, contacts: int, seed: int,
                 as_of: date) -> None:
        self.con = con
        self.n = contacts
        self.seed = seed
        self.as_of = as_of
        self.base = np.datetime64(as_of, "s")
        self.state: dict[str, Any] = {}

    def rng(self, part: str) -> np.random.Generator:
        """An independent random stream per table, fixed by the seed."""
        return np.random.default_rng([self.seed, zlib.crc32(part.encode())])

    def stamp(self, t: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """Seconds relative to as_of as naive timestamps (NULL where not valid)."""
        values = self.base + t.astype("timedelta64[s]")
        return pa.array(values, mask=None if valid is None else ~valid)

    def seconds(self, moment: datetime) -> int:
        """``moment`` as seconds relative to as_of."""
        return int((np.datetime64(moment, "s") - self.base) // np.timedelta64(1, "s"))

    def insert(self, table: str, columns: dict[str, Any], select: str) -> None:
        """Insert ``select`` (reading the columns as ``{src} AS s``) into ``table``."""
        started = time.perf_counter()
        self.con.register("demo_src", pa.table(columns))
        try:
            self.execute(f'INSERT INTO "{table}" BY NAME '
                         + select.replace("{src}", "demo_src"))
        finally:
            self.con.unregister("demo_src")
        logger.debug("demo %s: %.2f s", table, time.perf_counter() - started)

    def execute(self, sql: str) -> None:
        """Run ``sql`` with the vocabulary parameters it names."""
        self.con.execute(sql, _used(sql, PARAMS))


def mailing_plan(as_of: date) -> list[tuple[str, str, str, datetime]]:
    """Twelve past mailings (name, channel, subject, sent at), oldest first.

    Seasonal campaigns take the latest season not after ``as_of`` and the one
    a year before, so any as_of from 2026-03-20 to 2028-03-19 has a mailing
    named "Spring sale 2026".
    """
    def latest(month: int, day: int) -> int:
        return as_of.year if date(as_of.year, month, day) <= as_of else as_of.year - 1

    spring, friday, summer = latest(3, 20), latest(11, 27), latest(7, 10)
    plan = [
        (f"Spring sale {spring}", "email", "Spring sale: up to 40% off",
         datetime(spring, 3, 20, 10)),
        (f"Spring sale {spring - 1}", "email", "Spring sale: up to 30% off",
         datetime(spring - 1, 3, 20, 10)),
        (f"Black Friday {friday}", "email", "Black Friday starts now",
         datetime(friday, 11, 27, 9)),
        (f"Black Friday {friday - 1}", "email", "Black Friday starts now",
         datetime(friday - 1, 11, 27, 9)),
        (f"Black Friday {friday} early access", "sms",
         "Early access to Black Friday", datetime(friday, 11, 25, 12)),
        (f"Summer sale {summer}", "sms", "Summer sale this week",
         datetime(summer, 7, 10, 11)),
    ]
    year, month = as_of.year, as_of.month
    if as_of.day < 5:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    for _ in range(6):
        plan.append((f"Newsletter {year}-{month:02d}", "email",
                     f"News and offers, {year}-{month:02d}",
                     datetime(year, month, 5, 10)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(plan, key=lambda m: m[3])
