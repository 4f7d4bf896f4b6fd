"""Demo CRM records: users, products, companies, contacts, deals, field history.

Each function fills one table of a ``Demo`` run and leaves in ``demo.state``
the arrays later tables need (a contact's creation time, owner, company...).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from workbench import demo_vocab as V
from workbench.demo_tables import (
    CITY_SQL, COMPANY_NAME_SQL, DAY, EMAIL_SQL, END, HISTORY_DAYS, LOST,
    MOBILE_CODES, NAME_SQL, OPEN_STAGE_CODES, PHONE_SQL, REGION_SQL, WON, Demo,
    between, city_columns, ids, person_columns, pick, skewed_counts, tags_sql,
    work_time,
)

MARKETING = [d for d, _ in V.DEPARTMENTS].index("Marketing")
CORPORATE = [d for d, _ in V.DEPARTMENTS].index("Corporate sales")
KEY_ACCOUNTS = [d for d, _ in V.DEPARTMENTS].index("Key accounts")


def users(demo: Demo) -> None:
    """About forty users in five departments; all but Marketing own clients."""
    rng = demo.rng("users")
    dept = np.repeat(np.arange(len(V.DEPARTMENTS)), [k for _, k in V.DEPARTMENTS])
    people = person_columns(rng, len(dept), 0.0, 0.0)
    demo.state["owners"] = np.flatnonzero(dept != MARKETING) + 1
    demo.state["corporate"] = np.flatnonzero(dept == CORPORATE) + 1
    demo.state["b2b_owners"] = np.flatnonzero(
        (dept == CORPORATE) | (dept == KEY_ACCOUNTS)) + 1

    demo.insert("users", {"id": ids(len(dept)), "dept": dept, **people},
                f"SELECT s.id, {NAME_SQL} AS name, $depts[s.dept + 1] AS department "
                "FROM {src} AS s")


def products(demo: Demo) -> None:
    """The shop's catalogue: a fixed list of products with list prices."""
    demo.state["price"] = np.array([p[2] for p in V.PRODUCTS], dtype=np.int64)
    demo.insert("products",
                {"id": ids(len(V.PRODUCTS)), "code": np.arange(len(V.PRODUCTS)),
                 "price": demo.state["price"]},
                "SELECT s.id, $pnames[s.code + 1] AS name, "
                "$pcats[s.code + 1] AS category, CAST(s.price AS DECIMAL(18,2)) AS price FROM {src} AS s")


