"""Every example segment in plain pandas, the way an analyst in a notebook would.

The analyst loads the tables into data frames once (timed apart), then
filters, merges and groups. Like the expert SQL, only contacts' city is
folded (strip + lower); the other text columns are compared as stored. Each
function returns the number of records of the segment's entity, so a
related record that points at no contact is not counted.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Callable

import duckdb
import pandas as pd

TABLES = ("contacts", "companies", "leads", "deals", "orders", "order_items",
          "visits", "users", "mailings", "mailing_recipients", "opt_outs",
          "field_changes")

Frames = dict[str, pd.DataFrame]


def load(con: duckdb.DuckDBPyConnection) -> tuple[Frames, dict[str, float]]:
    """Every table as a data frame, and the seconds each took."""
    frames: Frames = {}
    seconds: dict[str, float] = {}
    for name in TABLES:
        started = time.perf_counter()
        frames[name] = con.execute(f'SELECT * FROM "{name}"').df()
        seconds[name] = time.perf_counter() - started
    return frames, seconds


def last_days(series: pd.Series, days: int, as_of: date) -> pd.Series:
    lo = pd.Timestamp(as_of - timedelta(days=days - 1))
    hi = pd.Timestamp(as_of + timedelta(days=1))
    return (series >= lo) & (series < hi)


def count_contacts(t: Frames, ids) -> int:
    return int(t["contacts"]["id"].isin(ids).sum())


def open_deal_contacts(t: Frames) -> pd.Series:
    deals = t["deals"]
    return deals.loc[deals["stage_semantics"] == "open", "contact_id"]


def customer_ids(t: Frames) -> pd.Index:
    deals, orders = t["deals"], t["orders"]
    won = deals.loc[deals["stage_semantics"] == "won", "contact_id"]
    paid = orders.loc[orders["status"].isin(["paid", "delivered"]), "contact_id"]
    return pd.Index(won).union(pd.Index(paid))


def active_buyers(t: Frames, as_of: date) -> int:
    d = t["deals"]
    d = d[(d["stage_semantics"] == "won") & last_days(d["closed_at"], 60, as_of)]
    return count_contacts(t, d["contact_id"])


def vip(t: Frames, as_of: date) -> int:
    d = t["deals"]
    d = d[(d["stage_semantics"] == "won") & (d["currency"] == "RUB")]
    total = d.groupby("contact_id")["amount"].sum()
    return count_contacts(t, total.index[total.astype(float) > 100_000])


def inactive(t: Frames, as_of: date) -> int:
    d = t["deals"]
    last_won = d[d["stage_semantics"] == "won"].groupby("contact_id")["closed_at"].max()
    cutoff = pd.Timestamp(as_of - timedelta(days=180))
    lapsed = last_won.index[last_won < cutoff]
    lapsed = lapsed[~lapsed.isin(open_deal_contacts(t))]
    return count_contacts(t, lapsed)


def potential(t: Frames, as_of: date) -> int:
    d = t["deals"]
    d = d[(d["stage_semantics"] == "open") & (d["pipeline"] == "Sales")
          & (d["stage"] == "Negotiation")]
    users = t["users"]
    corporate = users.loc[users["department"] == "Corporate sales", "id"]
    return count_contacts(t, d.loc[d["assigned_user_id"].isin(corporate), "contact_id"])


def two_capitals(t: Frames, as_of: date) -> int:
    city = t["contacts"]["city"].str.strip().str.lower()
    return int(city.isin(["moscow", "saint petersburg"]).sum())


def customers(t: Frames, as_of: date) -> int:
    return count_contacts(t, customer_ids(t))


def unsubscribed(t: Frames, as_of: date) -> int:
    o = t["opt_outs"]
    return count_contacts(t, o.loc[o["channel"] == "email", "contact_id"])


def spring_sale_followup(t: Frames, as_of: date) -> int:
    m = t["mailings"]
    sale = m.loc[m["name"] == "Spring sale 2026", "id"]
    r = t["mailing_recipients"]
    got = r.loc[r["mailing_id"].isin(sale), "contact_id"]
    o = t["opt_outs"]
    unsub = o.loc[o["channel"] == "email", "contact_id"]
    ids = customer_ids(t)
    ids = ids[~ids.isin(got) & ~ids.isin(unsub)]
    return count_contacts(t, ids)


def electronics_buyers(t: Frames, as_of: date) -> int:
    items = t["order_items"]
    orders = t["orders"]
    orders = orders[orders["status"].isin(["paid", "delivered"])
                    & last_days(orders["created_at"], 90, as_of)]
    items = items[items["category"] == "Electronics"]
    both = items.merge(orders, left_on="order_id", right_on="id")
    return count_contacts(t, both["contact_id"])


def pricing_visitors(t: Frames, as_of: date) -> int:
    v = t["visits"]
    v = v[(v["page"] == "/pricing") & last_days(v["visited_at"], 14, as_of)]
    per = v.groupby("contact_id").size()
    keen = per.index[per >= 2]
    return count_contacts(t, keen[~keen.isin(open_deal_contacts(t))])


def moved_recently(t: Frames, as_of: date) -> int:
    fc = t["field_changes"]
    fc = fc[(fc["entity"] == "contacts") & (fc["field"] == "city")
            & last_days(fc["changed_at"], 30, as_of)]
    return count_contacts(t, fc["record_id"])


def it_companies_in_play(t: Frames, as_of: date) -> int:
    c = t["companies"]
    d = t["deals"]
    open_companies = d.loc[d["stage_semantics"] == "open", "company_id"]
    keep = (c["industry"] == "IT") & (c["employees"] >= 50) & c["id"].isin(open_companies)
    return int(keep.sum())


def fresh_website_leads(t: Frames, as_of: date) -> int:
    lead = t["leads"]
    keep = ((lead["source"] == "Website") & last_days(lead["created_at"], 30, as_of)
            & ~lead["status_semantics"].isin(["converted", "junk"]))
    return int(keep.sum())


# The tables each computation reads: what an analyst would load for it.
USES: dict[str, tuple[str, ...]] = {
    "active-buyers": ("contacts", "deals"),
    "vip": ("contacts", "deals"),
    "inactive": ("contacts", "deals"),
    "potential": ("contacts", "deals", "users"),
    "two-capitals": ("contacts",),
    "customers": ("contacts", "deals", "orders"),
    "unsubscribed": ("contacts", "opt_outs"),
    "spring-sale-followup": ("contacts", "deals", "orders", "mailings",
                             "mailing_recipients", "opt_outs"),
    "electronics-buyers": ("contacts", "orders", "order_items"),
    "pricing-visitors": ("contacts", "visits", "deals"),
    "moved-recently": ("contacts", "field_changes"),
    "it-companies-in-play": ("companies", "deals"),
    "fresh-website-leads": ("leads",),
}

COUNTS: dict[str, Callable[[Frames, date], int]] = {
    "active-buyers": active_buyers,
    "vip": vip,
    "inactive": inactive,
    "potential": potential,
    "two-capitals": two_capitals,
    "customers": customers,
    "unsubscribed": unsubscribed,
    "spring-sale-followup": spring_sale_followup,
    "electronics-buyers": electronics_buyers,
    "pricing-visitors": pricing_visitors,
    "moved-recently": moved_recently,
    "it-companies-in-play": it_companies_in_play,
    "fresh-website-leads": fresh_website_leads,
}
