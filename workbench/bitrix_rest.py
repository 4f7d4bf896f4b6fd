"""Pull CRM records from Bitrix24 through an inbound webhook.

``pull`` reads pipelines (``crm.category.list``) and the names of stages,
statuses, sources and types (``crm.status.list``), then companies, contacts,
deals and leads with ``crm.item.list``, 50 at a time, paging by id as the
documentation advises for full exports: order by ``ID``, filter ``>ID`` =
the last id seen, ``start = -1`` (no count), stop at a short page. Each page
is loaded at once (through ``bitrix.prepare`` and the importer, so values are
typed, broken rows reported and field changes recorded) and the last id of
each entity is remembered in the workspace settings, so an interrupted pull
resumes where it stopped (``resume=True``).

Ids and money arrive as strings, times as ISO 8601 with an offset (converted
to the workspace zone), phones and e-mails as lists of
``{"ID", "VALUE_TYPE", "VALUE", "TYPE_ID"}``. Over the portal's rate limit
the answer is HTTP 503 ``QUERY_LIMIT_EXCEEDED``: the client waits and
retries with a doubling back-off.

The client talks only to the host of the webhook it is given: proxies from
the environment are ignored and redirects are refused.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import duckdb
import pandas as pd

from workbench import store
from workbench.bitrix import prepare
from workbench.catalog import SOURCES
from workbench.errors import WorkbenchError
from workbench.importers import Rejection, load_frame

logger = logging.getLogger(__name__)

ENTITY_TYPES: Final = {"leads": 1, "deals": 2, "contacts": 3, "companies": 4}
PULL_ORDER: Final = ("companies", "contacts", "deals", "leads")
PAGE: Final = 50
_METHOD: Final = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
_KINDS: Final = {"WORK": "work", "MOBILE": "mobile", "HOME": "home",
                 "MAILING": "mailing"}

# Item field code -> bitrix.prepare target, per entity; the dictionary of
# crm.status.list that names a code's values, if any.
_FIELDS: Final[dict[str, tuple[tuple[str, str, str | None], ...]]] = {
    "contacts": (
        ("ID", "id", None), ("NAME", "first_name", None),
        ("SECOND_NAME", "middle_name", None), ("LAST_NAME", "last_name", None),
        ("TYPE_ID", "type", "CONTACT_TYPE"), ("SOURCE_ID", "source", "SOURCE"),
        ("COMPANY_ID", "company_id", None),
        ("ASSIGNED_BY_ID", "assigned_user_id", None),
        ("DATE_CREATE", "created_at", None), ("DATE_MODIFY", "modified_at", None),
        ("BIRTHDATE", "birthday", None), ("ADDRESS_CITY", "city", None),
        ("ADDRESS_PROVINCE", "region", None),
    ),
    "companies": (
        ("ID", "id", None), ("TITLE", "name", None),
        ("INDUSTRY", "industry", "INDUSTRY"), ("EMPLOYEES", "size_band", "EMPLOYEES"),
        ("REVENUE", "revenue", None), ("ADDRESS_CITY", "city", None),
        ("ADDRESS_PROVINCE", "region", None), ("DATE_CREATE", "created_at", None),
        ("DATE_MODIFY", "modified", None),
        ("ASSIGNED_BY_ID", "assigned_user_id", None),
    ),
    "deals": (
        ("ID", "id", None), ("TITLE", "title", None),
        ("CONTACT_ID", "contact_id", None), ("COMPANY_ID", "company_id", None),
        ("CATEGORY_ID", "pipeline", None), ("STAGE_ID", "stage", None),
        ("OPPORTUNITY", "amount", None), ("CURRENCY_ID", "currency", None),
        ("SOURCE_ID", "source", "SOURCE"), ("DATE_CREATE", "created_at", None),
        ("CLOSEDATE", "closed_at", None), ("DATE_MODIFY", "modified", None),
        ("ASSIGNED_BY_ID", "assigned_user_id", None),
    ),
    "leads": (
        ("ID", "id", None), ("TITLE", "lead_title", None),
        ("NAME", "first_name", None), ("SECOND_NAME", "middle_name", None),
        ("LAST_NAME", "last_name", None), ("STATUS_ID", "status", "STATUS"),
        ("OPPORTUNITY", "amount", None), ("COMPANY_TITLE", "company_name", None),
        ("ADDRESS_CITY", "city", None), ("SOURCE_ID", "source", "SOURCE"),
        ("DATE_CREATE", "created_at", None), ("DATE_MODIFY", "modified", None),
        ("CONTACT_ID", "contact_id", None),
        ("ASSIGNED_BY_ID", "assigned_user_id", None),
    ),
}
_REFS: Final = frozenset({"COMPANY_ID", "CONTACT_ID", "ASSIGNED_BY_ID"})
_CAMEL: Final = {"DATE_CREATE": "createdTime", "DATE_MODIFY": "updatedTime"}

Progress = Callable[[str, int, int], None]  # entity, records done, total


class BitrixRestError(WorkbenchError, ValueError):
    """The portal refused a call or could not be reached; the message says which."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise BitrixRestError(
            f"the portal answered {code} with a redirect to another address; "
            "check the webhook URL (it is not followed)")


