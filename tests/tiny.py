"""A tiny hand-made CRM whose answers are worked out by hand in the tests.

as_of is 2026-06-30 (a Tuesday) throughout.
"""

from __future__ import annotations

from datetime import date, datetime

from workbench import store

AS_OF = date(2026, 6, 30)

CONTACTS = [
    # id, name, email, phone, city, tags, created_at, company_id
    (1, "Anna", "anna@example.ru", "+7 916 000-00-01", "Moscow", ["vip", "b2b"],
     datetime(2026, 6, 30, 23, 59), 10),
    (2, "Boris", " BORIS@Example.ru ", None, " moscow ", [], datetime(2026, 6, 1, 0, 0), 10),
    (3, "Vera", "", "89160000003", "Санкт-Петербург", ["Ёлка"], datetime(2026, 5, 31), 11),
    (4, "Gleb", None, "", None, None, datetime(2026, 7, 1), None),
    (5, "Dina", "dina@example", "9160000005", "", ["b2c"], datetime(2025, 1, 1), None),
    (6, "Ёжик", "e@x.ru", None, "ЕКАТЕРИНБУРГ", ["елка"], None, 11),
]
COMPANIES = [
    (10, "Alfa", "IT", 120.0), (11, "Beta", "Retail", 0.0),
]
DEALS = [
    # id, contact_id, company_id, pipeline, stage, semantics, amount, created, closed, user
    (100, 1, 10, "Sales", "Won", "won", 60000, datetime(2026, 1, 1), datetime(2026, 6, 30, 12), 1),
    (101, 1, 10, "Sales", "Won", "won", 50000, datetime(2025, 1, 1), datetime(2025, 12, 1), 1),
    (102, 2, 10, "Sales", "Negotiation", "open", 70000, datetime(2026, 5, 1), None, 2),
    (103, 2, 10, "Sales", "Won", "won", 100000, datetime(2025, 1, 1), datetime(2025, 12, 31, 23), 2),
    (104, 3, 11, "Repeat sales", "Won", "won", 1000, datetime(2025, 1, 1), datetime(2026, 5, 1), 1),
    (105, 3, 11, "Repeat sales", "Lost", "lost", None, datetime(2025, 1, 1), datetime(2026, 1, 1), 1),
    (106, 5, None, "Sales", "Won", "won", 200000, datetime(2024, 1, 1), datetime(2024, 3, 1), 2),
    (107, None, 11, "Sales", "Won", "won", 5, datetime(2024, 1, 1), datetime(2024, 3, 1), 2),
]
USERS = [(1, "Ivan", "Corporate sales"), (2, "Olga", "Retail sales")]
OPT_OUTS = [(1, "email", datetime(2026, 1, 1), "link"), (3, "phone", datetime(2026, 1, 1), "call")]
FIELD_CHANGES = [
    ("contacts", 2, "city", "Kazan", " moscow ", datetime(2026, 6, 25)),
    ("contacts", 3, "city", "Moscow", "Санкт-Петербург", datetime(2026, 3, 1)),
]
MAILINGS = [(1, "Spring sale 2026", "email", "Sale", datetime(2026, 4, 1, 10))]
RECIPIENTS = [(1, 1, True, True, False, False), (1, 2, True, False, False, False)]
ORDERS = [(1000, 1, "paid", 300, "RUB", datetime(2026, 6, 20)),
          (1001, 2, "cancelled", 50, "RUB", datetime(2026, 6, 21))]
ITEMS = [(1, 1000, 7, "Kettle", "Home", 1, 300), (2, 1001, 8, "Book", "Books", 1, 50)]
VISITS = [(1, 1, "https://shop.example.com/pricing", "/pricing", "ads",
           datetime(2026, 6, 29), 30),
          (2, 1, "https://shop.example.com/pricing", "/pricing", "ads",
           datetime(2026, 6, 17), 30),
          (3, 2, "https://shop.example.com/", "/", "organic", datetime(2026, 6, 29), 5)]
LEADS = [
    # id, name, email, phone, status, semantics, source, amount, company, city,
    # created_at, contact_id, user
    (1, "Lead A", "a@x.ru", None, "NEW", "open", "Website", 10, "A", "Moscow",
     datetime(2026, 6, 15), None, 1),
    (2, "Lead B", None, "79160000000", "CONVERTED", "converted", "Call", 20, "B",
     "Kazan", datetime(2026, 1, 1), 1, 2),
]


def build():
    con = store.connect()
    con.executemany("INSERT INTO contacts (id, name, email, phone, city, tags, created_at,"
                    " company_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CONTACTS)
    con.executemany("INSERT INTO companies (id, name, industry, employees) "
                    "VALUES (?, ?, ?, ?)", COMPANIES)
    con.executemany("INSERT INTO deals (id, contact_id, company_id, pipeline, stage, "
                    "stage_semantics, amount, created_at, closed_at, assigned_user_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DEALS)
    con.executemany("INSERT INTO users VALUES (?, ?, ?)", USERS)
    con.executemany("INSERT INTO opt_outs VALUES (?, ?, ?, ?)", OPT_OUTS)
    con.executemany("INSERT INTO field_changes VALUES (?, ?, ?, ?, ?, ?)", FIELD_CHANGES)
    con.executemany("INSERT INTO mailings VALUES (?, ?, ?, ?, ?)", MAILINGS)
    con.executemany("INSERT INTO mailing_recipients VALUES (?, ?, ?, ?, ?, ?)", RECIPIENTS)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", ORDERS)
    con.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?, ?)", ITEMS)
    con.executemany("INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)", VISITS)
    con.executemany("INSERT INTO leads (id, name, email, phone, status, "
                    "status_semantics, source, amount, company_name, city, created_at,"
                    " contact_id, assigned_user_id) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LEADS)
    return con
