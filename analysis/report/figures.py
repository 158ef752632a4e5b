"""The report's figures: matplotlib (imported with the first figure), returned as inline SVG (vector in the HTML and in the PDF).

Reproducible output: each figure is saved with a fixed ``svg.hashsalt`` (its own name, so ids never
clash between the figures of one page) and ``metadata={'Date': None}``; text stays text
(``svg.fonttype = 'none'``), so the numbers on a figure can be found in the PDF's text. The
figures draw numbers that were already estimated (the ARD, and the step functions of ``km_curves`` and
``cif_curves``) or descriptive data; they compute no statistic.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.report.escaping import visible_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GRADE_COLOURS = {0: "#e8e8e8", 1: "#f6d55c", 2: "#ed9a3c", 3: "#d6453d", 4: "#8c1c13", 5: "#111111"}
DRUG_MARKERS = {"anakinra": ("v", "#1f5fa8"), "tocilizumab": ("D", "#2a9d8f"), "corticosteroid": ("s", "#7b3fa0")}
TRIAL_COLOUR, HISTORICAL_COLOUR = "#1f5fa8", "#777777"
RC = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "text.parse_math": False,
}
"""Every figure's style. ``text.parse_math`` off: a label is drawn as written, a ``$`` is a dollar sign."""
RASTER_DPI = 200
"""Resolution of a figure's data layer where it is drawn as an image (many bars or points), its text staying text."""


def _pyplot() -> Any:
    """matplotlib's pyplot on its SVG backend, imported with the first figure: a command that draws none (a
    reused report step, every other step) never pays for the import."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    return plt


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no metadata block), deterministically."""
    plt = _pyplot()
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": f"pacer-{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.05, dpi=RASTER_DPI)
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = unique_ids(without_bare_groups(without_unused_ids(text)), name)
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" class="figure-svg" ', 1)


_TAG = re.compile(r"<[^>]*>")
"""A tag of matplotlib's SVG: text and attribute values have ``<`` and ``>`` escaped, so a tag ends at its first ``>``."""


def without_unused_ids(svg: str) -> str:
    """The SVG without the ``id`` of any element nothing refers to (matplotlib names every artist's group).

    The HTML renderer gives every element with an ``id`` an anchor and a style of its own, so the
    figures' thousands of unused ids cost the PDF's layout time; the ones a ``url(#…)`` or an
    ``href="#…"`` names (clip paths, marker shapes) stay.
    """
    referenced = set(re.findall(r"url\(#([^)]+)\)", svg)) | set(re.findall(r'href="#([^"]+)"', svg))

    def strip(tag: re.Match[str]) -> str:
        return re.sub(r'\sid="([^"]*)"', lambda m: m.group(0) if m.group(1) in referenced else "", tag.group(0))

    return _TAG.sub(strip, svg)


def without_bare_groups(svg: str) -> str:
    """The SVG with each ``<g>`` that has no attribute replaced by its content (it changes nothing drawn)."""
    out: list[str] = []
    kept: list[bool] = []
    position = 0
    for tag in re.finditer(r"<g(?:\s[^>]*)?>|</g>", svg):
        out.append(svg[position : tag.start()])
        position = tag.end()
        if tag.group(0) == "</g>":
            if kept.pop():
                out.append(tag.group(0))
        else:
            empty = tag.group(0).endswith("/>")
            bare = tag.group(0).removesuffix(">").removesuffix("/").strip() == "<g"
            if not empty:
                kept.append(not bare)
            if not bare:
                out.append(tag.group(0))
    out.append(svg[position:])
    return "".join(out)


def unique_ids(svg: str, prefix: str) -> str:
    """Prefix every ``id`` of an SVG and every reference to it, so several figures can share one HTML page."""
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)


