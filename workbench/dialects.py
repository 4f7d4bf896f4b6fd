"""Render a compiled segment for another SQL engine, keeping its meaning.

The compiler builds one sqlglot expression tree; sqlglot writes it for each
dialect. What sqlglot does not change on its own, because the SQL would run
but mean something else, is rewritten here by small passes, one per
difference, before the tree is written:

* ClickHouse's ``lower`` folds ASCII letters only, so text folding uses
  ``lowerUTF8`` there (DESIGN.md: Cyrillic compares case-insensitively).
* BigQuery and Trino read an array parameter as rows only in ``FROM``:
  ``x IN (SELECT UNNEST(p))`` becomes ``x IN (SELECT u.v FROM UNNEST(p) AS u(v))``.

A condition a dialect cannot express raises ``DialectError`` naming the
segment, the condition's path, its wording and the dialect, never a query
that would run with another meaning.

PostgreSQL and Spark SQL are run and checked against DuckDB by the tests;
Trino, BigQuery and ClickHouse are rendered only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Final

from sqlglot import ErrorLevel, exp
from sqlglot.errors import SqlglotError

from workbench import catalog, compiler
from workbench.compiler import ROOT, Compiled, Context
from workbench.definition import Definition, Resolver
from workbench.describe import describe_node
from workbench.errors import WorkbenchError

DIALECTS: Final = ("duckdb", "postgres", "spark", "trino", "bigquery", "clickhouse")
# Dialects the workbench runs queries on (workbench.engines); others are rendered.
RUNNABLE: Final = ("duckdb", "postgres", "spark")


class Unsupported(Exception):
    """A pass met something its dialect cannot express (internal signal)."""


class DialectError(WorkbenchError, ValueError):
    """A condition of a segment cannot be written in a dialect."""

    def __init__(self, dialect: str, reason: str, segment: str | None = None,
                 path: str | None = None, condition: str | None = None):
        self.dialect = dialect
        self.reason = reason
        self.segment = segment
        self.path = path
        self.condition = condition
        where = f'Segment "{segment}"' if segment else "The query"
        if path:
            where += f", {path}"
        if condition:
            where += f" ({condition})"
        super().__init__(f"{where} cannot be written in {dialect}: {reason}")


# --------------------------------------------------------------------------
# Passes: each takes the tree (a copy) and returns it rewritten.


def unnest_param_in_from(tree: exp.Expression) -> exp.Expression:
    """``SELECT UNNEST(p)`` becomes ``SELECT u.v FROM UNNEST(p) AS u(v)``."""
    for select in list(tree.find_all(exp.Select)):
        items = select.expressions
        if select.args.get("from_") is not None or len(items) != 1 \
                or not isinstance(items[0], exp.Unnest):
            continue
        unnest = items[0].copy()
        unnest.set("alias", exp.TableAlias(this=exp.to_identifier("u"),
                                           columns=[exp.to_identifier("v")]))
        select.set("expressions", [exp.column("v", table="u")])
        select.from_(unnest, copy=False)
    return tree


def lower_utf8(tree: exp.Expression) -> exp.Expression:
    """``LOWER(x)`` becomes ``lowerUTF8(x)`` (ClickHouse folds ASCII otherwise)."""
    return tree.transform(
        lambda node: exp.Anonymous(this="lowerUTF8", expressions=[node.this])
        if isinstance(node, exp.Lower) else node)


def refuse_unnest(tree: exp.Expression) -> exp.Expression:
    """ClickHouse has no UNNEST: list fields and static snapshots need it."""
    if tree.find(exp.Unnest) is not None:
        raise Unsupported("it needs UNNEST of an array (list fields, static "
                          "snapshots), which ClickHouse writes as ARRAY JOIN; "
                          "not supported yet")
    return tree


def clickhouse_param_types(tree: exp.Expression,
                           params: dict[str, Any]) -> exp.Expression:
    """ClickHouse parameters carry their type: ``{p0: String}``."""
    for ph in tree.find_all(exp.Placeholder):
        kind = _clickhouse_type(params.get(ph.name))
        ph.set("kind", exp.DataType.build(kind, dialect="clickhouse"))
    return tree


def _clickhouse_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, datetime):
        return "DateTime64(6)"
    if isinstance(value, date):
        return "Date32"
    if isinstance(value, list):
        return f"Array({_clickhouse_type(value[0]) if value else 'Int64'})"
    return "String"


PASSES: Final[dict[str, tuple[Callable[[exp.Expression], exp.Expression], ...]]] = {
    "trino": (unnest_param_in_from,),
    "bigquery": (unnest_param_in_from,),
    "clickhouse": (refuse_unnest, lower_utf8),
}


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise DialectError(dialect, f"unknown dialect; known: {', '.join(DIALECTS)}")
    return dialect


def rewrite(tree: exp.Expression, dialect: str) -> exp.Expression:
    """The tree with the passes of ``dialect`` applied (a copy; raises Unsupported)."""
    tree = tree.copy()
    for step in PASSES.get(check_dialect(dialect), ()):
        tree = step(tree)
    return tree


def to_sql(tree: exp.Expression, dialect: str, *, pretty: bool = False) -> str:
    """Rewrite and write ``tree``; anything sqlglot would drop raises Unsupported."""
    tree = rewrite(tree, dialect)
    try:
        return tree.sql(dialect=dialect, pretty=pretty,
                        unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as err:
        raise Unsupported(str(err)) from None


def render(compiled: Compiled, dialect: str, defn: Definition, *, as_of: date,
           resolver: Resolver | None = None, pretty: bool = False) -> str:
    """The SQL of ``compiled`` (a query for ``defn``) in ``dialect``.

    Raises:
        DialectError: naming the first condition of ``defn`` that the dialect
            cannot express, or the whole query when no single condition is to
            blame.

    >>> from workbench import definition
    >>> d = definition.parse({"id": "m", "name": "m", "include": {"all": [
    ...     {"field": "city", "op": "equals", "value": "Moscow"}]}})
    >>> c = compiler.compile_members(d, date(2026, 6, 30))
    >>> render(c, "postgres", d, as_of=date(2026, 6, 30))
    'SELECT "t"."id" FROM "contacts" AS t WHERE LOWER(TRIM("t"."city")) = LOWER(TRIM(%(p0)s))'
    """
    tree = compiled.expression
    if dialect == "clickhouse":
        tree = clickhouse_param_types(tree.copy(), compiled.params)
    try:
        return to_sql(tree, dialect, pretty=pretty)
    except Unsupported as err:
        raise blame(defn, dialect, str(err), as_of=as_of, resolver=resolver) from None


def blame(defn: Definition, dialect: str, reason: str, *, as_of: date,
          resolver: Resolver | None = None) -> DialectError:
    """The error for ``defn`` in ``dialect``, naming the condition at fault."""
    if defn.mode == "static" and defn.snapshot is not None:
        return DialectError(dialect, reason, defn.id, "snapshot",
                            "the member ids frozen by the snapshot")
    src = catalog.source(defn.entity)
    for path, node in compiler.leaves(defn):
        ctx = Context(as_of, resolver, stack=(defn.id,))
        probe = compiler.entity_from(defn).select(
            compiler.compile_node(node, src, ROOT, ctx))
        try:
            to_sql(probe, dialect)
        except Unsupported as err:
            return DialectError(dialect, str(err), defn.id, path,
                                describe_node(node, src))
    return DialectError(dialect, reason, defn.id)
