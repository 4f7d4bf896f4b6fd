"""Overlap: how 2 to 8 saved segments share their members.

A Venn diagram for 2 or 3 segments (circle areas follow segment sizes, the
numbers in every region are exact; with 3 circles the overlaps are drawn
only as close as circles allow), an UpSet chart for any number, the pairwise
matrix, and any region listed or saved as a segment of references.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.common import connection, library, shown_errors, through_app, today
from workbench import definition, overlap
from workbench.definition import Definition
from workbench.overlap import Overlap

through_app()

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
          "#e377c2", "#17becf")
MEMBERS_SHOWN = 200


# --------------------------------------------------------------------------
# Venn: circles sized by segment size, placed so pairwise overlaps match


def lens_area(r1: float, r2: float, d: float) -> float:
    """Area shared by two circles of radii r1, r2 whose centres are d apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a1 = r1 * r1 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    a2 = r2 * r2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    k = (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)
    return a1 + a2 - 0.5 * math.sqrt(max(k, 0.0))


def centre_distance(r1: float, r2: float, shared: float) -> float:
    """The distance at which two circles share ``shared`` area (bisection)."""
    lo, hi = abs(r1 - r2), r1 + r2
    if shared <= 0:
        return hi * 1.05
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if lens_area(r1, r2, mid) > shared else (lo, mid)
    return (lo + hi) / 2


def venn_layout(result: Overlap) -> list[tuple[float, float, float]]:
    """(x, y, radius) per segment; areas proportional to sizes."""
    sizes = result.sizes
    biggest = max(max(sizes), 1)
    radii = [max(math.sqrt(s / biggest), 0.05) for s in sizes]
    area = [math.pi * r * r for r in radii]

    def dist(i: int, j: int) -> float:
        shared = result.shared(i, j) / max(sizes[i], 1) * area[i] if sizes[i] else 0.0
        return centre_distance(radii[i], radii[j], shared)

    d01 = dist(0, 1)
    circles = [(0.0, 0.0, radii[0]), (d01, 0.0, radii[1])]
    if len(sizes) == 3:
        d02, d12 = dist(0, 2), dist(1, 2)
        # Third centre from the two distances; clamp when no triangle exists.
        x = (d02 ** 2 - d12 ** 2 + d01 ** 2) / (2 * d01) if d01 else 0.0
        y = math.sqrt(max(d02 ** 2 - x ** 2, 0.0))
        circles.append((x, -y, radii[2]))
    return circles


def label_points(circles: list[tuple[float, float, float]]) -> dict[int, tuple]:
    """A point inside each drawable region, found on a grid: mask -> (x, y)."""
    xs = [c[0] for c in circles]
    ys = [c[1] for c in circles]
    pad = max(c[2] for c in circles)
    gx, gy = np.meshgrid(np.linspace(min(xs) - pad, max(xs) + pad, 240),
                         np.linspace(min(ys) - pad, max(ys) + pad, 240))
    mask = np.zeros(gx.shape, dtype=int)
    for i, (cx, cy, r) in enumerate(circles):
        mask |= (((gx - cx) ** 2 + (gy - cy) ** 2) <= r * r).astype(int) << i
    points = {}
    for m in range(1, 1 << len(circles)):
        hit = mask == m
        if hit.any():
            # The hit point closest to the region's centroid stays inside it.
            px, py = gx[hit], gy[hit]
            k = np.argmin((px - px.mean()) ** 2 + (py - py.mean()) ** 2)
            points[m] = (float(px[k]), float(py[k]))
    return points


def name_points(circles: list[tuple[float, float, float]]) -> list[tuple]:
    """Where each circle's name goes: outside every circle, apart from the others.

    For each circle in turn, 24 directions from its centre are tried; along
    each, the point moves out until it clears every circle by a margin. The
    point kept is far from the names already placed (a name is wide, so
    horizontal distance counts a third), pointing away from the other
    circles, and close to its own circle. Returns (x, y, dx, dy): the point
    and the unit direction it lies in from its circle's centre.
    """
    span = max(c[2] for c in circles)
    margin = 0.08 * span
    mx = sum(c[0] for c in circles) / len(circles)
    my = sum(c[1] for c in circles) / len(circles)
    placed: list[tuple] = []
    for cx, cy, r in circles:
        away = (cx - mx, cy - my)
        norm = math.hypot(*away) or 1.0
        away = (away[0] / norm, away[1] / norm)
        best, best_score = None, -math.inf
        for k in range(24):
            dx, dy = math.cos(k * math.pi / 12), math.sin(k * math.pi / 12)
            t = r + margin
            while _inside_any(cx + t * dx, cy + t * dy, circles, margin):
                t += margin / 2
            x, y = cx + t * dx, cy + t * dy
            apart = min((math.hypot((x - px) / 3, y - py) for px, py, *_ in placed),
                        default=span)
            outward = dx * away[0] + dy * away[1]
            score = 2 * min(apart, span) + 0.3 * span * outward - 0.5 * (t - r)
            if score > best_score:
                best, best_score = (x, y, dx, dy), score
        placed.append(best)
    return placed


