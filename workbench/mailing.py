"""Mailings: who a segment reaches on a channel, and the mailing history.

Addresses are normalised in DuckDB, in one query over the segment's members,
so a segment of a million contacts never loops in Python:

* e-mail: surrounding white space removed, lower case; valid when it looks
  like ``local@domain.tld``;
* phone: digits only, with the country code; Russian numbers written
  ``8XXXXXXXXXX`` become ``7XXXXXXXXXX`` and ten digits starting with 9 get
  a leading 7; valid with 11 to 15 digits not starting with 0.

A member is dropped for the first of these reasons that applies, in this
order: no address, invalid address, opted out of the channel, duplicate
address (the same normalised address as a member with a smaller id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

import duckdb
import pandas as pd

from workbench import compiler, evaluator
from workbench.compiler import ROOT, Compiled, col
from workbench.definition import Definition, Resolver
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

Channel = Literal["email", "phone"]
CHANNELS: Final = ("email", "phone")
NO_ADDRESS: Final = "no address"
INVALID: Final = "invalid address"
OPTED_OUT: Final = "opted out"
DUPLICATE: Final = "duplicate address"
REASONS: Final = (NO_ADDRESS, INVALID, OPTED_OUT, DUPLICATE)
ADDRESSED_ENTITIES: Final = ("contacts", "leads")

# SQL over a column named ``raw``; constants only, no user text.
_BLANK = r"regexp_replace(coalesce(raw, ''), '^\s+|\s+$', '', 'g')"
_DIGITS = "regexp_replace(coalesce(raw, ''), '[^0-9]', '', 'g')"
NORMALISE_SQL: Final[dict[str, str]] = {
    "email": f"lower({_BLANK})",
    "phone": (f"CASE WHEN length({_DIGITS}) = 11 AND starts_with({_DIGITS}, '8') "
              f"THEN '7' || substr({_DIGITS}, 2) "
              f"WHEN length({_DIGITS}) = 10 AND starts_with({_DIGITS}, '9') "
              f"THEN '7' || {_DIGITS} ELSE {_DIGITS} END"),
}
VALID_SQL: Final[dict[str, str]] = {
    "email": r"regexp_full_match(address, '[^@\s]+@[^@\s]+\.[^@\s]+')",
    "phone": "regexp_full_match(address, '[1-9][0-9]{10,14}')",
}


class MailingError(WorkbenchError, ValueError):
    """A mailing cannot be previewed or recorded as asked."""


def check_channel(channel: str) -> Channel:
    if channel not in CHANNELS:
        raise MailingError(f'channel must be "email" or "phone", got {channel!r}')
    return channel  # type: ignore[return-value]


def normalise(con: duckdb.DuckDBPyConnection, values: list[str | None] | pd.Series,
              channel: str) -> pd.DataFrame:
    """Normalise raw addresses: columns raw, address, valid (for tests and previews)."""
    check_channel(channel)
    frame = pd.DataFrame({"raw": pd.Series(list(values), dtype="object")})
    cur = con.cursor()
    cur.register("raw_addresses", frame)
    return cur.execute(
        f"SELECT raw, address, coalesce({VALID_SQL[channel]}, false) AS valid "
        f"FROM (SELECT raw, {NORMALISE_SQL[channel]} AS address FROM raw_addresses)"
    ).df()


def addresses_sql(members_sql: str, entity: str, channel: Channel) -> str:
    """Every member with its normalised address and the reason it is dropped."""
    opted = ("id IN (SELECT contact_id FROM opt_outs "
             f"WHERE channel = '{channel}')" if entity == "contacts" else "false")
    return f"""
WITH members AS ({members_sql}),
normalised AS (
  SELECT id, name, raw, {NORMALISE_SQL[channel]} AS address,
         {_BLANK} = '' AS blank, {opted} AS opted
  FROM members
),
checked AS (
  SELECT id, name, raw, address,
         CASE WHEN blank THEN '{NO_ADDRESS}'
              WHEN NOT coalesce({VALID_SQL[channel]}, false) THEN '{INVALID}'
              WHEN opted THEN '{OPTED_OUT}' END AS early
  FROM normalised
)
SELECT id, name, raw, CASE WHEN early = '{NO_ADDRESS}' THEN NULL ELSE address END
       AS address,
       coalesce(early, CASE WHEN row_number() OVER (
           PARTITION BY address, early IS NULL ORDER BY id) > 1
         THEN '{DUPLICATE}' END) AS reason
FROM checked
ORDER BY id"""


def addresses(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
              channel: str, resolver: Resolver | None = None) -> pd.DataFrame:
    """Members with columns id, name, raw, address, reason (None when kept)."""
    channel = check_channel(channel)
    if defn.entity not in ADDRESSED_ENTITIES:
        raise MailingError(f'segment "{defn.id}" selects {defn.entity}, which have no '
                           "e-mail or phone of their own; use a segment of contacts")
    compiled = compiler.compile_members(defn, as_of, resolver)
    query = compiled.expression
    query.set("expressions", [col(ROOT, "id"), col(ROOT, "name"),
                              col(ROOT, channel).as_("raw")])
    members_sql = Compiled(query, compiled.params).sql("duckdb")
    cur = con.cursor()
    cur.execute(addresses_sql(members_sql, defn.entity, channel), compiled.params)
    return cur.df()


def dropped_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many members each reason dropped, every reason listed."""
    counts = frame["reason"].value_counts()
    return {reason: int(counts.get(reason, 0)) for reason in REASONS}


