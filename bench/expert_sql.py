"""Hand-written DuckDB SQL for every example segment, the way an expert would.

Each query counts the same records as the evaluator, from the segment's
description. Text is folded (``lower(trim(...))``) only where the demo data
needs it, contacts' city; every other text column the examples look at
(pipeline, stage, currency, order status, category, page, department,
industry, lead source, mailing name) is stored in one spelling, so an expert
who has looked at the data compares it exactly. The evaluator cannot know
that and folds them all; that difference is part of what is measured.

Day windows are written as bounds on the stored timestamp, the way an expert
keeps them sargable: "closed in the last 60 days" as of 2026-06-30 is
``closed_at >= '2026-05-02' AND closed_at < '2026-07-01'``.
"""

from __future__ import annotations

from datetime import date, timedelta


def _day(d: date) -> str:
    return f"TIMESTAMP '{d.isoformat()}'"


def last_days(column: str, days: int, as_of: date) -> str:
    """``column`` falls on one of the ``days`` calendar days ending ``as_of``."""
    lo = as_of - timedelta(days=days - 1)
    hi = as_of + timedelta(days=1)
    return f"{column} >= {_day(lo)} AND {column} < {_day(hi)}"


def queries(as_of: date) -> dict[str, str]:
    """Segment id -> a ``SELECT count(*)`` query for it."""
    won_customers = (
        "SELECT contact_id FROM deals WHERE stage_semantics = 'won' "
        "UNION SELECT contact_id FROM orders WHERE status IN ('paid', 'delivered')")
    no_open_deal = ("NOT EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = c.id "
                    "AND d.stage_semantics = 'open')")
    return {
        "active-buyers": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT contact_id FROM deals
              WHERE stage_semantics = 'won' AND {last_days('closed_at', 60, as_of)})""",
        "vip": """
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT contact_id FROM deals
              WHERE stage_semantics = 'won' AND currency = 'RUB'
              GROUP BY contact_id HAVING sum(amount) > 100000)""",
        "inactive": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT contact_id FROM deals WHERE stage_semantics = 'won'
              GROUP BY contact_id
              HAVING max(closed_at) < {_day(as_of - timedelta(days=180))})
            AND {no_open_deal}""",
        "potential": """
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT d.contact_id FROM deals d
              JOIN users u ON u.id = d.assigned_user_id
              WHERE d.stage_semantics = 'open' AND d.pipeline = 'Sales'
                AND d.stage = 'Negotiation' AND u.department = 'Corporate sales')""",
        "two-capitals": """
            SELECT count(*) FROM contacts
            WHERE lower(trim(city)) IN ('moscow', 'saint petersburg')""",
        "customers": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN ({won_customers})""",
        "unsubscribed": """
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT contact_id FROM opt_outs WHERE channel = 'email')""",
        "spring-sale-followup": f"""
            SELECT count(*) FROM contacts c
            WHERE c.id IN ({won_customers})
            AND NOT EXISTS (
              SELECT 1 FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id
              WHERE r.contact_id = c.id AND m.name = 'Spring sale 2026')
            AND NOT EXISTS (
              SELECT 1 FROM opt_outs o WHERE o.contact_id = c.id AND o.channel = 'email')""",
        "electronics-buyers": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT o.contact_id FROM order_items i JOIN orders o ON o.id = i.order_id
              WHERE i.category = 'Electronics' AND o.status IN ('paid', 'delivered')
                AND {last_days('o.created_at', 90, as_of)})""",
        "pricing-visitors": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT contact_id FROM visits
              WHERE page = '/pricing' AND {last_days('visited_at', 14, as_of)}
              GROUP BY contact_id HAVING count(*) >= 2)
            AND {no_open_deal}""",
        "moved-recently": f"""
            SELECT count(*) FROM contacts c WHERE c.id IN (
              SELECT record_id FROM field_changes
              WHERE entity = 'contacts' AND field = 'city'
                AND {last_days('changed_at', 30, as_of)})""",
        "it-companies-in-play": """
            SELECT count(*) FROM companies c
            WHERE c.industry = 'IT' AND c.employees >= 50 AND c.id IN (
              SELECT company_id FROM deals WHERE stage_semantics = 'open')""",
        "fresh-website-leads": f"""
            SELECT count(*) FROM leads
            WHERE source = 'Website' AND {last_days('created_at', 30, as_of)}
              AND (status_semantics IS NULL
                   OR status_semantics NOT IN ('converted', 'junk'))""",
    }
