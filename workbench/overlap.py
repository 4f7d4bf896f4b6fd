"""Exact overlap of 2 to 8 segments of one entity, from one scan.

Every record gets a membership bitmask: bit ``i`` is set when it is a member
of segment ``i``. Each segment's compiled predicate becomes one boolean
column over the entity table and the query groups by the mask, so the counts
of all ``2**n - 1`` regions (and of records in none) come from one query::

    SELECT mask, count(*) FROM (
      SELECT (CASE WHEN <vip> THEN 1 ELSE 0 END)
           | (CASE WHEN <active-buyers> THEN 2 ELSE 0 END) AS mask
      FROM contacts AS t) GROUP BY mask

A *region* is "in exactly these segments and in none of the others". Segment
sizes, the pairwise matrix, the UpSet bars and the Venn labels are all sums
of region counts, so they agree with each other by construction.
``region_definition`` writes a region back as a definition made of segment
references (all of A, B; exclude C), which evaluates to exactly that region.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb
import pandas as pd
from sqlglot import exp

from workbench import catalog, compiler
from workbench.compiler import ROOT, Compiled, Context, col
from workbench.definition import Definition, Group, Resolver, SegmentRef
from workbench.errors import WorkbenchError
from workbench.evaluator import run

logger = logging.getLogger(__name__)

MIN_SEGMENTS: Final = 2
MAX_SEGMENTS: Final = 8


class OverlapError(WorkbenchError, ValueError):
    """The segments cannot be overlapped as asked."""


@dataclass(frozen=True)
class Overlap:
    """Region counts of a set of segments; every other view derives from them.

    ``regions`` maps a non-zero mask (bit ``i`` = in ``segments[i]``) to the
    number of records in exactly those segments; masks with no records are
    absent. ``outside`` counts records in none of them; ``total`` all records.
    """

    segments: tuple[str, ...]
    names: tuple[str, ...]
    entity: str
    as_of: date
    regions: dict[int, int]
    outside: int
    total: int

    def count(self, mask: int) -> int:
        """Records in exactly the segments of ``mask`` (0: in none)."""
        return self.outside if mask == 0 else self.regions.get(mask, 0)

    def members_of(self, mask: int) -> list[int]:
        """Indexes of the segments whose bits are set in ``mask``."""
        return [i for i in range(len(self.segments)) if mask >> i & 1]

    def label(self, mask: int) -> str:
        """``vip & active-buyers`` for a region, ``none`` for mask 0."""
        inside = self.members_of(mask)
        return " & ".join(self.segments[i] for i in inside) if inside else "none"

    @property
    def sizes(self) -> list[int]:
        """Size of each segment: the sum of the regions that contain it."""
        return [sum(n for m, n in self.regions.items() if m >> i & 1)
                for i in range(len(self.segments))]

    def shared(self, i: int, j: int) -> int:
        """Records in both segment ``i`` and segment ``j`` (and maybe others)."""
        both = 1 << i | 1 << j
        return sum(n for m, n in self.regions.items() if m & both == both)

    def pairwise(self) -> pd.DataFrame:
        """One row per ordered pair: shared count, share of the row, Jaccard."""
        sizes = self.sizes
        rows = []
        for i, a in enumerate(self.segments):
            for j, b in enumerate(self.segments):
                both = self.shared(i, j)
                union = sizes[i] + sizes[j] - both
                rows.append({
                    "row": a, "column": b, "shared": both,
                    "share_of_row": both / sizes[i] if sizes[i] else 0.0,
                    "jaccard": both / union if union else 0.0,
                })
        return pd.DataFrame(rows)

    def matrix(self, value: str = "shared") -> pd.DataFrame:
        """The pairwise ``value`` as a square table, rows and columns by segment."""
        frame = self.pairwise().pivot(index="row", columns="column", values=value)
        return frame.loc[list(self.segments), list(self.segments)]

    def intersections(self) -> pd.DataFrame:
        """Non-empty regions, largest first: the bars of an UpSet chart."""
        rows = [{"mask": m, "region": self.label(m), "degree": bin(m).count("1"),
                 "count": n, **{s: bool(m >> i & 1) for i, s in enumerate(self.segments)}}
                for m, n in self.regions.items() if n > 0]
        frame = pd.DataFrame(rows, columns=["mask", "region", "degree", "count",
                                            *self.segments])
        return frame.sort_values(["count", "degree", "mask"],
                                 ascending=[False, True, True], ignore_index=True)


def _check(defns: list[Definition]) -> str:
    if not MIN_SEGMENTS <= len(defns) <= MAX_SEGMENTS:
        raise OverlapError(f"overlap needs {MIN_SEGMENTS} to {MAX_SEGMENTS} segments, "
                           f"got {len(defns)}")
    ids = [d.id for d in defns]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise OverlapError(f"segment {', '.join(repeated)} is listed more than once")
    entities = {d.entity for d in defns}
    if len(entities) > 1:
        shown = ", ".join(f"{d.id} ({d.entity})" for d in defns)
        raise OverlapError(f"segments of different entities cannot overlap: {shown}")
    return defns[0].entity


def _predicates(defns: list[Definition], ctx: Context) -> list[exp.Expression]:
    """Each definition's predicate over the root alias, NULL read as false."""
    return [compiler.coalesce_false(compiler.definition_predicate(d, ROOT, ctx))
            for d in defns]


