"""Every example segment against an independent pandas computation.

The pandas versions are written the way an analyst would, from the tables
and the segment's description, not from the compiled SQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from tests.conftest import SEGMENTS
from workbench import definition, demo, evaluator, store
from workbench.library import Library

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def crm():
    con = store.connect()
    demo.generate(con, contacts=3000, seed=11, as_of=AS_OF)
    tables = {name: con.execute(f'SELECT * FROM "{name}"').df()
              for name in ("contacts", "companies", "deals", "leads", "orders",
                           "order_items", "visits", "users", "mailings",
                           "mailing_recipients", "opt_outs", "field_changes")}
    return con, tables


def fold(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.lower()


def within(series: pd.Series, days: int) -> pd.Series:
    """Calendar day of the timestamp is today or one of the days-1 days before."""
    day = pd.to_datetime(series).dt.normalize()
    lo = pd.Timestamp(AS_OF - timedelta(days=days - 1))
    return (day >= lo) & (day <= pd.Timestamp(AS_OF))


def ids(frame: pd.DataFrame, column: str = "contact_id") -> set[int]:
    return set(frame[column].dropna().astype(int))


def won(t) -> pd.DataFrame:
    return t["deals"][t["deals"]["stage_semantics"] == "won"]


def open_deal_contacts(t) -> set[int]:
    return ids(t["deals"][t["deals"]["stage_semantics"] == "open"])


def customers(t) -> set[int]:
    orders = t["orders"][fold(t["orders"]["status"]).isin(["paid", "delivered"])]
    return ids(won(t)) | ids(orders)


def unsubscribed(t) -> set[int]:
    return ids(t["opt_outs"][t["opt_outs"]["channel"] == "email"])


def expected_active_buyers(t):
    w = won(t)
    return ids(w[within(w["closed_at"], 60)])


def expected_vip(t):
    w = won(t)
    w = w[fold(w["currency"]) == "rub"]
    total = w.groupby("contact_id")["amount"].sum()
    return set(total[total.astype(float) > 100_000].index.astype(int))


def expected_inactive(t):
    last = won(t).groupby("contact_id")["closed_at"].max().dt.normalize()
    cutoff = pd.Timestamp(AS_OF - timedelta(days=180))
    return set(last[last < cutoff].index.astype(int)) - open_deal_contacts(t)


def expected_potential(t):
    d = t["deals"].merge(t["users"], left_on="assigned_user_id", right_on="id",
                         suffixes=("", "_user"))
    d = d[(d["stage_semantics"] == "open") & (fold(d["pipeline"]) == "sales")
          & (fold(d["stage"]) == "negotiation")
          & (fold(d["department"]) == "corporate sales")]
    return ids(d)


def expected_two_capitals(t):
    c = t["contacts"]
    return ids(c[fold(c["city"]).isin(["moscow", "saint petersburg"])], "id")


def expected_spring_sale_followup(t):
    mailing = t["mailings"][fold(t["mailings"]["name"]) == "spring sale 2026"]
    got = t["mailing_recipients"][t["mailing_recipients"]["mailing_id"].isin(
        mailing["id"])]
    return customers(t) - ids(got) - unsubscribed(t)


def expected_electronics_buyers(t):
    items = t["order_items"].merge(t["orders"], left_on="order_id", right_on="id",
                                   suffixes=("", "_order"))
    items = items[(fold(items["category"]) == "electronics")
                  & within(items["created_at"], 90)
                  & fold(items["status"]).isin(["paid", "delivered"])]
    return ids(items)


def expected_pricing_visitors(t):
    v = t["visits"]
    v = v[(fold(v["page"]) == "/pricing") & within(v["visited_at"], 14)]
    per = v.groupby("contact_id").size()
    return set(per[per >= 2].index.astype(int)) - open_deal_contacts(t)


def expected_moved_recently(t):
    fc = t["field_changes"]
    fc = fc[(fc["entity"] == "contacts") & (fc["field"] == "city")
            & within(fc["changed_at"], 30)]
    return ids(fc, "record_id") & ids(t["contacts"], "id")


def expected_it_companies_in_play(t):
    c = t["companies"]
    c = c[(fold(c["industry"]) == "it") & (c["employees"] >= 50)]
    open_companies = ids(t["deals"][t["deals"]["stage_semantics"] == "open"],
                         "company_id")
    return ids(c, "id") & open_companies


def expected_fresh_website_leads(t):
    lead = t["leads"]
    keep = (fold(lead["source"]) == "website") & within(lead["created_at"], 30) \
        & ~lead["status_semantics"].isin(["converted", "junk"])
    return ids(lead[keep], "id")


EXPECTED = {
    "active-buyers": expected_active_buyers,
    "vip": expected_vip,
    "inactive": expected_inactive,
    "potential": expected_potential,
    "two-capitals": expected_two_capitals,
    "customers": customers,
    "unsubscribed": unsubscribed,
    "spring-sale-followup": expected_spring_sale_followup,
    "electronics-buyers": expected_electronics_buyers,
    "pricing-visitors": expected_pricing_visitors,
    "moved-recently": expected_moved_recently,
    "it-companies-in-play": expected_it_companies_in_play,
    "fresh-website-leads": expected_fresh_website_leads,
}


def test_every_example_has_an_independent_check():
    assert set(EXPECTED) == {p.stem for p in SEGMENTS.glob("*.json")}


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_example_matches_pandas(crm, segment):
    con, tables = crm
    defn = definition.load(SEGMENTS / f"{segment}.json")

    got = evaluator.member_ids(con, defn, as_of=AS_OF, resolver=Library(SEGMENTS))

    expected = EXPECTED[segment](tables)
    assert set(got) == expected
    assert len(got) >= 5, f"{segment} should have a non-trivial number of members"