def check_webhook(url: str) -> str:
    """The webhook's base URL ending in ``/``; BitrixRestError when it is not one.

    >>> check_webhook("https://crm.example.ru/rest/1/abc123")
    'https://crm.example.ru/rest/1/abc123/'
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BitrixRestError(
            f"webhook {url!r} is not an http(s) address such as "
            "https://PORTAL/rest/USER_ID/TOKEN/")
    if not re.fullmatch(r"/rest/\d+/[^/]+/?", parts.path):
        raise BitrixRestError(
            f"webhook path {parts.path!r} is not /rest/USER_ID/TOKEN/; copy the "
            "address from the portal's inbound webhook page")
    if parts.query or parts.fragment:
        raise BitrixRestError("the webhook address must not carry ?query or #fragment")
    return url.strip().rstrip("/") + "/"


class Client:
    """Calls webhook methods with back-off on ``QUERY_LIMIT_EXCEEDED``.

    Args:
        webhook: ``https://PORTAL/rest/USER_ID/TOKEN/``.
        retries: how many times one call is retried after a 503.
        backoff: the first wait in seconds; it doubles on each retry.
        min_interval: the least time between two calls (the portal allows
            about two a second).
        sleep, clock: injectable for tests.
    """

    def __init__(self, webhook: str, *, timeout: float = 30.0, retries: int = 8,
                 backoff: float = 1.0, min_interval: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base = check_webhook(webhook)
        self.host = urlsplit(self.base).netloc
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.min_interval, self.sleep, self.clock = min_interval, sleep, clock
        self.calls = 0
        self.waits: list[float] = []
        self._last = float("-inf")
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoRedirect())

    def call(self, method: str, params: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        """The decoded answer of one method; retries while the portal is over its limit."""
        if not _METHOD.fullmatch(method):
            raise BitrixRestError(f"{method!r} is not a REST method name")
        url = self.base + method
        if urlsplit(url).netloc != self.host:  # cannot happen; kept as a guard
            raise BitrixRestError(f"refusing to call another host for {method}")
        body = json.dumps(params or {}).encode("utf-8")
        for attempt in range(self.retries + 1):
            self._pace()
            status, answer = self._post(url, body)
            if status == 503 and answer.get("error") == "QUERY_LIMIT_EXCEEDED" \
                    and attempt < self.retries:
                wait = self.backoff * 2 ** attempt
                self.waits.append(wait)
                logger.info("%s: over the portal's limit, retrying in %.1fs",
                            method, wait)
                self.sleep(wait)
                continue
            if status >= 400 or "error" in answer:
                raise BitrixRestError(
                    f"{method}: the portal answered {status} "
                    f"{answer.get('error', '')}: "
                    f"{answer.get('error_description', 'no description')}")
            return answer
        raise AssertionError("unreachable")

    def _pace(self) -> None:
        gap = self.clock() - self._last
        if gap < self.min_interval:
            self.sleep(self.min_interval - gap)
        self._last = self.clock()
        self.calls += 1

    def _post(self, url: str, body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise BitrixRestError(f"cannot reach {self.host}: {reason}") from None


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"error": "NOT_JSON", "error_description": raw[:200].decode(
            "utf-8", "replace")}
    return answer if isinstance(answer, dict) else {"result": answer}


# --------------------------------------------------------------------------
# Dictionaries: pipelines and names of stages, statuses, sources, types


@dataclass
class Dictionaries:
    """Display names for codes, as the portal shows them."""

    pipelines: dict[str, str] = field(default_factory=dict)  # category id -> name
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    semantics: dict[str, str] = field(default_factory=dict)  # stage code -> P/S/F

    def name(self, kind: str, code: str) -> str:
        return self.names.get(kind, {}).get(code, code)

    def stage(self, code: str) -> str:
        for kind, names in self.names.items():
            if kind.startswith("DEAL_STAGE") and code in names:
                return names[code]
        return code


def fetch_dictionaries(client: Client) -> Dictionaries:
    """Pipelines of deals and every status list, in two kinds of calls."""
    found = Dictionaries()
    answer = client.call("crm.category.list", {"entityTypeId": 2})
    result = answer.get("result", {})
    categories = result.get("categories", []) if isinstance(result, dict) else result
    for cat in categories or []:
        found.pipelines[str(_get(cat, "ID"))] = str(_get(cat, "NAME") or "")
    for item in _all_pages(client, "crm.status.list", {"order": {"SORT": "ASC"}}):
        kind, code = str(_get(item, "ENTITY_ID")), str(_get(item, "STATUS_ID"))
        found.names.setdefault(kind, {})[code] = str(_get(item, "NAME") or code)
        semantics = _get(item, "SEMANTICS") or (item.get("EXTRA") or {}).get(
            "SEMANTICS")
        if semantics:
            found.semantics[code] = {"process": "P", "success": "S",
                                     "failure": "F"}.get(str(semantics).lower(),
                                                         str(semantics))
    return found


def _all_pages(client: Client, method: str, params: dict[str, Any]
               ) -> Iterator[dict[str, Any]]:
    """Every record of a list method that pages with ``start`` / ``next``."""
    start: int | None = 0
    while start is not None:
        answer = client.call(method, {**params, "start": start})
        result = answer.get("result", [])
        yield from (result if isinstance(result, list) else [])
        nxt = answer.get("next")
        start = int(nxt) if nxt is not None else None


def _get(item: dict[str, Any], code: str) -> Any:
    """A field by its upper-case code or the camelCase name crm.item.list uses."""
    if code in item:
        return item[code]
    camel = _CAMEL.get(code) or re.sub(r"_([a-z])", lambda m: m.group(1).upper(),
                                       code.lower())
    return item.get(camel)


# --------------------------------------------------------------------------
# Records to a frame


def records_frame(entity: str, items: list[dict[str, Any]],
                  dicts: Dictionaries) -> pd.DataFrame:
    """One text column per ``bitrix.prepare`` target, one row per record."""
    rows = []
    for item in items:
        row: dict[str, str] = {}
        for code, target, kind in _FIELDS[entity]:
            value = _text(_get(item, code))
            if kind and value:
                value = dicts.name(kind, value)
            if code in _REFS and value == "0":
                value = ""  # Bitrix24 writes 0 for "no company / contact / user"
            row[target] = value
        if entity == "deals":
            stage = _text(_get(item, "STAGE_ID"))
            row["stage"] = dicts.stage(stage)
            row["stage_group"] = _text(_get(item, "STAGE_SEMANTIC_ID")) or \
                dicts.semantics.get(stage, stage)
            row["pipeline"] = dicts.pipelines.get(row["pipeline"], row["pipeline"])
        if entity == "leads":
            status = _text(_get(item, "STATUS_ID"))
            row["status_group"] = _text(_get(item, "STATUS_SEMANTIC_ID")) or \
                dicts.semantics.get(status, status)
        for channel in ("PHONE", "EMAIL"):
            for kind, values in _multi(_get(item, channel)).items():
                row[f"{channel.lower()}:{kind}"] = ", ".join(values)
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=object)
    return frame.fillna("")


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, (list, dict)):
        return ""
    return str(value).strip()


def _multi(values: Any) -> dict[str, list[str]]:
    """Multi-field values grouped by kind: ``{"mobile": ["+7 ..."]}``."""
    grouped: dict[str, list[str]] = {}
    for entry in values if isinstance(values, list) else []:
        if not isinstance(entry, dict) or not _text(entry.get("VALUE")):
            continue
        kind = _KINDS.get(str(entry.get("VALUE_TYPE", "")).upper(), "other")
        grouped.setdefault(kind, []).append(_text(entry["VALUE"]))
    return grouped


# --------------------------------------------------------------------------
# The pull


@dataclass
class EntityPull:
    """What one entity's pull did."""

    entity: str
    total: int = 0
    rows_in: int = 0
    rows_loaded: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    last_id: int = 0
    pages: int = 0