def _inside_any(x: float, y: float, circles: list[tuple[float, float, float]],
                margin: float) -> bool:
    return any((x - cx) ** 2 + (y - cy) ** 2 <= (r + margin) ** 2
               for cx, cy, r in circles)


def venn_figure(result: Overlap) -> go.Figure:
    circles = venn_layout(result)
    fig = go.Figure()
    for i, (cx, cy, r) in enumerate(circles):
        fig.add_shape(type="circle", x0=cx - r, y0=cy - r, x1=cx + r, y1=cy + r,
                      line=dict(color=COLORS[i], width=2),
                      fillcolor=COLORS[i], opacity=0.25)
    names = name_points(circles)
    for i, (x, y, dx, dy) in enumerate(names):
        # The text grows away from the circles: right of a point pushed right.
        fig.add_annotation(x=x, y=y, text=f"<b>{result.segments[i]}</b> "
                           f"({result.sizes[i]:,})", showarrow=False,
                           xanchor="left" if dx > 0.3 else "right" if dx < -0.3
                           else "center",
                           yanchor="bottom" if dy > 0.3 else "top" if dy < -0.3
                           else "middle",
                           font=dict(color=COLORS[i]), name=f"name-{i}")
    points = label_points(circles)
    missing = []
    for m in range(1, 1 << len(circles)):
        if m in points:
            fig.add_annotation(x=points[m][0], y=points[m][1],
                               text=f"{result.count(m):,}", showarrow=False)
        elif result.count(m):
            missing.append(f"{result.label(m)}: {result.count(m):,}")
    if missing:  # circles cannot draw this region; its count is still exact
        fig.add_annotation(xref="paper", yref="paper", x=0, y=0, showarrow=False,
                           align="left", text="not drawable: " + "; ".join(missing))
    # Invisible points that keep the circles and their names inside the plot.
    xs = [c[0] + s * c[2] for c in circles for s in (-1, 1)] + [n[0] for n in names]
    ys = [c[1] + s * c[2] for c in circles for s in (-1, 1)] + [n[1] for n in names]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=dict(opacity=0),
                             hoverinfo="skip", showlegend=False))
    # Room for name text beside the outermost points (names run ~1 radius).
    span = max(c[2] for c in circles)
    fig.update_xaxes(range=[min(xs) - 1.2 * span, max(xs) + 1.2 * span])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10),
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig


# --------------------------------------------------------------------------
# UpSet: intersection bars sorted, set sizes beside, dot matrix below


def upset_figure(result: Overlap) -> go.Figure:
    bars = result.intersections()
    n = len(result.segments)
    x = list(range(len(bars)))
    fig = make_subplots(rows=2, cols=2, column_widths=[0.22, 0.78],
                        row_heights=[0.62, 0.38], horizontal_spacing=0.02,
                        vertical_spacing=0.03, shared_xaxes=True, shared_yaxes=True,
                        specs=[[None, {"type": "xy"}], [{"type": "xy"}, {"type": "xy"}]])
    fig.add_trace(go.Bar(x=x, y=bars["count"], text=[f"{c:,}" for c in bars["count"]],
                         textposition="outside", marker_color="#444",
                         hovertext=bars["region"], showlegend=False), row=1, col=2)
    fig.add_trace(go.Bar(y=list(range(n)), x=result.sizes, orientation="h",
                         marker_color=list(COLORS[:n]), showlegend=False,
                         text=[f"{s:,}" for s in result.sizes],
                         textposition="outside"), row=2, col=1)
    for col_i, mask in enumerate(bars["mask"]):
        inside = result.members_of(int(mask))
        fig.add_trace(go.Scatter(x=[col_i] * n, y=list(range(n)), mode="markers",
                                 marker=dict(size=11, color=["#222" if i in inside
                                                             else "#ddd"
                                                             for i in range(n)]),
                                 hoverinfo="skip", showlegend=False), row=2, col=2)
        if len(inside) > 1:
            fig.add_trace(go.Scatter(x=[col_i, col_i], y=[min(inside), max(inside)],
                                     mode="lines", line=dict(color="#222", width=2),
                                     hoverinfo="skip", showlegend=False), row=2, col=2)
    fig.update_yaxes(tickvals=list(range(n)), ticktext=list(result.segments),
                     autorange="reversed", row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=2, showticklabels=False)
    fig.update_xaxes(autorange="reversed", row=2, col=1, title_text="segment size")
    fig.update_xaxes(showticklabels=False, row=2, col=2)
    fig.update_xaxes(showticklabels=False, row=1, col=2)
    fig.update_yaxes(title_text="records in exactly these", row=1, col=2)
    fig.update_layout(height=420 + 24 * n, margin=dict(l=10, r=10, t=20, b=10))
    return fig