@dataclass(frozen=True)
class MailingPreview:
    """Who a mailing of a segment on one channel would reach, and who not and why."""

    segment: str
    channel: Channel
    as_of: date
    members: pd.DataFrame  # id, name, raw, address, reason
    channels: evaluator.ChannelCounts

    @property
    def recipients(self) -> pd.DataFrame:
        return self.members[self.members["reason"].isna()]

    @property
    def dropped(self) -> pd.DataFrame:
        return self.members[self.members["reason"].notna()]

    @property
    def dropped_counts(self) -> dict[str, int]:
        return dropped_counts(self.members)

    def summary(self) -> dict[str, object]:
        return {"segment": self.segment, "channel": self.channel,
                "as_of": self.as_of.isoformat(), "members": len(self.members),
                "recipients": len(self.recipients), "dropped": self.dropped_counts,
                "channels": self.channels.as_dict()}


def preview_mailing(con: duckdb.DuckDBPyConnection, defn: Definition, as_of: date,
                    channel: str, *, resolver: Resolver | None = None) -> MailingPreview:
    """Who would receive a mailing to ``defn`` on ``channel``, and who is dropped."""
    frame = addresses(con, defn, as_of=as_of, channel=channel, resolver=resolver)
    counts = evaluator.channel_counts(con, defn, as_of=as_of, resolver=resolver)
    return MailingPreview(defn.id, check_channel(channel), as_of, frame, counts)


@dataclass(frozen=True)
class RecordedMailing:
    mailing_id: int
    name: str
    channel: Channel
    sent_at: datetime
    recipients: int
    dropped: dict[str, int]


def record_mailing(con: duckdb.DuckDBPyConnection, name: str, channel: str,
                   defn: Definition, as_of: date, sent_at: datetime, *,
                   resolver: Resolver | None = None,
                   subject: str | None = None) -> RecordedMailing:
    """Record a one-time mailing to a segment in the mailing history.

    Inserts one ``mailings`` row and a ``mailing_recipients`` row per
    recipient of the preview (delivery results unknown, so NULL), in one
    transaction. "Received mailing <name>" conditions see it at once.
    """
    name = (name or "").strip()
    if not name:
        raise MailingError("give the mailing a name; conditions find it by name")
    if defn.entity != "contacts":
        raise MailingError(f'segment "{defn.id}" selects {defn.entity}; mailings are '
                           "recorded for contacts")
    cur = con.cursor()
    clash = cur.execute("SELECT sent_at FROM mailings WHERE lower(trim(name)) = "
                        "lower($name)", {"name": name}).fetchone()
    if clash is not None:
        raise MailingError(f'a mailing named "{name}" was already recorded (sent '
                           f"{clash[0]}); choose another name")
    preview = preview_mailing(con, defn, as_of, channel, resolver=resolver)
    recipients = preview.recipients[["id"]].reset_index(drop=True)
    if recipients.empty:
        raise MailingError(f'segment "{defn.id}" has no one reachable by {channel}; '
                           f"dropped: {_said(preview.dropped_counts)}")
    cur.begin()
    try:
        mailing_id = cur.execute(
            "SELECT coalesce(max(id), 0) + 1 FROM mailings").fetchone()[0]
        cur.execute("INSERT INTO mailings (id, name, channel, subject, sent_at) "
                    "VALUES ($id, $name, $channel, $subject, $sent_at)",
                    {"id": mailing_id, "name": name, "channel": channel,
                     "subject": subject, "sent_at": sent_at})
        cur.register("new_recipients", recipients)
        cur.execute("INSERT INTO mailing_recipients (mailing_id, contact_id) "
                    "SELECT $id, id FROM new_recipients", {"id": mailing_id})
        cur.unregister("new_recipients")
        cur.commit()
    except BaseException:
        cur.rollback()
        raise
    logger.debug("recorded mailing %s to %s contacts", mailing_id, len(recipients))
    return RecordedMailing(int(mailing_id), name, preview.channel, sent_at,
                           len(recipients), preview.dropped_counts)


def mailings(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The mailing history: id, name, channel, sent_at, recipients; newest first."""
    return con.cursor().execute(
        "SELECT m.id, m.name, m.channel, m.sent_at, count(r.contact_id) AS recipients "
        "FROM mailings AS m LEFT JOIN mailing_recipients AS r ON r.mailing_id = m.id "
        "GROUP BY ALL ORDER BY m.sent_at DESC, m.id DESC").df()


def _said(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in counts.items() if n) or "none"