@dataclass
class PullResult:
    """Every entity pulled, in order, with the dictionaries that named codes."""

    portal: str
    entities: list[EntityPull]
    pipelines: dict[str, str]
    calls: int = 0
    retries: int = 0

    @property
    def rows_loaded(self) -> int:
        return sum(e.rows_loaded for e in self.entities)


def last_id_key(entity: str) -> str:
    return f"bitrix24.last_id.{entity}"


def pull(con: duckdb.DuckDBPyConnection, webhook: str | Client, *,
         entities: tuple[str, ...] = PULL_ORDER, resume: bool = False,
         progress: Progress | None = None,
         loaded_at: datetime | None = None) -> PullResult:
    """Pull entities from the portal into the store, page by page.

    Args:
        con: a store connection.
        webhook: the webhook URL, or a configured ``Client``.
        entities: which to pull, in this order (companies first, so that
            contacts and deals find their company).
        resume: continue after the last id each entity reached, appending;
            otherwise every entity is replaced, starting from the first id.
        progress: called after each page with (entity, done, total).
        loaded_at: the load time for history and field changes.

    Returns:
        PullResult. Raises BitrixRestError when the portal refuses; pages
        already loaded stay loaded and ``resume=True`` continues.
    """
    client = webhook if isinstance(webhook, Client) else Client(webhook)
    unknown = [e for e in entities if e not in ENTITY_TYPES]
    if unknown:
        raise BitrixRestError(f"cannot pull {', '.join(unknown)}; "
                              f"choose from {', '.join(ENTITY_TYPES)}")
    portal = store.get_setting(con, "bitrix24.portal")
    if resume and portal not in (None, client.host):
        raise BitrixRestError(f"the last pull was from {portal}, not {client.host}; "
                              "pull again without resume to replace its data")
    store.set_setting(con, "bitrix24.portal", client.host)

    dicts = fetch_dictionaries(client)
    store.set_setting(con, "bitrix24.pipelines",
                      json.dumps(dicts.pipelines, ensure_ascii=False))
    done = [_pull_entity(con, client, entity, dicts, resume=resume,
                         progress=progress, loaded_at=loaded_at)
            for entity in entities]
    return PullResult(client.host, done, dicts.pipelines, client.calls,
                      len(client.waits))


