"""Demo activity: orders, website visits, opt-outs, mailings and leads.

These tables hang off the contacts made by ``demo_crm`` and read its arrays
from ``demo.state``; each draws from its own random stream.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from workbench import demo_vocab as V
from workbench.demo_tables import (
    CITY_SQL, COMPANY_NAME_SQL, DAY, EMAIL_SQL, END, HISTORY_DAYS, NAME_SQL,
    PHONE_SQL, Demo, between, city_columns, ids, mailing_plan,
    person_columns, pick, skewed_counts,
)

NEVER = np.iinfo(np.int64).max  # "no opt-out" in a per-contact time array


def orders(demo: Demo) -> None:
    """About two orders per contact (skewed), each with 1-6 items."""
    rng = demo.rng("orders")
    state = demo.state
    owner = np.repeat(np.arange(demo.n), skewed_counts(rng, demo.n, 2.0, 0.5))
    k = len(owner)
    created = between(rng, state["created"][owner], END, k, power=0.7)
    recent = (END - created) < 7 * DAY
    status = np.where(recent, np.where(rng.random(k) < 0.85, 0, 2),
                      pick(rng, k, (0.03, 0.82, 0.08, 0.07)))

    per_order = 1 + np.minimum(rng.poisson(1.5, k), 5)
    order = np.repeat(np.arange(k), per_order)
    m = len(order)
    popularity = 1 / np.arange(1, len(V.PRODUCTS) + 1) ** 0.8
    product = pick(rng, m, tuple(rng.permutation(popularity)))
    quantity = np.minimum(rng.geometric(0.75, m), 10)
    discount = np.where(rng.random(m) < 0.15, 0.9, 1.0)
    price = np.round(state["price"][product] * discount)
    amount = np.bincount(order, weights=quantity * price, minlength=k)

    demo.insert("orders",
                {"id": ids(k), "contact_id": owner + 1, "status": status,
                 "amount": amount, "created_at": demo.stamp(created)},
                "SELECT s.id, s.contact_id, $ostatuses[s.status + 1] AS status, "
                "CAST(s.amount AS DECIMAL(18,2)) AS amount, 'RUB' AS currency, "
                "s.created_at FROM {src} AS s")
    demo.insert("order_items",
                {"id": ids(m), "order_id": order + 1, "product": product,
                 "quantity": quantity.astype(float), "price": price},
                "SELECT s.id, s.order_id, s.product + 1 AS product_id, "
                "$pnames[s.product + 1] AS product, $pcats[s.product + 1] AS category, "
                "s.quantity, CAST(s.price AS DECIMAL(18,2)) AS price FROM {src} AS s")


def visits(demo: Demo) -> None:
    """About ten site visits per contact (skewed), leaning to recent weeks."""
    rng = demo.rng("visits")
    owner = np.repeat(np.arange(demo.n), skewed_counts(rng, demo.n, 10.0, 0.6))
    k = len(owner)
    lo = np.maximum(demo.state["created"][owner] - 30 * DAY, -HISTORY_DAYS * DAY)
    # Fixed pages, then one page per product (the order of PARAMS["pages"]).
    products = len(V.PRODUCTS)
    weights = V.PAGE_WEIGHTS + (V.PRODUCT_PAGE_WEIGHT / products,) * products
    source = pick(rng, k, V.VISIT_SOURCE_WEIGHTS)
    tagged = np.array([bool(u) for u in V.UTM_BY_SOURCE])[source]
    duration = np.clip(np.round(rng.lognormal(np.log(60), 1.1, k)), 1, 3600)

    demo.insert("visits",
                {"id": ids(k), "contact_id": owner + 1, "page": pick(rng, k, weights),
                 "source": source, "utm": tagged & (rng.random(k) < 0.7),
                 "visited_at": demo.stamp(between(rng, lo, END, k, power=0.4)),
                 "duration": duration},
                f"SELECT s.id, s.contact_id, '{V.SITE}' || $pages[s.page + 1] "
                "|| CASE WHEN s.utm THEN '?utm_source=' || $utm[s.source + 1] ELSE '' "
                "END AS url, $pages[s.page + 1] AS page, "
                "$vsources[s.source + 1] AS source, s.visited_at, "
                "s.duration AS duration_seconds FROM {src} AS s")


def opt_outs(demo: Demo) -> None:
    """About 8% of contacts opt out of e-mail and 3% of phone calls."""
    rng = demo.rng("opt_outs")
    state, n = demo.state, demo.n
    parts = []
    for channel, has, share, reasons in (
        (0, state["has_email"], 0.095, (0.4, 0.25, 0.2, 0.0, 0.15)),
        (1, state["has_phone"], 0.043, (0.0, 0.3, 0.3, 0.4, 0.0)),
    ):
        out = has & (rng.random(n) < share)
        at = between(rng, state["created"], END, n)
        state[f"opt_out_{channel}"] = np.where(out, at, NEVER)
        who = np.flatnonzero(out)
        parts.append((who, np.full(len(who), channel), at[who],
                      pick(rng, len(who), reasons)))
    contact, channel, at, reason = (np.concatenate(c) for c in zip(*parts))
    order = np.lexsort((channel, contact))

    demo.insert("opt_outs",
                {"contact_id": contact[order] + 1, "channel": channel[order],
                 "at": demo.stamp(at[order]), "reason": reason[order]},
                "SELECT s.contact_id, CASE s.channel WHEN 0 THEN 'email' "
                "ELSE 'phone' END AS channel, s.at AS opted_out_at, "
                "$reasons[s.reason + 1] AS reason FROM {src} AS s")


def mailings(demo: Demo) -> None:
    """Twelve past mailings, each to 20-50% of the contacts it could reach.

    A contact can be reached on e-mail (sms) when it has an e-mail (phone),
    existed at send time and had not opted out of that channel. Outcomes are
    consistent: clicked implies opened implies delivered; bounced is never
    delivered; an e-mail without "@" always bounces.
    """
    rng = demo.rng("mailings")
    state, n = demo.state, demo.n
    plan = mailing_plan(demo.as_of)
    sent = np.array([demo.seconds(m[3]) for m in plan])
    demo.insert("mailings",
                {"id": ids(len(plan)), "name": [m[0] for m in plan],
                 "channel": [m[1] for m in plan], "subject": [m[2] for m in plan],
                 "sent_at": demo.stamp(sent)},
                "SELECT s.id, s.name, s.channel, s.subject, s.sent_at FROM {src} AS s")

    parts = []
    for mailing, (_, channel, _, _) in enumerate(plan):
        email = channel == "email"
        reach = (state["has_email"] if email else state["has_phone"]) & (
            state["created"] <= sent[mailing]) & (
            state["opt_out_0" if email else "opt_out_1"] > sent[mailing])
        who = np.flatnonzero(reach & (rng.random(n) < rng.uniform(0.2, 0.5)))
        k = len(who)
        bounced = rng.random(k) < (0.03 if email else 0.02)
        if email:
            bounced |= state["bad_email"][who]
        delivered = ~bounced & (rng.random(k) < 0.99)
        if email:
            opened = delivered & (rng.random(k) < 0.3)
            clicked = opened & (rng.random(k) < 0.25)
        else:  # an SMS has no "opened"; following its link counts as both
            clicked = delivered & (rng.random(k) < 0.05)
            opened = clicked
        parts.append((np.full(k, mailing + 1), who + 1, delivered, opened, clicked,
                      bounced))
    names = ("mailing_id", "contact_id", "delivered", "opened", "clicked", "bounced")
    demo.insert("mailing_recipients",
                {name: np.concatenate(c) for name, c in zip(names, zip(*parts))},
                "SELECT * FROM {src} AS s")


def leads(demo: Demo) -> None:
    """Half as many leads as contacts over two years; converted ones link a contact.

    A converted lead points to a contact created within 30 days after it and
    carries that contact's name, e-mail, phone and city.
    """
    rng = demo.rng("leads")
    state = demo.state
    k = max(1, demo.n // 2)
    created = (END - 3600 - 730 * DAY * rng.random(k) ** 1.7).astype(np.int64)
    age = (END - created) / DAY
    is_open = rng.random(k) < 0.05 + 0.9 * np.exp(-age / 25)
    status = np.where(is_open, pick(rng, k, (0.4, 0.35, 0.25)),
                      np.where(rng.random(k) < 0.5, 3, 4))

    order = np.argsort(state["created"], kind="stable")
    born = state["created"][order]
    lo = np.searchsorted(born, created)
    hi = np.searchsorted(born, created + 30 * DAY)
    chosen = lo + np.floor(rng.random(k) * (hi - lo)).astype(np.int64)
    converted = (status == 3) & (hi > lo)
    status = np.where((status == 3) & ~converted, 2, status)
    contact = np.where(converted, order[np.minimum(chosen, demo.n - 1)] + 1, 0)
    has_company = rng.random(k) < 0.5
    has_amount = rng.random(k) < 0.8
    amount = np.maximum(1000, np.round(rng.lognormal(np.log(50_000), 1.0, k), -2))

    columns = {
        "id": ids(k), **person_columns(rng, k, 0.8, 0.75),
        **city_columns(rng, k, messy=0.02, blank=0.05),
        "status": status, "source": pick(rng, k, V.CONTACT_SOURCE_WEIGHTS),
        "amount": pa.array(amount, mask=~has_amount),
        "form": np.where(has_company, pick(rng, k, (0.8, 0.15, 0.05)), -1),
        "root": rng.integers(0, len(V.COMPANY_ROOTS), k),
        "suffix": rng.integers(0, len(V.COMPANY_SUFFIXES), k),
        "created_at": demo.stamp(created), "contact": contact,
        "user": rng.choice(state["owners"], k),
    }
    demo.insert("leads", columns,
                f"SELECT s.id, coalesce(c.name, {NAME_SQL}) AS name, "
                f"CASE WHEN s.contact > 0 THEN c.email ELSE {EMAIL_SQL} END AS email, "
                f"CASE WHEN s.contact > 0 THEN c.phone ELSE {PHONE_SQL} END AS phone, "
                "$lstatuses[s.status + 1] AS status, "
                "$lsemantics[s.status + 1] AS status_semantics, "
                "$csources[s.source + 1] AS source, "
                "CAST(s.amount AS DECIMAL(18,2)) AS amount, "
                f"CASE WHEN s.form >= 0 THEN {COMPANY_NAME_SQL} END AS company_name, "
                f"CASE WHEN s.contact > 0 THEN c.city ELSE {CITY_SQL} END AS city, "
                "s.created_at, NULLIF(s.contact, 0) AS contact_id, "
                "s.user AS assigned_user_id "
                "FROM {src} AS s LEFT JOIN contacts AS c ON c.id = s.contact "
                "ORDER BY s.id")