def companies(demo: Demo) -> None:
    """One company per ten contacts, skewed in size and revenue."""
    rng = demo.rng("companies")
    m = max(1, demo.n // 10)
    employees = np.clip(np.round(rng.lognormal(np.log(25), 1.6, m)), 1, 200_000)
    revenue = np.round(employees * rng.lognormal(np.log(2.5e6), 0.7, m), -3)
    created = work_time(rng, np.floor(HISTORY_DAYS * rng.random(m)).astype(np.int64))
    demo.state["companies"] = m

    columns = {
        "id": ids(m),
        "form": pick(rng, m, (0.8, 0.15, 0.05)),
        "root": rng.integers(0, len(V.COMPANY_ROOTS), m),
        "suffix": rng.integers(0, len(V.COMPANY_SUFFIXES), m),
        "industry": pick(rng, m, V.INDUSTRY_WEIGHTS),
        "employees": employees,
        "band": np.searchsorted([b for b, _ in V.SIZE_BANDS[:-1]], employees),
        "revenue": revenue,
        "city": pick(rng, m, V.CITY_WEIGHTS),
        "city_state": np.zeros(m, dtype=np.int8),
        "created_at": demo.stamp(created),
        "user": rng.choice(demo.state["b2b_owners"], m),
    }
    demo.insert("companies", columns,
                f"SELECT s.id, {COMPANY_NAME_SQL} AS name, "
                "$industries[s.industry + 1] AS industry, s.employees, "
                "$bands[s.band + 1] AS size_band, "
                "CAST(s.revenue AS DECIMAL(18,2)) AS revenue, "
                f"{REGION_SQL} AS region, {CITY_SQL} AS city, s.created_at, "
                "s.user AS assigned_user_id FROM {src} AS s")


def contacts(demo: Demo) -> None:
    """Contacts with messy cities, e-mails and phones, tags and owners."""
    rng = demo.rng("contacts")
    n = demo.n
    people = person_columns(rng, n, 0.85, 0.70)
    city = city_columns(rng, n, messy=0.02, blank=0.03)
    created = work_time(rng, np.floor(HISTORY_DAYS * rng.random(n) ** 1.4)
                        .astype(np.int64))
    modified = between(rng, created, END, n, power=2.0)
    ctype = pick(rng, n, V.CONTACT_TYPE_WEIGHTS)
    tags = _tag_masks(rng, n)
    birthday = (np.datetime64(demo.as_of, "D")
                - rng.integers(18 * 365, 70 * 365, n).astype("timedelta64[D]"))
    has_company = rng.random(n) < 0.6
    company = np.where(has_company, rng.integers(1, demo.state["companies"] + 1, n), 0)
    owner = rng.choice(demo.state["owners"], n)

    source = pick(rng, n, V.CONTACT_SOURCE_WEIGHTS)
    demo.state.update(
        created=created, owner=owner, company=company,
        has_email=people["email_style"] >= 0, bad_email=people["email_mess"] == 3,
        has_phone=people["phone_code"] >= 0,
    )
    changes = _contact_changes(demo, city, ctype, tags)
    np.maximum.at(modified, changes["record_id"] - 1, changes["changed_at"])
    demo.state["contact_changes"] = changes

    columns = {
        "id": ids(n), **people, **city, "source": source,
        "ctype": ctype, "tags": tags,
        "birthday": pa.array(birthday, mask=rng.random(n) < 0.5),
        "created_at": demo.stamp(created), "modified_at": demo.stamp(modified),
        "company_id": company, "user": owner,
    }
    demo.insert("contacts", columns,
                f"SELECT s.id, {NAME_SQL} AS name, {EMAIL_SQL} AS email, "
                f"{PHONE_SQL} AS phone, {CITY_SQL} AS city, {REGION_SQL} AS region, "
                "$csources[s.source + 1] AS source, $ctypes[s.ctype + 1] AS type, "
                f"{tags_sql('s.tags')} AS tags, s.birthday, s.created_at, "
                "s.modified_at, NULLIF(s.company_id, 0) AS company_id, "
                "s.user AS assigned_user_id FROM {src} AS s")


def _tag_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """0-3 distinct tags per contact, as bit masks over V.TAGS, drawn by weight."""
    k = pick(rng, n, V.TAG_COUNT_WEIGHTS)
    # Weighted sampling without replacement: the top k of log-weight + Gumbel.
    keys = np.log(V.TAG_WEIGHTS) + rng.gumbel(size=(n, len(V.TAGS)))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = rank < k[:, None]
    return chosen.astype(np.int64) @ (1 << np.arange(len(V.TAGS), dtype=np.int64))


def _other(rng: np.random.Generator, codes: np.ndarray, size: int) -> np.ndarray:
    """A code of the same vocabulary (of ``size``) that differs from ``codes``."""
    return (codes + 1 + rng.integers(0, size - 1, len(codes))) % size


def _contact_changes(demo: Demo, city: dict[str, np.ndarray], ctype: np.ndarray,
                     tags: np.ndarray) -> dict[str, np.ndarray]:
    """Changes of city, type, phone and tags for about 10% of contacts.

    Each changed field has one or two changes in the last 365 days; the last
    one's new value is the contact's current value (``new_code`` -1: read it
    from the stored contact), earlier values are codes of the field's
    vocabulary (a phone's code is its ten digits).
    """
    rng = demo.rng("contact_changes")
    n, state = demo.n, demo.state
    chosen = rng.random(n) < 0.10
    eligible = (city["city_state"] < 4, np.ones(n, bool), state["has_phone"],
                np.ones(n, bool))
    selected = [chosen & e & (rng.random(n) < p)
                for e, p in zip(eligible, (0.35, 0.3, 0.25, 0.35))]
    selected[1] |= chosen & ~np.logical_or.reduce(selected)

    parts = []
    for field, sel in enumerate(selected):
        rec = np.flatnonzero(sel)
        k = len(rec)
        if field == 0:
            mid = _other(rng, city["city"][rec], len(V.CITY_NAMES))
            first = _other(rng, mid, len(V.CITY_NAMES))
        elif field == 1:
            mid = _other(rng, ctype[rec], len(V.CONTACT_TYPES))
            first = _other(rng, mid, len(V.CONTACT_TYPES))
        elif field == 2:
            mid, first = (rng.choice(MOBILE_CODES, k) * 10_000_000
                          + rng.integers(0, 10_000_000, k) for _ in range(2))
        else:
            mid = tags[rec] ^ (1 << rng.integers(0, len(V.TAGS), k))
            first = mid ^ (1 << rng.integers(0, len(V.TAGS), k))
        lo = np.maximum(state["created"][rec], -364 * DAY)
        last_at = between(rng, lo + 120, END, k, power=0.8)
        first_at = between(rng, lo, last_at - 60, k)
        two = rng.random(k) < 0.25
        parts.append((rec, field, mid, np.full(k, -1), last_at))
        parts.append((rec[two], field, first[two], mid[two], first_at[two]))

    return {
        "record_id": np.concatenate([p[0] for p in parts]) + 1,
        "field": np.concatenate([np.full(len(p[0]), p[1]) for p in parts]),
        "old_code": np.concatenate([p[2] for p in parts]).astype(np.int64),
        "new_code": np.concatenate([p[3] for p in parts]).astype(np.int64),
        "changed_at": np.concatenate([p[4] for p in parts]),
    }


def deals(demo: Demo) -> None:
    """About three deals per contact, skewed; older deals are mostly closed."""
    rng = demo.rng("deals")
    state = demo.state
    owner = np.repeat(np.arange(demo.n), skewed_counts(rng, demo.n, 3.0, 0.7))
    k = len(owner)
    created = between(rng, state["created"][owner], END - 3600, k)
    # A deal closes 1-120 days after it was created; one whose closing day
    # has not come by as_of is still open (clipping it to as_of instead would
    # pile closings onto the last day).
    closed_at = np.maximum(created + rng.integers(1, 121, k) * DAY
                           + rng.integers(-4 * 3600, 4 * 3600, k), created + 60)
    closed = (rng.random(k) < 0.94) & (closed_at <= END)
    won = closed & (rng.random(k) < 0.4)
    pipeline = (rng.random(k) < 0.3).astype(np.int8)

    sales, repeat = OPEN_STAGE_CODES
    open_stage = np.where(
        pipeline == 0, sales[pick(rng, k, V.OPEN_STAGE_WEIGHTS[0])],
        repeat[pick(rng, k, V.OPEN_STAGE_WEIGHTS[1])])
    stage = np.where(won, WON, np.where(closed, LOST, open_stage))
    amount = np.maximum(1000, np.round(rng.lognormal(np.log(40_000), 1.0, k), -2))
    r = rng.random(k)
    user = np.where(r < 0.5, state["owner"][owner],
                    np.where(r < 0.8, rng.choice(state["corporate"], k),
                             rng.choice(state["owners"], k)))
    state["deal_changes"] = _stage_changes(rng, pipeline, stage, closed, created,
                                           closed_at)

    columns = {
        "id": ids(k), "contact_id": owner + 1, "company_id": state["company"][owner],
        "pipeline": pipeline, "stage": stage, "amount": amount,
        "currency": pick(rng, k, V.CURRENCY_WEIGHTS),
        "product": rng.integers(0, len(V.DEAL_PRODUCTS), k),
        "source": pick(rng, k, V.CONTACT_SOURCE_WEIGHTS),
        "created_at": demo.stamp(created), "closed_at": demo.stamp(closed_at, closed),
        "user": user,
    }
    demo.insert("deals", columns,
                "SELECT s.id, $dproducts[s.product + 1] || ' #' || s.id AS title, "
                "s.contact_id, NULLIF(s.company_id, 0) AS company_id, "
                "$pipelines[s.pipeline + 1] AS pipeline, $stages[s.stage + 1] AS stage, "
                "CASE $stages[s.stage + 1] WHEN 'Won' THEN 'won' WHEN 'Lost' THEN 'lost' "
                "ELSE 'open' END AS stage_semantics, "
                "CAST(s.amount AS DECIMAL(18,2)) AS amount, "
                "$currencies[s.currency + 1] AS currency, "
                "$dproducts[s.product + 1] AS product, $csources[s.source + 1] AS source, "
                "s.created_at, s.closed_at, s.user AS assigned_user_id FROM {src} AS s")


def _stage_changes(rng: np.random.Generator, pipeline: np.ndarray, stage: np.ndarray,
                   closed: np.ndarray, created: np.ndarray,
                   closed_at: np.ndarray) -> dict[str, np.ndarray]:
    """Stage moves of about 20% of deals, ending in the deal's current stage."""
    k = len(stage)
    paths = [np.append(codes, -1) for codes in OPEN_STAGE_CODES]
    pos = np.where(closed, np.where(pipeline == 0, len(paths[0]) - 1,
                                    len(paths[1]) - 1), 0)
    for p, path in enumerate(paths):
        for i, code in enumerate(path[:-1]):
            pos[(pipeline == p) & ~closed & (stage == code)] = i
    movable = pos >= 1
    chosen = movable & (rng.random(k) < min(1.0, 0.2 * k / max(1, movable.sum())))
    steps = np.where(chosen, np.minimum(pos, 1 + (rng.random(k) < 0.35)), 0)

    def path_code(delta: np.ndarray) -> np.ndarray:
        at = np.maximum(pos - delta, 0)
        return np.where(pipeline == 0, paths[0][np.minimum(at, len(paths[0]) - 1)],
                        paths[1][np.minimum(at, len(paths[1]) - 1)])

    last_at = np.where(closed, closed_at, between(rng, created + 60, END, k))
    first_at = between(rng, created, last_at - 30, k)
    one, two = np.flatnonzero(steps >= 1), np.flatnonzero(steps == 2)
    return {
        "record_id": np.concatenate([one, two]) + 1,
        "old_code": np.concatenate([path_code(np.ones(k, int))[one],
                                    path_code(np.full(k, 2))[two]]),
        "new_code": np.concatenate([np.full(len(one), -1),
                                    path_code(np.ones(k, int))[two]]),
        "changed_at": np.concatenate([last_at[one], first_at[two]]),
    }


_CHANGE_TEXT = (
    "CASE s.field WHEN 0 THEN $cities[{x} + 1] WHEN 1 THEN $ctypes[{x} + 1] "
    "WHEN 2 THEN printf('+7 (%03d) %03d-%02d-%02d', {x} // 10000000, "
    "({x} // 10000) % 1000, ({x} // 100) % 100, {x} % 100) "
    "ELSE CAST(" + tags_sql("{x}") + " AS VARCHAR) END"
)
_CURRENT_TEXT = (
    "CASE s.field WHEN 0 THEN c.city WHEN 1 THEN c.type WHEN 2 THEN c.phone "
    "ELSE CAST(c.tags AS VARCHAR) END"
)


def field_changes(demo: Demo) -> None:
    """The change history of contacts (city, type, phone, tags) and deal stages."""
    changes = demo.state["contact_changes"]
    demo.insert("field_changes",
                {**changes, "changed_at": demo.stamp(changes["changed_at"])},
                "SELECT 'contacts' AS entity, s.record_id, "
                "$cfields[s.field + 1] AS field, "
                f"{_CHANGE_TEXT.format(x='s.old_code')} AS old_value, "
                f"CASE WHEN s.new_code < 0 THEN {_CURRENT_TEXT} "
                f"ELSE {_CHANGE_TEXT.format(x='s.new_code')} END AS new_value, "
                "s.changed_at FROM {src} AS s JOIN contacts AS c ON c.id = s.record_id "
                "ORDER BY s.record_id, s.changed_at, s.field")
    changes = demo.state["deal_changes"]
    demo.insert("field_changes",
                {**changes, "changed_at": demo.stamp(changes["changed_at"])},
                "SELECT 'deals' AS entity, s.record_id, 'stage' AS field, "
                "$stages[s.old_code + 1] AS old_value, "
                "CASE WHEN s.new_code < 0 THEN d.stage "
                "ELSE $stages[s.new_code + 1] END AS new_value, s.changed_at "
                "FROM {src} AS s JOIN deals AS d ON d.id = s.record_id "
                "ORDER BY s.record_id, s.changed_at")


def contact_points(demo: Demo) -> None:
    """Each contact's e-mail and phone as stored, with its kind."""
    demo.execute(
        "INSERT INTO contact_points "
        "SELECT 'contacts', id, channel, kind, value FROM ("
        " SELECT id, 'email' AS channel, 'WORK' AS kind, email AS value "
        " FROM contacts WHERE email IS NOT NULL"
        " UNION ALL"
        " SELECT id, 'phone', CASE WHEN right(regexp_replace(phone, '[^0-9]', '', 'g'),"
        " 10) LIKE '9%' THEN 'MOBILE' ELSE 'WORK' END, phone"
        " FROM contacts WHERE phone IS NOT NULL) ORDER BY id, channel"
    )
