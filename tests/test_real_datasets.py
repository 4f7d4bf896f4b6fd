"""Real public datasets imported through the shipped mappings.

The files are read in place from ``shared/data/real`` beside the checkout
(some are non-commercial and are not copied into the repository). Expected
counts are computed independently here with the ``csv`` / ``json`` modules.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from workbench import importers, store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


def dataset(folder: str) -> Path:
    path = REAL / folder
    if not path.is_dir():
        pytest.skip(f"real dataset {folder!r} not found at {path} "
                    "(shared/ is not beside the checkout)")
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def counts(result: importers.ImportResult) -> dict[str, tuple[int, int, int]]:
    return {x.entity: (x.rows_in, x.rows_loaded, x.rows_rejected)
            for x in result.loads}


@pytest.fixture
def con():
    connection = store.connect()
    yield connection
    connection.close()


def test_maven_crm_loads_every_deal_company_and_agent(con):
    folder = dataset("maven-crm-sales-opportunities")
    deals = csv_rows(folder / "sales_pipeline.csv")
    accounts = csv_rows(folder / "accounts.csv")

    result = importers.import_files(con, "maven-crm", directory=folder)

    assert counts(result) == {"companies": (85, 85, 0), "users": (35, 35, 0),
                              "products": (7, 7, 0), "deals": (8800, 8800, 0)}
    assert len(deals) == 8800 and len(accounts) == 85
    stages = Counter(d["deal_stage"] for d in deals)
    got = dict(con.execute("SELECT stage_semantics, count(*) FROM deals "
                           "GROUP BY 1").fetchall())
    assert got == {"won": stages["Won"], "lost": stages["Lost"],
                   "open": stages["Engaging"] + stages["Prospecting"]}


def test_maven_deals_resolve_account_names_to_company_ids(con):
    folder = dataset("maven-crm-sales-opportunities")
    deals = csv_rows(folder / "sales_pipeline.csv")

    importers.import_files(con, "maven-crm", directory=folder)

    with_account = Counter(d["account"] for d in deals if d["account"])
    got = dict(con.execute("SELECT c.name, count(*) FROM deals d JOIN companies c "
                           "ON c.id = d.company_id GROUP BY 1").fetchall())
    assert got == dict(with_account)
    won_value = sum(float(d["close_value"]) for d in deals if d["deal_stage"] == "Won")
    assert float(con.execute("SELECT sum(amount) FROM deals WHERE "
                             "stage_semantics = 'won'").fetchone()[0]) == won_value
    assert con.execute("SELECT count(*) FROM deals WHERE assigned_user_id IS NULL"
                       ).fetchone()[0] == 0


def test_olist_ecommerce_orders_find_their_person(con):
    folder = dataset("olist-ecommerce-sample")
    customers = csv_rows(folder / "olist_customers_dataset.csv")
    orders = csv_rows(folder / "olist_orders_dataset.csv")
    items = csv_rows(folder / "olist_order_items_dataset.csv")
    payments = csv_rows(folder / "olist_order_payments_dataset.csv")
    products = csv_rows(folder / "olist_products_dataset.csv")

    result = importers.import_files(con, "olist-ecommerce", directory=folder)

    assert counts(result) == {
        "contacts": (len(customers), len(customers), 0),
        "products": (len(products), len(products), 0),
        "orders": (3000, 3000, 0),
        "order_items": (len(items), len(items), 0),
    }
    persons = {c["customer_unique_id"] for c in customers}
    assert con.execute("SELECT count(*) FROM contacts").fetchone()[0] == len(persons)
    person_of = {c["customer_id"]: c["customer_unique_id"] for c in customers}
    orders_per_person = Counter(person_of[o["customer_id"]] for o in orders)
    got = sorted(r[0] for r in con.execute(
        "SELECT count(*) FROM orders GROUP BY contact_id").fetchall())
    assert got == sorted(orders_per_person.values())
    paid = sum(round(float(p["payment_value"]), 2) for p in payments)
    total = float(con.execute("SELECT sum(amount) FROM orders").fetchone()[0])
    assert total == pytest.approx(paid, abs=0.05)


def test_olist_order_items_carry_english_categories(con):
    folder = dataset("olist-ecommerce-sample")
    english = {r["product_category_name"]: r["product_category_name_english"]
               for r in csv_rows(folder / "product_category_name_translation.csv")}
    category_of = {p["product_id"]: p["product_category_name"]
                   for p in csv_rows(folder / "olist_products_dataset.csv")}
    items = csv_rows(folder / "olist_order_items_dataset.csv")

    importers.import_files(con, "olist-ecommerce", directory=folder)

    expected = Counter(english.get(category_of[i["product_id"]],
                                   category_of[i["product_id"]]) or None
                       for i in items)
    got = dict(con.execute("SELECT category, count(*) FROM order_items "
                           "GROUP BY 1").fetchall())
    assert got == dict(expected)


def test_olist_funnel_marks_leads_with_a_closed_deal_converted(con):
    folder = dataset("olist-marketing-funnel")
    mqls = csv_rows(folder / "olist_marketing_qualified_leads_dataset.csv")
    closed = csv_rows(folder / "olist_closed_deals_dataset.csv")

    result = importers.import_files(con, "olist-funnel", directory=folder)

    assert counts(result)["leads"] == (8000, 8000, 0)
    assert len(mqls) == 8000 and len(closed) == 842
    converted = {r[0] for r in con.execute(
        "SELECT e.external_id FROM leads l JOIN external_ids e "
        "ON e.entity = 'leads' AND e.id = l.id "
        "WHERE l.status_semantics = 'converted'").fetchall()}
    assert converted == {d["mql_id"] for d in closed}
    sources = Counter(m["origin"] or None for m in mqls)
    got = dict(con.execute("SELECT source, count(*) FROM leads GROUP BY 1")
               .fetchall())
    assert got == dict(sources)


def test_salesforce_tree_loads_fifty_records_per_object_with_channels(con):
    folder = dataset("salesforce-sobject-tree-sample")
    contacts = json.loads((folder / "sample-Contacts.json").read_text())["records"]

    result = importers.import_files(con, "salesforce-tree", directory=folder)

    assert counts(result) == {"companies": (50, 50, 0), "contacts": (50, 50, 0),
                              "deals": (50, 50, 0), "leads": (50, 50, 0)}
    assert con.execute("SELECT count(email), count(phone), count(company_id) "
                       "FROM contacts").fetchone() == (50, 50, 50)
    phones = sum(bool(c.get(k)) for c in contacts
                 for k in ("Phone", "MobilePhone", "HomePhone", "OtherPhone"))
    assert con.execute("SELECT count(*) FROM contact_points WHERE "
                       "entity = 'contacts' AND channel = 'phone'").fetchone()[0] \
        == phones
    assert con.execute("SELECT count(DISTINCT company_id) FROM deals").fetchone()[0] \
        == 10
