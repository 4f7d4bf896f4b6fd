"""Mailing previews, drop reasons and the recorded mailing history.

Tiny contacts on the e-mail channel (tests/tiny.py):
1 Anna anna@example.ru (opted out of e-mail), 2 Boris " BORIS@Example.ru ",
3 Vera "", 4 Gleb NULL, 5 Dina "dina@example" (no dot after @), 6 e@x.ru.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests import tiny
from workbench import evaluator
from workbench.definition import Definition, FieldCondition, Group, RelatedCondition
from workbench.mailing import (
    MailingError, mailings, normalise, preview_mailing, record_mailing,
)

EVERYONE = Definition("everyone", "All contacts")
SENT = datetime(2026, 6, 30, 10, 0)


def missed(name: str) -> Definition:
    """All contacts minus those who received mailing ``name``."""
    received = RelatedCondition("mailings", "exists", Group("all", (
        FieldCondition("mailing_name", "equals", name),)))
    return Definition("missed", f"Missed {name}", exclude=(received,))


@pytest.mark.parametrize("raw", [
    pytest.param("8 (916) 123-45-67", id="eight-prefix"),
    pytest.param("+7 (916) 123-45-67", id="plus-seven"),
    pytest.param("9161234567", id="ten-digits"),
    pytest.param("79161234567", id="already-normal"),
])
def test_russian_phone_numbers_normalise_to_seven_and_ten_digits(raw):
    con = tiny.build()

    out = normalise(con, [raw], "phone")

    assert out["address"].tolist() == ["79161234567"]
    assert out["valid"].tolist() == [True]


def test_email_is_trimmed_and_lower_cased():
    con = tiny.build()

    out = normalise(con, [" Anna@Example.RU ", "\tx@y.ru\n"], "email")

    assert out["address"].tolist() == ["anna@example.ru", "x@y.ru"]


@pytest.mark.parametrize("raw,channel", [
    pytest.param("dina@example", "email", id="email-without-dot-in-domain"),
    pytest.param("not an email", "email", id="email-without-at"),
    pytest.param("123-45-67", "phone", id="phone-too-short"),
    pytest.param("4951234567", "phone", id="ten-digits-not-mobile"),
])
def test_invalid_addresses_are_flagged(raw, channel):
    con = tiny.build()

    assert normalise(con, [raw], channel)["valid"].tolist() == [False]


def test_preview_drops_each_member_for_its_first_reason():
    con = tiny.build()
    con.execute("INSERT INTO contacts (id, name, email) VALUES (7, 'Boris 2', "
                "'boris@example.RU')")

    preview = preview_mailing(con, EVERYONE, tiny.AS_OF, "email")

    reasons = dict(zip(preview.members["id"],
                       preview.members["reason"].fillna("kept")))
    assert reasons == {1: "opted out", 2: "kept", 3: "no address", 4: "no address",
                       5: "invalid address", 6: "kept", 7: "duplicate address"}
    assert preview.recipients["address"].tolist() == ["boris@example.ru", "e@x.ru"]
    assert preview.dropped_counts == {"no address": 2, "invalid address": 1,
                                      "opted out": 1, "duplicate address": 1}
    assert preview.channels.with_email == 5


def test_preview_on_phone_uses_the_phone_opt_outs():
    con = tiny.build()

    preview = preview_mailing(con, EVERYONE, tiny.AS_OF, "phone")

    reasons = dict(zip(preview.members["id"],
                       preview.members["reason"].fillna("kept")))
    assert reasons == {1: "kept", 2: "no address", 3: "opted out", 4: "no address",
                       5: "kept", 6: "no address"}
    assert preview.recipients["address"].tolist() == ["79160000001", "79160000005"]


def test_recorded_mailing_excludes_its_recipients_from_a_segment_excluding_it():
    con = tiny.build()
    assert evaluator.member_ids(con, missed("Summer 2026"), as_of=tiny.AS_OF) == [
        1, 2, 3, 4, 5, 6]

    done = record_mailing(con, "Summer 2026", "email", EVERYONE, tiny.AS_OF, SENT)

    assert (done.mailing_id, done.recipients) == (2, 2)  # tiny has mailing 1
    assert evaluator.member_ids(con, missed("Summer 2026"), as_of=tiny.AS_OF) == [
        1, 3, 4, 5]
    assert mailings(con)["name"].tolist() == ["Summer 2026", "Spring sale 2026"]


def test_a_dynamic_segment_picks_up_new_contacts_at_the_next_mailing():
    con = tiny.build()
    record_mailing(con, "Summer 2026", "email", EVERYONE, tiny.AS_OF, SENT)
    con.execute("INSERT INTO contacts (id, name, email) VALUES (8, 'New', 'new@x.ru')")

    second = record_mailing(con, "Summer 2026, second wave", "email",
                            missed("Summer 2026"), tiny.AS_OF, SENT)

    assert second.recipients == 1
    got = con.execute("SELECT contact_id FROM mailing_recipients WHERE mailing_id = "
                      "$id", {"id": second.mailing_id}).fetchall()
    assert got == [(8,)]


def test_a_mailing_name_used_before_is_refused():
    con = tiny.build()

    with pytest.raises(MailingError, match='"spring sale 2026" was already recorded'):
        record_mailing(con, "spring sale 2026", "email", EVERYONE, tiny.AS_OF, SENT)


def test_a_segment_of_companies_cannot_be_mailed():
    con = tiny.build()
    companies = Definition("firms", "Firms", entity="companies")

    with pytest.raises(MailingError, match="selects companies"):
        preview_mailing(con, companies, tiny.AS_OF, "email")