def mask_expression(predicates: list[exp.Expression]) -> exp.Expression:
    """``(CASE WHEN p0 THEN 1 ELSE 0 END) | (CASE WHEN p1 THEN 2 ELSE 0 END) ...``."""
    bits = [exp.paren(exp.Case(ifs=[exp.If(this=p, true=exp.Literal.number(1 << i))],
                               default=exp.Literal.number(0)), copy=False)
            for i, p in enumerate(predicates)]
    mask = bits[0]
    for bit in bits[1:]:
        mask = exp.BitwiseOr(this=mask, expression=bit)
    return mask


def compile_overlap(defns: list[Definition], as_of: date,
                    resolver: Resolver | None = None) -> Compiled:
    """``SELECT mask, count(*) ... GROUP BY mask`` for the definitions."""
    _check(defns)
    ctx = Context(as_of, resolver)
    inner = compiler.entity_from(defns[0]).select(
        exp.alias_(mask_expression(_predicates(defns, ctx)), "mask"))
    query = (exp.select("mask", exp.alias_(exp.Count(this=exp.Star()), "n"))
             .from_(exp.Subquery(this=inner, alias="masks")).group_by("mask"))
    return Compiled(query, ctx.params)


def overlap(con: duckdb.DuckDBPyConnection, defns: list[Definition], *, as_of: date,
            resolver: Resolver | None = None) -> Overlap:
    """Exact region counts of 2-8 segments of one entity, in one query.

    Args:
        con: the workbench database.
        defns: the segments, in the order their bits are assigned.
        as_of: the reference day of relative dates.
        resolver: looks up referenced segments (a ``Library``).

    Returns:
        An ``Overlap`` from which sizes, the pairwise matrix and the UpSet
        bars are read.
    """
    rows = run(con, compile_overlap(defns, as_of, resolver)).fetchall()
    counts = {int(m): int(n) for m, n in rows}
    outside = counts.pop(0, 0)
    return Overlap(tuple(d.id for d in defns), tuple(d.name for d in defns),
                   defns[0].entity, as_of, counts, outside,
                   outside + sum(counts.values()))


def region_predicate(defns: list[Definition], mask: int,
                     ctx: Context) -> exp.Expression:
    """In every segment of ``mask`` and in none of the others."""
    parts = []
    for i, p in enumerate(_predicates(defns, ctx)):
        parts.append(p if mask >> i & 1 else exp.Not(this=exp.paren(p, copy=False)))
    return compiler.and_(parts)


def _check_mask(defns: list[Definition], mask: int) -> None:
    if not 0 <= mask < 1 << len(defns):
        raise OverlapError(f"region {mask} does not exist for {len(defns)} segments; "
                           f"expected 0 to {(1 << len(defns)) - 1}")


def region_members(con: duckdb.DuckDBPyConnection, defns: list[Definition], mask: int,
                   *, as_of: date, resolver: Resolver | None = None,
                   limit: int | None = None,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """Records of one region with their stored fields (or ``columns``), by id."""
    entity = _check(defns)
    _check_mask(defns, mask)
    src = catalog.source(entity)
    names = columns or [f.name for f in src.stored_fields]
    ctx = Context(as_of, resolver)
    query = (compiler.entity_from(defns[0]).select(*[col(ROOT, n) for n in names])
             .where(region_predicate(defns, mask, ctx)).order_by(col(ROOT, "id")))
    if limit is not None:
        query = query.limit(limit)
    return run(con, Compiled(query, ctx.params)).df()


def region_ids(con: duckdb.DuckDBPyConnection, defns: list[Definition], mask: int, *,
               as_of: date, resolver: Resolver | None = None) -> list[int]:
    """Ids of the records in exactly the segments of ``mask``, ascending."""
    frame = region_members(con, defns, mask, as_of=as_of, resolver=resolver,
                           columns=["id"])
    return [int(i) for i in frame["id"]]


def region_definition(defns: list[Definition], mask: int, *, segment_id: str,
                      name: str, description: str | None = None) -> Definition:
    """A dynamic definition of one region, built from segment references.

    The region "in A and B, not in C" becomes ``include: all of [A, B]`` and
    ``exclude: [C]``, so it follows its parts when they change. The parts
    must be saved segments (references are by id). Mask 0, "in none of
    them", includes every record and excludes all the parts.
    """
    entity = _check(defns)
    _check_mask(defns, mask)
    inside = [d for i, d in enumerate(defns) if mask >> i & 1]
    outside = [d for i, d in enumerate(defns) if not mask >> i & 1]
    if description is None:
        words = " and ".join(f'"{d.name}"' for d in inside) or "no other segment"
        description = f"Members of {words}"
        if outside:
            names = ", ".join(f'"{d.name}"' for d in outside)
            description += f", except those in {names}"
        description += "."
    return Definition(
        id=segment_id, name=name, entity=entity, description=description,
        include=Group("all", tuple(SegmentRef(d.id) for d in inside)),
        exclude=tuple(SegmentRef(d.id) for d in outside),
    )


def region_masks(n: int) -> list[int]:
    """Every non-empty region of ``n`` segments, by mask.

    >>> region_masks(2)
    [1, 2, 3]
    """
    return list(range(1, 1 << n))