# --------------------------------------------------------------------------
# The page


def pick_segments() -> list[Definition]:
    good, bad = library().load_all()
    for err in bad:
        st.warning(str(err))
    by_id = {d.id: d for d in good}
    chosen = st.multiselect(
        "Segments (2 to 8, of one entity)", list(by_id), key="overlap_segments",
        default=[i for i in ("vip", "active-buyers", "customers") if i in by_id],
        max_selections=overlap.MAX_SEGMENTS,
        format_func=lambda i: f"{by_id[i].name} ({i}, {by_id[i].entity})")
    return [by_id[i] for i in chosen]


def region_choices(result: Overlap) -> list[int]:
    """Regions to offer, the largest non-empty one first; mask 0 is last."""
    masks = overlap.region_masks(len(result.segments))
    ranked = sorted(masks, key=lambda m: (-result.count(m), m))
    return ranked + [0]


def region_label(result: Overlap, mask: int) -> str:
    """``vip & customers (only) — 120``; ``in none of them — 3,400``."""
    name = f"{result.label(mask)} (only)" if mask else "in none of them"
    return f"{name} — {result.count(mask):,}"


def show_region(con, defns: list[Definition], result: Overlap, as_of) -> None:
    st.subheader("Open a region")
    mask = st.selectbox("Region", region_choices(result), key="overlap_region",
                        format_func=lambda m: region_label(result, m))
    if mask is None:
        return
    inside = [defns[i].id for i in result.members_of(mask)]
    outside = [d.id for d in defns if d.id not in inside]
    st.caption(f"In {', '.join(inside) or 'none'}; not in {', '.join(outside) or '-'}.")
    members = overlap.region_members(con, defns, mask, as_of=as_of, resolver=library(),
                                     limit=MEMBERS_SHOWN)
    many = result.count(mask) > MEMBERS_SHOWN
    shown = f"the first {MEMBERS_SHOWN:,} of " if many else ""
    st.write(f"Showing {shown}{result.count(mask):,} records.")
    st.dataframe(members, hide_index=True, key="overlap_members")

    with st.form("overlap_save"):
        default_id = "-".join(inside)[:60] + ("-only" if outside else "") or "outside"
        seg_id = st.text_input("New segment id", value=default_id,
                               key=f"overlap_new_id_{mask}")
        name = st.text_input("Name", value=f"Overlap: {result.label(mask)}",
                             key=f"overlap_new_name_{mask}")
        empty = result.count(mask) == 0
        saved = st.form_submit_button(
            "Save as segment", icon=":material/save:", disabled=empty,
            help="This region has no records as of this day." if empty else None)
    if saved:
        save_region(defns, mask, seg_id.strip(), name.strip())


def save_region(defns: list[Definition], mask: int, seg_id: str, name: str) -> None:
    lib = library()
    if lib.exists(seg_id):
        st.error(f'A segment "{seg_id}" already exists; choose another id.')
        return
    defn = overlap.region_definition(defns, mask, segment_id=seg_id, name=name)
    defn = definition.parse(definition.to_dict(defn))  # the same checks as a load
    path = lib.save(defn)
    st.success(f'Saved "{defn.name}" as {path.name}. It refers to its parts, so '
               "it follows them when they change.")
    st.code(definition.to_json(defn), language="json")


st.title("Overlap")
with shown_errors("Overlap"):
    con = connection()
    as_of = st.date_input("As of", value=today(), key="overlap_as_of")
    defns = pick_segments()
    if len(defns) < overlap.MIN_SEGMENTS:
        st.info("Pick at least two segments to see how they overlap.")
    else:
        result = overlap.overlap(con, defns, as_of=as_of, resolver=library())
        cols = st.columns(len(defns))
        for c, seg, size in zip(cols, result.segments, result.sizes):
            c.metric(seg, f"{size:,}")
        st.caption(f"{result.outside:,} of {result.total:,} {result.entity} are in "
                   "none of them. Every number is exact, from one scan.")
        if len(defns) <= 3:
            st.plotly_chart(venn_figure(result), key="overlap_venn")
        st.plotly_chart(upset_figure(result), key="overlap_upset")
        st.subheader("Pairwise")
        left, middle, right = st.columns(3)
        left.caption("Shared members")
        left.dataframe(result.matrix("shared"), key="overlap_shared")
        middle.caption("Share of the row segment")
        middle.dataframe(result.matrix("share_of_row").style.format("{:.0%}"),
                         key="overlap_share")
        right.caption("Jaccard (shared / either)")
        right.dataframe(result.matrix("jaccard").style.format("{:.2f}"),
                        key="overlap_jaccard")
        show_region(con, defns, result, as_of)