def enrollment(by_month: pd.DataFrame, target: int) -> str:
    """Cumulative enrollment by month against the planned number."""
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        x = np.arange(len(by_month))
        ax.bar(x, by_month["enrolled"], color="#b9cfe8", label="enrolled in the month")
        ax.step(x, by_month["cumulative"], where="mid", color=TRIAL_COLOUR, label="cumulative")
        ax.axhline(target, color="#d6453d", linestyle="--", linewidth=1, label=f"target {target}")
        step = max(1, -(-len(by_month) // 12))
        ax.set_xticks(x[::step], by_month["month"].iloc[::step], rotation=45, ha="right")
        ax.set_ylabel("participants")
        ax.set_ylim(0, max(target, int(by_month["cumulative"].max() if len(by_month) else 0)) * 1.1 + 1)
        ax.legend(loc="upper left", ncols=3)
        return to_svg(fig, "enrollment")


def consort(flow: Mapping[str, Mapping[str, str]]) -> str:
    """The CONSORT-style flow: enrolled → infused → CRS-evaluable → efficacy-evaluable → 12 months.

    ``flow`` holds, per box, its ``total`` and each outflow as printed (the ARD's ``participant_flow``
    rows); beside each box, the participants who leave it, so that each box's count is the next box's
    plus the side box's.
    """
    enrolled, infused = flow["enrolled"], flow["infused"]
    crs, efficacy = flow["crs_evaluable"], flow["efficacy_evaluable"]
    main = [
        f"Enrolled\nn = {enrolled['total']}",
        f"Infused (safety set)\nn = {infused['total']}",
        f"CRS-evaluable (≥ 30 days or died)\nn = {crs['total']}",
        f"Efficacy-evaluable (≥ 42 days or died)\nn = {efficacy['total']}",
        f"Completed 12 months\nn = {efficacy['completed_12_months']}",
    ]
    side = [
        f"Not infused: {enrolled['left']}\n  died {enrolled['died_before_infusion']}; "
        f"withdrew {enrolled['withdrew_before_infusion']}\n  awaiting infusion {enrolled['awaiting_infusion']}",
        f"Not yet CRS-evaluable: {infused['left']}\n  withdrew {infused['withdrew_before_crs_evaluable']}\n"
        f"  in the CRS window (< 30 days) {infused['in_crs_window']}",
        f"Not yet efficacy-evaluable: {crs['left']}\n  withdrew {crs['withdrew_before_efficacy_evaluable']}\n"
        f"  before day 42 {crs['before_day_42']}",
        f"Not at 12 months: {efficacy['left']}\n  died {efficacy['died']}; withdrew {efficacy['withdrew']}\n"
        f"  in follow-up at the cut {efficacy['in_follow_up']}",
        "",
    ]
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 4.6))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(0, len(main) * 2)
        box = dict(boxstyle="round,pad=0.4", facecolor="#eef3fa", edgecolor=TRIAL_COLOUR)
        sidebox = dict(boxstyle="round,pad=0.4", facecolor="#fafafa", edgecolor="#999999")
        for i, (text, note) in enumerate(zip(main, side)):
            y = len(main) * 2 - 1 - 2 * i
            ax.text(3, y, text, ha="center", va="center", bbox=box, fontsize=8)
            if i < len(main) - 1:
                ax.annotate(
                    "", xy=(3, y - 1.45), xytext=(3, y - 0.55), arrowprops=dict(arrowstyle="->", color="#555555")
                )
            if note:
                ax.text(6.2, y - 1, note, ha="left", va="center", bbox=sidebox, fontsize=7)
                ax.plot([3, 6.1], [y - 1, y - 1], color="#999999", linewidth=0.8)
        return to_svg(fig, "consort")


SWIMMER_ROWS = 25
"""Participants per swimmer figure: a cohort of any size becomes figures of at most this many rows, each
small enough to share a page (the report draws one figure per block, :func:`swimmer_blocks`)."""


def _bars(y: np.ndarray, left: np.ndarray, width: np.ndarray, height: float, colour: str) -> Any:
    """Horizontal bars as one rasterized collection (``barh`` makes a patch per bar: seconds for a large cohort)."""
    from matplotlib.collections import PolyCollection

    bottom, top = y - height / 2, y + height / 2
    right = left + width
    corners = np.stack(
        [np.column_stack(c) for c in ((left, bottom), (right, bottom), (right, top), (left, top))], axis=1
    )
    return PolyCollection(corners, facecolors=colour, edgecolors="none", linewidths=0, rasterized=True)


def swimmer_blocks(ids: Sequence[str], rows: int = SWIMMER_ROWS) -> list[list[str]]:
    """The participants in order, cut into blocks of at most ``rows`` (the last one shorter), none when empty."""
    ordered = sorted(ids)
    return [ordered[k : k + rows] for k in range(0, len(ordered), rows)]


