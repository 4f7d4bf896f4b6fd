"""The REST pull against a small fake Bitrix24 portal on 127.0.0.1.

The fake answers as the documentation describes: pages of 50 with
``next`` / ``total`` (none when ``start = -1``), ``>ID`` filters, ids and
money as strings, ISO times with offsets, phones and e-mails as lists of
``{"ID", "VALUE_TYPE", "VALUE", "TYPE_ID"}`` and, now and then, HTTP 503
``QUERY_LIMIT_EXCEEDED``.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench import bitrix_rest, store
from workbench.bitrix_rest import BitrixRestError, Client

TOKEN_PATH = "/rest/7/s3cret/"
N_CONTACTS = 120  # pages of 50, 50, 20


def contact(i: int) -> dict:
    phones = [{"ID": str(1000 + i), "VALUE_TYPE": "MOBILE",
               "VALUE": f"+7 916 000-{i:04d}", "TYPE_ID": "PHONE"}]
    if i == 1:
        phones.append({"ID": "2", "VALUE_TYPE": "WORK", "VALUE": "8 (495) 111-22-33",
                       "TYPE_ID": "PHONE"})
    return {
        "ID": str(i), "NAME": f"Имя{i}", "LAST_NAME": f"Фамилия{i}",
        "SECOND_NAME": None, "TYPE_ID": "CLIENT", "SOURCE_ID": "CALL",
        "COMPANY_ID": "1" if i % 2 else "0", "ASSIGNED_BY_ID": "5",
        "DATE_CREATE": "2024-03-05T07:30:00+00:00",
        "DATE_MODIFY": "2024-04-01T12:00:00+03:00",
        "BIRTHDATE": "", "ADDRESS_CITY": "Москва",
        "PHONE": phones,
        "EMAIL": [{"ID": str(5000 + i), "VALUE_TYPE": "WORK",
                   "VALUE": f"c{i}@example.ru", "TYPE_ID": "EMAIL"}],
    }


class Portal:
    """State of the fake portal and what it was asked."""

    def __init__(self) -> None:
        self.items = {
            1: [{"ID": "1", "TITLE": "Заявка с сайта", "NAME": "Лид",
                 "LAST_NAME": "Один", "STATUS_ID": "CONVERTED",
                 "OPPORTUNITY": "15000.00", "DATE_CREATE": "2024-02-01T10:00:00+03:00",
                 "CONTACT_ID": "3", "PHONE": [], "EMAIL": []},
                {"ID": "2", "TITLE": "Спам", "STATUS_ID": "JUNK",
                 "OPPORTUNITY": "0", "DATE_CREATE": "2024-02-02T10:00:00+03:00"}],
            2: [{"ID": "10", "TITLE": "Поставка", "CONTACT_ID": "1",
                 "COMPANY_ID": "1", "CATEGORY_ID": "1", "STAGE_ID": "C1:WON",
                 "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "1234567.50",
                 "CURRENCY_ID": "RUB", "DATE_CREATE": "2024-01-10T09:00:00+03:00",
                 "CLOSEDATE": "2024-02-20T00:00:00+03:00"},
                {"ID": "11", "TITLE": "Сервис", "CONTACT_ID": "2",
                 "COMPANY_ID": "0", "CATEGORY_ID": "0", "STAGE_ID": "NEW",
                 "STAGE_SEMANTIC_ID": "P", "OPPORTUNITY": "99.90",
                 "CURRENCY_ID": "RUB", "DATE_CREATE": "2024-01-11T09:00:00+03:00",
                 "CLOSEDATE": "2024-05-01T00:00:00+03:00"}],
            3: [contact(i) for i in range(1, N_CONTACTS + 1)],
            4: [{"ID": "1", "TITLE": "ООО Ромашка", "INDUSTRY": "IT",
                 "REVENUE": "5000000", "DATE_CREATE": "2023-12-01T10:00:00+03:00"}],
        }
        self.calls: list[tuple[str, dict]] = []
        self.limit_every = 4  # every 4th call is over the limit
        self.fail_list_after: int | None = None  # hard failure to interrupt a pull
        self.list_answers = 0

    def down_after(self, lists: int | None) -> None:
        """Answer this many more crm.item.list calls, then fail with HTTP 500."""
        self.fail_list_after, self.list_answers = lists, 0
        self.calls.clear()

    def answer(self, method: str, params: dict) -> tuple[int, dict]:
        self.calls.append((method, params))
        if self.limit_every and len(self.calls) % self.limit_every == 0:
            return 503, {"error": "QUERY_LIMIT_EXCEEDED",
                         "error_description": "Too many requests"}
        if method == "crm.category.list":
            return 200, {"result": {"categories": [
                {"id": 0, "name": "Общая"}, {"id": 1, "name": "Опт"}]}, "total": 2}
        if method == "crm.status.list":
            return 200, {"result": [
                {"ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "NEW", "NAME": "Новая"},
                {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "C1:WON",
                 "NAME": "Сделка успешна", "SEMANTICS": "S"},
                {"ENTITY_ID": "STATUS", "STATUS_ID": "CONVERTED",
                 "NAME": "Качественный лид"},
                {"ENTITY_ID": "STATUS", "STATUS_ID": "JUNK",
                 "NAME": "Некачественный лид"},
                {"ENTITY_ID": "SOURCE", "STATUS_ID": "CALL", "NAME": "Звонок"},
                {"ENTITY_ID": "CONTACT_TYPE", "STATUS_ID": "CLIENT",
                 "NAME": "Клиенты"}]}
        if method == "crm.item.list":
            if self.fail_list_after is not None \
                    and self.list_answers >= self.fail_list_after:
                return 500, {"error": "INTERNAL", "error_description": "portal down"}
            self.list_answers += 1
            return 200, self.item_list(params)
        return 400, {"error": "ERROR_METHOD_NOT_FOUND",
                     "error_description": "Method not found!"}

    def item_list(self, params: dict) -> dict:
        rows = self.items[params["entityTypeId"]]
        after = int(params.get("filter", {}).get(">ID", 0))
        rows = sorted((r for r in rows if int(r["ID"]) > after), key=lambda r: int(r["ID"]))
        start = int(params.get("start", 0))
        if start == -1:  # no count, no next: the caller pages by id
            return {"result": {"items": rows[:50]}}
        page = rows[start:start + 50]
        answer = {"result": {"items": page}, "total": len(rows)}
        if start + 50 < len(rows):
            answer["next"] = start + 50
        return answer


@pytest.fixture
def portal():
    state = Portal()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            if not self.path.startswith(TOKEN_PATH):
                self.send_response(401)
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length", 0))
            params = json.loads(self.rfile.read(length) or b"{}")
            status, body = state.answer(self.path[len(TOKEN_PATH):], params)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}{TOKEN_PATH}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def con():
    connection = store.connect()
    yield connection
    connection.close()


def client(portal: Portal) -> Client:
    waits: list[float] = []
    return Client(portal.url, backoff=0.01, min_interval=0, sleep=waits.append)


def test_pull_loads_every_record_across_pages_despite_503s(con, portal):
    seen: list[tuple[str, int, int]] = []

    result = bitrix_rest.pull(con, client(portal), progress=lambda *a: seen.append(a),
                              loaded_at=datetime(2024, 6, 1, 9))

    counts = {e.entity: e.rows_loaded for e in result.entities}
    assert counts == {"companies": 1, "contacts": 120, "deals": 2, "leads": 2}
    assert result.retries > 0
    assert store.scalar(con, "SELECT count(*) FROM contacts") == 120
    assert ("contacts", 120, 120) in seen
    assert [s for s in seen if s[0] == "contacts"] == [
        ("contacts", 50, 120), ("contacts", 100, 120), ("contacts", 120, 120)]
    pages = [p for m, p in portal.calls if m == "crm.item.list"
             and p["entityTypeId"] == 3 and p["start"] == -1]
    assert sorted({p["filter"][">ID"] for p in pages}) == [0, 50, 100]
    assert all(p["select"] == ["*", "PHONE", "EMAIL"] for p in pages)


def test_pull_types_values_and_names_codes(con, portal):
    bitrix_rest.pull(con, client(portal))

    row = con.execute("SELECT name, phone, email, type, source, company_id, "
                      "created_at, modified_at, city FROM contacts WHERE id = 1"
                      ).fetchall()[0]
    assert row == ("Имя1 Фамилия1", "+7 916 000-0001", "c1@example.ru", "Клиенты",
                   "Звонок", 1, datetime(2024, 3, 5, 10, 30),
                   datetime(2024, 4, 1, 12), "Москва")
    assert store.scalar(con, "SELECT company_id FROM contacts WHERE id = 2") is None
    points = con.execute("SELECT kind, value FROM contact_points WHERE entity = "
                         "'contacts' AND record_id = 1 AND channel = 'phone' "
                         "ORDER BY value").fetchall()
    assert points == [("mobile", "+7 916 000-0001"), ("work", "8 (495) 111-22-33")]
    deals = con.execute("SELECT id, pipeline, stage, stage_semantics, amount, "
                        "closed_at, company_id FROM deals ORDER BY id").fetchall()
    assert deals == [
        (10, "Опт", "Сделка успешна", "won", Decimal("1234567.50"),
         datetime(2024, 2, 20), 1),
        (11, "Общая", "Новая", "open", Decimal("99.90"), None, None)]
    leads = con.execute("SELECT id, name, status, status_semantics, amount, "
                        "contact_id FROM leads ORDER BY id").fetchall()
    assert leads == [(1, "Лид Один", "Качественный лид", "converted",
                      Decimal("15000.00"), 3),
                     (2, "Спам", "Некачественный лид", "junk", Decimal("0.00"), None)]


def test_interrupted_pull_resumes_after_the_last_loaded_id(con, portal):
    portal.down_after(3)  # companies: count and page; contacts: count only

    with pytest.raises(BitrixRestError, match="portal down"):
        bitrix_rest.pull(con, client(portal))

    assert store.scalar(con, "SELECT count(*) FROM contacts") == 0
    assert store.get_setting(con, "bitrix24.last_id.companies") == "1"
    portal.down_after(4)  # companies again, contacts: count and one page
    with pytest.raises(BitrixRestError):
        bitrix_rest.pull(con, client(portal), resume=True)
    assert store.scalar(con, "SELECT count(*) FROM contacts") == 50
    assert store.get_setting(con, "bitrix24.last_id.contacts") == "50"

    portal.down_after(None)
    result = bitrix_rest.pull(con, client(portal), resume=True)

    assert store.scalar(con, "SELECT count(*) FROM contacts") == 120
    assert store.scalar(con, "SELECT count(DISTINCT id) FROM contacts") == 120
    firsts = [p["filter"][">ID"] for m, p in portal.calls
              if m == "crm.item.list" and p["entityTypeId"] == 3 and p["start"] == -1]
    assert min(firsts) == 50
    assert {e.entity: e.rows_loaded for e in result.entities}["contacts"] == 70


def test_pull_again_records_changes_dated_by_modified(con, portal):
    bitrix_rest.pull(con, client(portal))
    portal.items[3][0] = {**portal.items[3][0], "ADDRESS_CITY": "Тверь",
                          "DATE_MODIFY": "2024-06-10T09:00:00+03:00"}

    bitrix_rest.pull(con, client(portal))

    changes = con.execute("SELECT entity, record_id, field, old_value, new_value, "
                          "changed_at FROM field_changes").fetchall()
    assert changes == [("contacts", 1, "city", "Москва", "Тверь",
                        datetime(2024, 6, 10, 9))]


def test_client_backs_off_and_gives_up_after_its_retries(portal):
    portal.limit_every = 1  # every call is over the limit
    waits: list[float] = []
    c = Client(portal.url, retries=3, backoff=0.5, min_interval=0, sleep=waits.append)

    with pytest.raises(BitrixRestError, match="QUERY_LIMIT_EXCEEDED"):
        c.call("crm.category.list", {"entityTypeId": 2})

    assert waits == [0.5, 1.0, 2.0]
    assert len(portal.calls) == 4


@pytest.mark.parametrize("url", [
    pytest.param("ftp://127.0.0.1/rest/1/x/", id="not-http"),
    pytest.param("https://portal.example/api/1/x/", id="not-a-webhook-path"),
    pytest.param("https://portal.example/rest/1/x/?next=evil", id="query"),
])
def test_check_webhook_rejects_other_addresses(url):
    with pytest.raises(BitrixRestError):
        bitrix_rest.check_webhook(url)


def test_client_refuses_method_names_that_would_change_the_address(portal):
    c = client(portal)

    with pytest.raises(BitrixRestError, match="not a REST method"):
        c.call("../../other/crm.item.list")

    assert portal.calls == []
