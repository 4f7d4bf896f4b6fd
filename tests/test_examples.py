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
from workbench.__main__ import main
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


def within(series: pd.Series, days: int, as_of: date) -> pd.Series:
    """Calendar day of the timestamp is today or one of the days-1 days before."""
    day = pd.to_datetime(series).dt.normalize()
    lo = pd.Timestamp(as_of - timedelta(days=days - 1))
    return (day >= lo) & (day <= pd.Timestamp(as_of))


def ids(frame: pd.DataFrame, column: str = "contact_id") -> set[int]:
    return set(frame[column].dropna().astype(int))


def won(t) -> pd.DataFrame:
    return t["deals"][t["deals"]["stage_semantics"] == "won"]


def open_deal_contacts(t) -> set[int]:
    return ids(t["deals"][t["deals"]["stage_semantics"] == "open"])


def customers(t, as_of) -> set[int]:
    orders = t["orders"][fold(t["orders"]["status"]).isin(["paid", "delivered"])]
    return ids(won(t)) | ids(orders)


def unsubscribed(t, as_of) -> set[int]:
    return ids(t["opt_outs"][t["opt_outs"]["channel"] == "email"])


def expected_active_buyers(t, as_of):
    w = won(t)
    return ids(w[within(w["closed_at"], 60, as_of)])


def expected_vip(t, as_of):
    w = won(t)
    w = w[fold(w["currency"]) == "rub"]
    total = w.groupby("contact_id")["amount"].sum()
    return set(total[total.astype(float) > 100_000].index.astype(int))


def expected_inactive(t, as_of):
    last = won(t).groupby("contact_id")["closed_at"].max().dt.normalize()
    cutoff = pd.Timestamp(as_of - timedelta(days=180))
    return set(last[last < cutoff].index.astype(int)) - open_deal_contacts(t)


def expected_potential(t, as_of):
    d = t["deals"].merge(t["users"], left_on="assigned_user_id", right_on="id",
                         suffixes=("", "_user"))
    d = d[(d["stage_semantics"] == "open") & (fold(d["pipeline"]) == "sales")
          & (fold(d["stage"]) == "negotiation")
          & (fold(d["department"]) == "corporate sales")]
    return ids(d)


def expected_two_capitals(t, as_of):
    c = t["contacts"]
    return ids(c[fold(c["city"]).isin(["moscow", "saint petersburg"])], "id")


def expected_spring_sale_followup(t, as_of):
    mailing = t["mailings"][fold(t["mailings"]["name"]) == "spring sale 2026"]
    got = t["mailing_recipients"][t["mailing_recipients"]["mailing_id"].isin(
        mailing["id"])]
    return customers(t, as_of) - ids(got) - unsubscribed(t, as_of)


def expected_electronics_buyers(t, as_of):
    items = t["order_items"].merge(t["orders"], left_on="order_id", right_on="id",
                                   suffixes=("", "_order"))
    items = items[(fold(items["category"]) == "electronics")
                  & within(items["created_at"], 90, as_of)
                  & fold(items["status"]).isin(["paid", "delivered"])]
    return ids(items)


def expected_pricing_visitors(t, as_of):
    v = t["visits"]
    v = v[(fold(v["page"]) == "/pricing") & within(v["visited_at"], 14, as_of)]
    per = v.groupby("contact_id").size()
    return set(per[per >= 2].index.astype(int)) - open_deal_contacts(t)


def expected_moved_recently(t, as_of):
    fc = t["field_changes"]
    fc = fc[(fc["entity"] == "contacts") & (fc["field"] == "city")
            & within(fc["changed_at"], 30, as_of)]
    return ids(fc, "record_id") & ids(t["contacts"], "id")


def expected_it_companies_in_play(t, as_of):
    c = t["companies"]
    c = c[(fold(c["industry"]) == "it") & (c["employees"] >= 50)]
    open_companies = ids(t["deals"][t["deals"]["stage_semantics"] == "open"],
                         "company_id")
    return ids(c, "id") & open_companies


def expected_fresh_website_leads(t, as_of):
    lead = t["leads"]
    keep = (fold(lead["source"]) == "website") & within(lead["created_at"], 30, as_of) \
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

    expected = EXPECTED[segment](tables, AS_OF)
    assert set(got) == expected
    assert len(got) >= 5, f"{segment} should have a non-trivial number of members"


REAL_AS_OF = date(2018, 9, 1)
REAL_LOADS = [  # mapping, folder, mode: one database holding every dataset
    ("maven-crm", "maven-crm-sales-opportunities", "replace"),
    ("olist-ecommerce", "olist-ecommerce-sample", "append"),
    ("olist-funnel", "olist-marketing-funnel", "append"),
    ("salesforce-tree", "salesforce-sobject-tree-sample", "append"),
]


@pytest.fixture(scope="module")
def real_db(tmp_path_factory, real_data):
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    for mapping, folder, mode in REAL_LOADS:
        code = main(["import", "--db", str(path), "--mapping", mapping,
                     "--dir", str(real_data / folder), "--mode", mode])
        assert code == 0, mapping
    con = store.connect(path, read_only=True)
    tables = {name: con.execute(f'SELECT * FROM "{name}"').df()
              for name in ("contacts", "companies", "deals", "leads", "orders",
                           "order_items", "visits", "users", "mailings",
                           "mailing_recipients", "opt_outs", "field_changes")}
    con.close()
    return path, tables


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_count_command_on_real_data_matches_pandas(real_db, segment, capsys):
    path, tables = real_db

    code = main(["count", str(SEGMENTS / f"{segment}.json"), "--db", str(path),
                 "--as-of", REAL_AS_OF.isoformat()])

    out = capsys.readouterr().out
    assert code == 0
    assert int(out.strip().splitlines()[-1]) == len(EXPECTED[segment](tables, REAL_AS_OF))