def swimmer(
    timeline: pd.DataFrame,
    doses: pd.DataFrame,
    followed_days: Mapping[str, float],
    days: float = 30.0,
    name: str = "swimmer",
) -> str:
    """Each participant's CRS grade (ASTCT) over days 0–``days``, with anakinra, tocilizumab and steroid doses.

    One row per participant of ``followed_days`` (sorted); the report draws a block of at most
    :data:`SWIMMER_ROWS` per figure. The bars and markers are one image at :data:`RASTER_DPI` inside the SVG
    (hundreds of shapes would cost the PDF layout seconds); labels, ticks and the legend stay text.
    ``name`` is unique in the report (the SVG's ids).
    """
    ids = sorted(followed_days)
    index = {pid: y for y, pid in enumerate(ids)}
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.8, 0.8 + 0.24 * max(len(ids), 3)))
        followed = np.minimum([float(followed_days[pid]) for pid in ids], days)
        ax.add_collection(_bars(np.arange(len(ids)), np.zeros(len(ids)), followed, 0.25, GRADE_COLOURS[0]))
        rows = timeline[timeline["participant_id"].isin(index)]
        grade = pd.to_numeric(rows["crs_grade"], errors="coerce")
        start = rows["start_hours"].astype(float) / 24.0
        end = np.minimum(rows["end_hours"].astype(float) / 24.0, days)
        shown = grade.notna() & (grade > 0) & (start < days)
        for level in range(1, 6):
            part = shown & (grade == level)
            if part.any():
                y = rows.loc[part, "participant_id"].map(index).to_numpy(float)
                left, width = start[part].to_numpy(float), (end - start)[part].to_numpy(float)
                ax.add_collection(_bars(y, left, width, 0.6, GRADE_COLOURS[level]))
        for drug, (marker, colour) in DRUG_MARKERS.items():
            sub = doses[(doses["drug_class"] == drug) & doses["participant_id"].isin(index)]
            offset = {"anakinra": 0.42, "tocilizumab": -0.42, "corticosteroid": -0.42}[drug]
            ax.scatter(
                sub["day"],
                sub["participant_id"].map(index) + offset,
                marker=marker,
                s=14,
                color=colour,
                label=drug,
                zorder=3,
                linewidths=0,
                rasterized=True,
            )
        for level in range(1, 6):
            ax.barh([-10], [0], color=GRADE_COLOURS[level], label=f"grade {level}")
        ax.set_yticks(range(len(ids)), [visible_text(str(pid)) for pid in ids])
        ax.set_ylim(-0.8, max(len(ids), 1) - 0.2)
        ax.invert_yaxis()
        ax.set_xlim(0, days)
        ax.set_xlabel("study day (days since infusion)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(ids) < 8 else -0.12), ncols=8, fontsize=7)
        return to_svg(fig, name)


def anakinra_timing(anakinra: pd.DataFrame, window_hours: float) -> str:
    """Hours from first fever and from the protocol trigger to the first anakinra dose, one dot per participant."""
    data = anakinra.dropna(subset=["first_anakinra_hours"])
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 1.9))
        for y, (column, _label) in enumerate(
            (("fever_to_anakinra_hours", "first fever → dose"), ("trigger_to_anakinra_hours", "trigger → dose"))
        ):
            values = data[column].dropna().astype(float).to_numpy()
            jitter = (np.arange(values.size) % 5 - 2) * 0.06
            ax.scatter(
                values, y + jitter, s=16, color=TRIAL_COLOUR, alpha=0.8, linewidths=0, rasterized=values.size > 200
            )
        ax.axvline(window_hours, color="#d6453d", linestyle="--", linewidth=1)
        ax.text(
            window_hours,
            1.45,
            f" protocol window {window_hours:g} h after the trigger",
            color="#d6453d",
            fontsize=7,
            va="center",
        )
        ax.axvline(0, color="#999999", linewidth=0.6)
        ax.set_yticks([0, 1], ["first fever → dose", "trigger → dose"])
        ax.set_ylim(-0.5, 1.7)
        ax.set_xlabel("hours")
        return to_svg(fig, "anakinra-timing")


