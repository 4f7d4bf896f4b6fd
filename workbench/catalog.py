"""The catalog: every record source, field and relation, described once.

The store's schema, the definition validator, the evaluator's SQL, the JSON
Schema and the builder's forms are all derived from the tables below, so
adding a field is one edit here.

A *source* is a set of records a condition can look at: the three segmentable
entities (contacts, companies, leads) and the related records reached from
them (deals, orders, order items, visits, mailings, opt-outs, users).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final, Literal

FieldType = Literal[
    "id", "text", "number", "money", "date", "datetime",
    "enum", "boolean", "list", "email", "phone",
]
Cardinality = Literal["many", "one"]

SQL_TYPES: Final[dict[str, str]] = {
    "id": "BIGINT",
    "text": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "enum": "VARCHAR",
    "number": "DOUBLE",
    "money": "DECIMAL(18,2)",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "list": "VARCHAR[]",
}

TEXT_TYPES: Final = frozenset({"text", "email", "phone", "enum"})
NUMERIC_TYPES: Final = frozenset({"id", "number", "money"})
DATE_TYPES: Final = frozenset({"date", "datetime"})

# Operators valid for each field type, in the order the builder offers them.
OPERATORS_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "text": ("equals", "not_equals", "contains", "not_contains", "in", "not_in",
             "filled", "not_filled", "changed_in_last_days"),
    "number": ("equals", "not_equals", "gt", "gte", "lt", "lte", "between",
               "in", "not_in", "filled", "not_filled", "changed_in_last_days"),
    "date": ("in_last_days", "more_than_days_ago", "exactly_days_ago", "before",
             "after", "on", "between", "filled", "not_filled",
             "changed_in_last_days"),
    "boolean": ("is_true", "is_false", "filled", "not_filled",
                "changed_in_last_days"),
    "list": ("contains", "not_contains", "in", "not_in", "filled", "not_filled",
             "changed_in_last_days"),
}
OPERATORS_BY_TYPE["email"] = OPERATORS_BY_TYPE["text"]
OPERATORS_BY_TYPE["phone"] = OPERATORS_BY_TYPE["text"]
OPERATORS_BY_TYPE["enum"] = OPERATORS_BY_TYPE["text"]
OPERATORS_BY_TYPE["money"] = OPERATORS_BY_TYPE["number"]
OPERATORS_BY_TYPE["id"] = OPERATORS_BY_TYPE["number"]
OPERATORS_BY_TYPE["datetime"] = OPERATORS_BY_TYPE["date"]


@dataclass(frozen=True)
class Field:
    """One column of a source, with the words the forms and sentences use."""

    name: str
    label: str
    type: FieldType
    values: tuple[str, ...] = ()  # closed vocabulary of an enum, if fixed
    tracked: bool = False  # field changes are recorded for it
    stored: bool = True  # a column of the table (False: from a join)

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_TYPE[self.type]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Relation:
    """How records of ``target`` hang off a record of the owning source.

    ``many``: target rows whose ``target_key`` equals our ``key``
    (a contact's deals). ``one``: the target row whose ``target_key`` equals
    our ``key`` column (a contact's company).
    """

    name: str
    label: str
    target: str
    cardinality: Cardinality
    key: str
    target_key: str


@dataclass(frozen=True)
class Source:
    """A set of records with fields and relations to other sources."""

    name: str
    label: str
    singular: str
    table: str
    fields: tuple[Field, ...]
    relations: tuple[Relation, ...] = ()
    key: str = "id"
    # A fixed SELECT (no user values) giving the rows when they need a join,
    # e.g. order items with the contact of their order.
    select_sql: str | None = None
    date_field: str | None = None  # the field that dates a record, if any
    segmentable: bool = False

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def relation(self, name: str) -> Relation:
        for r in self.relations:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.stored)


def _f(name: str, label: str, type_: FieldType, *values: str,
       tracked: bool = False, stored: bool = True) -> Field:
    return Field(name, label, type_, tuple(values), tracked, stored)


STAGE_SEMANTICS: Final = ("open", "won", "lost")
LEAD_SEMANTICS: Final = ("open", "converted", "junk")
CHANNELS: Final = ("email", "phone")

CONTACTS = Source(
    "contacts", "Contacts", "contact", "contacts",
    fields=(
        _f("id", "ID", "id"),
        _f("name", "Name", "text", tracked=True),
        _f("email", "E-mail", "email", tracked=True),
        _f("phone", "Phone", "phone", tracked=True),
        _f("city", "City", "text", tracked=True),
        _f("region", "Region", "text", tracked=True),
        _f("source", "Source", "enum", tracked=True),
        _f("type", "Contact type", "enum", tracked=True),
        _f("tags", "Tags", "list", tracked=True),
        _f("birthday", "Birthday", "date"),
        _f("created_at", "Created", "datetime"),
        _f("modified_at", "Modified", "datetime"),
        _f("company_id", "Company ID", "id", tracked=True),
        _f("assigned_user_id", "Responsible user ID", "id", tracked=True),
    ),
    relations=(
        Relation("deals", "Deals", "deals", "many", "id", "contact_id"),
        Relation("orders", "Orders", "orders", "many", "id", "contact_id"),
        Relation("order_items", "Ordered products", "order_items", "many",
                 "id", "contact_id"),
        Relation("visits", "Website visits", "visits", "many", "id", "contact_id"),
        Relation("leads", "Leads", "leads", "many", "id", "contact_id"),
        Relation("mailings", "Mailings received", "mailings", "many", "id",
                 "contact_id"),
        Relation("opt_outs", "Opt-outs", "opt_outs", "many", "id", "contact_id"),
        Relation("company", "Company", "companies", "one", "company_id", "id"),
        Relation("assigned_user", "Responsible user", "users", "one",
                 "assigned_user_id", "id"),
    ),
    date_field="created_at",
    segmentable=True,
)

COMPANIES = Source(
    "companies", "Companies", "company", "companies",
    fields=(
        _f("id", "ID", "id"),
        _f("name", "Name", "text", tracked=True),
        _f("industry", "Industry", "enum", tracked=True),
        _f("employees", "Employees", "number", tracked=True),
        _f("size_band", "Size band", "enum", tracked=True),
        _f("revenue", "Annual revenue", "money", tracked=True),
        _f("region", "Region", "text", tracked=True),
        _f("city", "City", "text", tracked=True),
        _f("created_at", "Created", "datetime"),
        _f("assigned_user_id", "Responsible user ID", "id", tracked=True),
    ),
    relations=(
        Relation("contacts", "Contacts", "contacts", "many", "id", "company_id"),
        Relation("deals", "Deals", "deals", "many", "id", "company_id"),
        Relation("assigned_user", "Responsible user", "users", "one",
                 "assigned_user_id", "id"),
    ),
    date_field="created_at",
    segmentable=True,
)

DEALS = Source(
    "deals", "Deals", "deal", "deals",
    fields=(
        _f("id", "ID", "id"),
        _f("title", "Title", "text"),
        _f("contact_id", "Contact ID", "id"),
        _f("company_id", "Company ID", "id"),
        _f("pipeline", "Pipeline", "enum", tracked=True),
        _f("stage", "Stage", "enum", tracked=True),
        _f("stage_semantics", "Stage group", "enum", *STAGE_SEMANTICS,
           tracked=True),
        _f("amount", "Amount", "money", tracked=True),
        _f("currency", "Currency", "enum"),
        _f("product", "Product", "enum"),
        _f("source", "Source", "enum"),
        _f("created_at", "Created", "datetime"),
        _f("closed_at", "Closed", "datetime"),
        _f("assigned_user_id", "Responsible user ID", "id", tracked=True),
    ),
    relations=(
        Relation("assigned_user", "Responsible user", "users", "one",
                 "assigned_user_id", "id"),
        Relation("company", "Company", "companies", "one", "company_id", "id"),
        Relation("contact", "Contact", "contacts", "one", "contact_id", "id"),
    ),
    date_field="created_at",
)

LEADS = Source(
    "leads", "Leads", "lead", "leads",
    fields=(
        _f("id", "ID", "id"),
        _f("name", "Name", "text", tracked=True),
        _f("email", "E-mail", "email", tracked=True),
        _f("phone", "Phone", "phone", tracked=True),
        _f("status", "Status", "enum", tracked=True),
        _f("status_semantics", "Status group", "enum", *LEAD_SEMANTICS,
           tracked=True),
        _f("source", "Source", "enum", tracked=True),
        _f("amount", "Expected amount", "money", tracked=True),
        _f("company_name", "Company name", "text"),
        _f("city", "City", "text", tracked=True),
        _f("created_at", "Created", "datetime"),
        _f("contact_id", "Converted contact ID", "id"),
        _f("assigned_user_id", "Responsible user ID", "id", tracked=True),
    ),
    relations=(
        Relation("contact", "Converted contact", "contacts", "one", "contact_id",
                 "id"),
        Relation("assigned_user", "Responsible user", "users", "one",
                 "assigned_user_id", "id"),
    ),
    date_field="created_at",
    segmentable=True,
)

ORDERS = Source(
    "orders", "Orders", "order", "orders",
    fields=(
        _f("id", "ID", "id"),
        _f("contact_id", "Contact ID", "id"),
        _f("status", "Status", "enum"),
        _f("amount", "Amount", "money"),
        _f("currency", "Currency", "enum"),
        _f("created_at", "Ordered", "datetime"),
    ),
    relations=(
        Relation("items", "Order items", "order_items", "many", "id", "order_id"),
    ),
    date_field="created_at",
)

ORDER_ITEMS = Source(
    "order_items", "Ordered products", "ordered product", "order_items",
    fields=(
        _f("id", "ID", "id"),
        _f("order_id", "Order ID", "id"),
        _f("product_id", "Product ID", "id"),
        _f("product", "Product", "enum"),
        _f("category", "Category", "enum"),
        _f("quantity", "Quantity", "number"),
        _f("price", "Price", "money"),
        _f("contact_id", "Contact ID", "id", stored=False),
        _f("ordered_at", "Ordered", "datetime", stored=False),
        _f("order_status", "Order status", "enum", stored=False),
    ),
    select_sql=(
        "SELECT i.id, i.order_id, i.product_id, i.product, i.category, "
        "i.quantity, i.price, o.contact_id, o.created_at AS ordered_at, "
        "o.status AS order_status "
        "FROM order_items AS i JOIN orders AS o ON o.id = i.order_id"
    ),
    date_field="ordered_at",
)

PRODUCTS = Source(
    "products", "Products", "product", "products",
    fields=(
        _f("id", "ID", "id"),
        _f("name", "Name", "text"),
        _f("category", "Category", "enum"),
        _f("price", "List price", "money"),
    ),
)

VISITS = Source(
    "visits", "Website visits", "visit", "visits",
    fields=(
        _f("id", "ID", "id"),
        _f("contact_id", "Contact ID", "id"),
        _f("url", "URL", "text"),
        _f("page", "Page", "enum"),
        _f("source", "Traffic source", "enum"),
        _f("visited_at", "Visited", "datetime"),
        _f("duration_seconds", "Duration, s", "number"),
    ),
    date_field="visited_at",
)

USERS = Source(
    "users", "Users", "user", "users",
    fields=(
        _f("id", "ID", "id"),
        _f("name", "Name", "text"),
        _f("department", "Department", "enum"),
    ),
)

MAILINGS = Source(
    "mailings", "Mailings received", "mailing received", "mailing_recipients",
    fields=(
        _f("mailing_id", "Mailing ID", "id"),
        _f("contact_id", "Contact ID", "id"),
        _f("delivered", "Delivered", "boolean"),
        _f("opened", "Opened", "boolean"),
        _f("clicked", "Clicked", "boolean"),
        _f("bounced", "Bounced", "boolean"),
        _f("mailing_name", "Mailing", "enum", stored=False),
        _f("channel", "Channel", "enum", *CHANNELS, stored=False),
        _f("sent_at", "Sent", "datetime", stored=False),
    ),
    key="mailing_id",
    select_sql=(
        "SELECT r.mailing_id, r.contact_id, r.delivered, r.opened, r.clicked, "
        "r.bounced, m.name AS mailing_name, m.channel, m.sent_at "
        "FROM mailing_recipients AS r JOIN mailings AS m ON m.id = r.mailing_id"
    ),
    date_field="sent_at",
)

OPT_OUTS = Source(
    "opt_outs", "Opt-outs", "opt-out", "opt_outs",
    fields=(
        _f("contact_id", "Contact ID", "id"),
        _f("channel", "Channel", "enum", *CHANNELS),
        _f("opted_out_at", "Opted out", "datetime"),
        _f("reason", "Reason", "text"),
    ),
    key="contact_id",
    date_field="opted_out_at",
)

SOURCES: Final[dict[str, Source]] = {
    s.name: s
    for s in (CONTACTS, COMPANIES, LEADS, DEALS, ORDERS, ORDER_ITEMS, PRODUCTS,
              VISITS, USERS, MAILINGS, OPT_OUTS)
}
ENTITIES: Final[tuple[str, ...]] = tuple(
    s.name for s in SOURCES.values() if s.segmentable
)


@dataclass(frozen=True)
class Table:
    """A stored table that is not a source of conditions."""

    name: str
    columns: tuple[tuple[str, str], ...]
    description: str = ""


# Tables behind sources that are joins, and bookkeeping tables.
EXTRA_TABLES: Final[tuple[Table, ...]] = (
    Table("mailings", (("id", "BIGINT"), ("name", "VARCHAR"), ("channel", "VARCHAR"),
                       ("subject", "VARCHAR"), ("sent_at", "TIMESTAMP")),
          "One mailing: what was sent, on which channel, when."),
    Table("field_changes", (("entity", "VARCHAR"), ("record_id", "BIGINT"),
                            ("field", "VARCHAR"), ("old_value", "VARCHAR"),
                            ("new_value", "VARCHAR"), ("changed_at", "TIMESTAMP")),
          "A field of a record changed from one value to another."),
    Table("contact_points", (("entity", "VARCHAR"), ("record_id", "BIGINT"),
                             ("channel", "VARCHAR"), ("kind", "VARCHAR"),
                             ("value", "VARCHAR")),
          "Every phone and e-mail of a record; the first is also on the record."),
    Table("external_ids", (("entity", "VARCHAR"), ("external_id", "VARCHAR"),
                           ("id", "BIGINT")),
          "Keys of imported records as their source system wrote them."),
    Table("workspace", (("key", "VARCHAR"), ("value", "VARCHAR")),
          "Workspace settings stored with the data: time zone, origin."),
    Table("loads", (("id", "BIGINT"), ("loaded_at", "TIMESTAMP"),
                    ("entity", "VARCHAR"), ("file", "VARCHAR"),
                    ("mode", "VARCHAR"), ("rows_in", "BIGINT"),
                    ("rows_loaded", "BIGINT"), ("rows_rejected", "BIGINT")),
          "One load of a file or a demo generation into an entity table."),
)


def source(name: str) -> Source:
    """The source called ``name``; KeyError naming the known ones otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(
            f"unknown source {name!r}; known: {', '.join(SOURCES)}"
        ) from None


def closest(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The known name most like ``name``, for "did you mean" hints.

    >>> closest("amout", ["amount", "currency"])
    'amount'
    """
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


@dataclass(frozen=True)
class OperatorInfo:
    """What the forms and sentences need to know of one operator."""

    name: str
    label: str
    value: Literal["none", "scalar", "list", "pair", "days", "date"]
    words: str  # sentence fragment, "{v}" is replaced by the value
    negative_of: str | None = None


OPERATORS: Final[dict[str, OperatorInfo]] = {
    o.name: o
    for o in (
        OperatorInfo("equals", "equals", "scalar", "is {v}"),
        OperatorInfo("not_equals", "not equals", "scalar", "is not {v}", "equals"),
        OperatorInfo("contains", "contains", "scalar", "contains {v}"),
        OperatorInfo("not_contains", "does not contain", "scalar",
                     "does not contain {v}", "contains"),
        OperatorInfo("gt", "greater than", "scalar", "is greater than {v}"),
        OperatorInfo("gte", "at least", "scalar", "is at least {v}"),
        OperatorInfo("lt", "less than", "scalar", "is less than {v}"),
        OperatorInfo("lte", "at most", "scalar", "is at most {v}"),
        OperatorInfo("between", "between", "pair", "is between {v}"),
        OperatorInfo("in", "is one of", "list", "is one of {v}"),
        OperatorInfo("not_in", "is none of", "list", "is none of {v}", "in"),
        OperatorInfo("filled", "is filled", "none", "is filled"),
        OperatorInfo("not_filled", "is empty", "none", "is empty", "filled"),
        OperatorInfo("is_true", "is yes", "none", "is yes"),
        OperatorInfo("is_false", "is no", "none", "is no"),
        OperatorInfo("in_last_days", "in the last N days", "days",
                     "is within the last {v} days"),
        OperatorInfo("more_than_days_ago", "more than N days ago", "days",
                     "is more than {v} days ago"),
        OperatorInfo("exactly_days_ago", "exactly N days ago", "days",
                     "is exactly {v} days ago"),
        OperatorInfo("before", "before", "date", "is before {v}"),
        OperatorInfo("after", "after", "date", "is after {v}"),
        OperatorInfo("on", "on", "date", "is on {v}"),
        OperatorInfo("changed_in_last_days", "changed in the last N days", "days",
                     "changed within the last {v} days"),
    )
}

QUANTIFIERS: Final[dict[str, str]] = {
    "exists": "has at least one",
    "none": "has no",
    "count": "number of",
    "sum": "sum of",
    "min": "smallest",
    "max": "largest (latest)",
}
# Operators an aggregate may be compared with: count and sum are numbers;
# min and max take the operators of the field they aggregate.
AGGREGATE_OPERATORS: Final = ("equals", "not_equals", "gt", "gte", "lt", "lte",
                              "between")