def _pull_entity(con: duckdb.DuckDBPyConnection, client: Client, entity: str,
                 dicts: Dictionaries, *, resume: bool, progress: Progress | None,
                 loaded_at: datetime | None) -> EntityPull:
    last = int(store.get_setting(con, last_id_key(entity)) or 0) if resume else 0
    type_id = ENTITY_TYPES[entity]
    counted = client.call("crm.item.list", {
        "entityTypeId": type_id, "select": ["ID"], "filter": {">ID": last},
        "order": {"ID": "ASC"}, "start": 0})
    state = EntityPull(entity, total=int(counted.get("total") or 0), last_id=last)
    first = not resume
    file = f"Bitrix24 REST ({client.host})"
    try:
        while True:
            answer = client.call("crm.item.list", {
                "entityTypeId": type_id, "select": ["*", "PHONE", "EMAIL"],
                "filter": {">ID": state.last_id}, "order": {"ID": "ASC"},
                "start": -1})
            items = _items(answer)
            _load_page(con, entity, items, dicts, state, replace=first,
                       file=file, loaded_at=loaded_at)
            first = False
            if progress is not None:
                progress(entity, state.rows_in, max(state.total, state.rows_in))
            if len(items) < PAGE:
                break
    finally:
        if state.pages:
            store.record_load(con, store.LoadRecord(
                entity, file, "replace" if not resume else "append", state.rows_in,
                state.rows_loaded, state.rows_in - state.rows_loaded), at=loaded_at)
    return state


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    result = answer.get("result", [])
    if isinstance(result, dict):
        result = result.get("items", [])
    return [r for r in result if isinstance(r, dict)]


def _load_page(con: duckdb.DuckDBPyConnection, entity: str,
               items: list[dict[str, Any]], dicts: Dictionaries,
               state: EntityPull, *, replace: bool, file: str,
               loaded_at: datetime | None) -> None:
    """Load one page and remember its last id, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        if items:
            frame = records_frame(entity, items, dicts)
            prepared = prepare(con, frame, entity, {c: c for c in frame.columns},
                               file=file, zone=store.timezone(con))
            result = load_frame(con, prepared.load, prepared.frame, file=file,
                                mode="replace" if replace else "append",
                                loaded_at=loaded_at, changed_at=prepared.changed_at,
                                history=False)
            state.rows_loaded += result.rows_loaded
            state.rejections += [Rejection(r.file, r.row + state.rows_in, r.reason)
                                 for r in result.rejections]
            state.rows_in += len(items)
            ids = pd.to_numeric(pd.Series([_text(_get(i, "ID")) for i in items]),
                                errors="coerce").dropna()
            if not ids.empty:
                state.last_id = max(state.last_id, int(ids.max()))
        elif replace:
            con.execute(f'DELETE FROM "{SOURCES[entity].table}"')
            con.execute("DELETE FROM contact_points WHERE entity = $e",
                        {"e": entity})
        store.set_setting(con, last_id_key(entity), str(state.last_id))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    state.pages += 1