def forest(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rates with exact 95 % CIs: the trial beside each like-for-like historical cohort.

    ``rows``: dicts with ``label``, ``kind`` ("trial" or "historical"), ``p``, ``low``, ``high``,
    ``primary`` (bool), ``note`` (short text right of the plot).
    """
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.0, 0.7 + 0.26 * max(len(rows), 2)))
        fig.subplots_adjust(left=0.33, right=0.98)
        for y, r in enumerate(rows):
            colour = TRIAL_COLOUR if r["kind"] == "trial" else HISTORICAL_COLOUR
            marker = "o" if r["kind"] == "trial" else "s"
            if not np.isnan(r["p"]):
                ax.errorbar(
                    [100 * r["p"]],
                    [y],
                    xerr=[[100 * (r["p"] - r["low"])], [100 * (r["high"] - r["p"])]],
                    fmt=marker,
                    color=colour,
                    markersize=6 if r.get("primary") else 4,
                    capsize=2,
                    linewidth=1,
                )
            ax.text(103, y, r.get("note", ""), va="center", fontsize=6.5, color="#444444")
            if r["kind"] == "historical" and y < len(rows) - 1:
                ax.axhline(y + 0.5, color="#dddddd", linewidth=0.6)
        ax.set_yticks(range(len(rows)), [("★ " if r.get("primary") else "") + r["label"] for r in rows], fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, 150)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.spines["bottom"].set_bounds(0, 100)
        ax.set_xlabel("participants with the event, % (exact 95 % CI)", loc="left")
        ax.grid(axis="x", color="#eeeeee")
        return to_svg(fig, "forest")


def survival(
    curves: Mapping[str, pd.DataFrame],
    at_risk: Mapping[str, Mapping[float, str]],
    historical: Sequence[Mapping[str, Any]],
    ylabel: str,
    name: str,
    ascending: bool = False,
) -> str:
    """Step curves (months) with numbers at risk under the axis and historical 12-month estimates marked.

    ``curves``: label → frame with ``time`` (months) and ``value`` (0–1) corner points, and optionally
    ``censored`` (a censoring mark at that corner) and ``low``/``high`` (the pointwise 95 % limits at that
    corner, drawn as a band; NaN where the analyze step has none, e.g. while S = 1);
    ``at_risk``: label → {month: printed number}; ``historical``: dicts with ``label``, ``month``,
    ``estimate``, ``low``, ``high`` (percent; low/high may be None).
    """
    colours = [TRIAL_COLOUR, "#d6453d", "#2a9d8f"]
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.0, 3.4))
        fig.subplots_adjust(left=0.1, right=0.66, bottom=0.3)
        for (label, curve), colour in zip(curves.items(), colours):
            if "low" in curve and "high" in curve:
                ax.fill_between(
                    curve["time"],
                    100 * curve["low"],
                    100 * curve["high"],
                    step="post",
                    color=colour,
                    alpha=0.13,
                    linewidth=0,
                    label=f"{label} 95 % CI",
                )
            ax.step(curve["time"], 100 * curve["value"], where="post", color=colour, label=label, linewidth=1.4)
            if "censored" in curve:
                marks = curve[curve["censored"]]
                ax.plot(marks["time"], 100 * marks["value"], linestyle="none", marker="|", markersize=5, color=colour)
        markers = ["s", "^", "D", "v", "P"]
        for k, h in enumerate(historical):
            x = h["month"] + 0.25 * (k - (len(historical) - 1) / 2)
            err = None if h.get("low") is None else [[h["estimate"] - h["low"]], [h["high"] - h["estimate"]]]
            ax.errorbar(
                [x],
                [h["estimate"]],
                yerr=err,
                fmt=markers[k % len(markers)],
                color=h.get("colour", HISTORICAL_COLOUR),
                markersize=4,
                capsize=2,
                linewidth=0.8,
                label=h["label"],
            )
        ax.set_xlim(0, 13)
        ax.set_ylim(0, 102 if not ascending else None)
        ax.set_xticks([0, 3, 6, 9, 12])
        ax.set_xlabel("months since infusion")
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6.5)
        months = sorted({m for v in at_risk.values() for m in v})
        for row, (label, values) in enumerate(at_risk.items()):
            y = -0.30 - 0.07 * row
            ax.text(-0.06, y, label, transform=ax.transAxes, ha="right", va="center", fontsize=7)
            for m in months:
                ax.text(m / 13, y, values.get(m, ""), transform=ax.transAxes, ha="center", va="center", fontsize=7)
        if at_risk:
            ax.text(
                -0.06, -0.23, "at risk", transform=ax.transAxes, ha="right", va="center", fontsize=7, style="italic"
            )
        return to_svg(fig, name)


def operating_characteristics(tables: Mapping[str, pd.DataFrame]) -> str:
    """Probability of stopping against the true rate, one line per rule."""
    colours = [TRIAL_COLOUR, "#d6453d"]
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        for (label, table), colour in zip(tables.items(), colours):
            ax.plot(
                100 * table["true_rate"], 100 * table["prob_stop"], marker="o", color=colour, label=label, markersize=3
            )
        ax.set_xlabel("true event rate, %")
        ax.set_ylabel("probability of stopping, %")
        ax.set_ylim(0, 100)
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(color="#eeeeee")
        return to_svg(fig, "operating-characteristics")


def stopping_boundary(boundary: pd.DataFrame, path: pd.DataFrame, title: str, name: str) -> str:
    """One stopping rule: events against the number evaluated, the boundary as a step line, the trial's path as points.

    Parameters
    ----------
    boundary : pandas.DataFrame
        ``n_evaluated`` and ``boundary`` (NaN where no count stops), from the ARD's ``stopping_rule`` rows.
    path : pandas.DataFrame
        ``n_evaluated`` and ``events`` (the trial's cumulative count), from ``stopping_status``.
    title : str
    name : str
        Unique in the report (the SVG's ids).
    """
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        stop = boundary["boundary"].astype("float64")
        top = float(np.nanmax(stop)) + 1 if stop.notna().any() else 1.0
        ax.fill_between(
            boundary["n_evaluated"], stop, top, step="mid", color="#d6453d", alpha=0.12, label="stop region"
        )
        ax.step(boundary["n_evaluated"], stop, where="mid", color="#d6453d", label="boundary (stop at or above)")
        if len(path):
            ax.plot(
                path["n_evaluated"],
                path["events"],
                marker="o",
                markersize=3,
                linestyle="none",
                color=TRIAL_COLOUR,
                label=f"trial: {int(path['events'].iloc[-1])} in {int(path['n_evaluated'].iloc[-1])} at the cut",
            )
        ax.set_xlim(0, float(boundary["n_evaluated"].max()) + 1)
        ax.set_ylim(-0.3, top)
        ax.set_title(title)
        ax.set_xlabel("number evaluated (CRS-evaluable set)")
        ax.set_ylabel("events")
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(color="#eeeeee")
        return to_svg(fig, name)


MAP_CURVES = {
    "map": ("MAP prior", HISTORICAL_COLOUR, "--"),
    "robust_map": ("robust MAP prior", HISTORICAL_COLOUR, "-"),
    "posterior": ("trial posterior (robust prior)", TRIAL_COLOUR, "-"),
}


def map_prior(densities: pd.DataFrame, titles: Mapping[str, str]) -> str:
    """The MAP prior, the robust MAP prior and the trial's posterior of each group on one rate axis.

    ``densities``: the analyze step's ``map_prior_densities`` table (group, curve, p, density);
    ``titles``: group → panel title. One panel per group, in ``titles`` order.
    """
    groups = [g for g in titles if g in set(densities["group"])]
    columns = min(3, max(len(groups), 1))
    rows = -(-max(len(groups), 1) // columns)
    plt = _pyplot()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(rows, columns, figsize=(7.0, 2.0 * rows), squeeze=False)
        for ax, group in zip(axes.flat, groups, strict=False):
            part = densities[densities["group"] == group]
            for curve, (label, colour, style) in MAP_CURVES.items():
                line = part[part["curve"] == curve]
                if len(line):
                    ax.plot(100 * line["p"], line["density"], color=colour, linestyle=style, linewidth=1.2, label=label)
            ax.set_title("\n".join(textwrap.wrap(titles[group], 34)), fontsize=7.5)
            ax.set_xlim(0, 100)
            ax.set_yticks([])
            ax.set_xlabel("rate, %", fontsize=7)
        for ax in list(axes.flat)[len(groups) :]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncols=3, bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return to_svg(fig, "map-prior")
