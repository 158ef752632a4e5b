"""Closed-session comparison with the historical cohorts: forest plot, how each comparison is made, the numbers.

Every number is read from the ARD (``historical_comparison`` and, for the trial's exact CI, ``crs_rate``);
how a comparison is made (scale, burden group, independence, the comparator's own fever trigger, role)
and the exact CI of each published proportion are read from the analyze step's ``comparison_plan``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.inputs import ReportInputError
from analysis.report.sections import ReportContext, Section, bullets, figure, para
from analysis.report.sections_map import map_group_title
from analysis.report.sections_safety import PENN_BIAS
from analysis.report.tables import html_table

ENDPOINT_NAMES = {
    "crs_any": "any CRS",
    "crs_grade3plus": "CRS grade ≥ 3",
    "crs_grade4plus": "CRS grade ≥ 4",
    "crs_grade4": "CRS grade 4 alone",
    "icans_any": "any ICANS",
    "icans_grade3plus": "ICANS grade ≥ 3",
}
GROUP_NAMES = {"all": "all", "high_burden": "high burden", "low_burden": "low burden"}


def comparisons(ctx: ReportContext) -> tuple[list[dict[str, Any]], list[str]]:
    """The ARD's historical comparisons, each with how it was made (``comparison_plan``), primary first; and
    the analyze step's notes on the comparisons not made (``comparison_notes.json``)."""
    plan = ctx.inputs["comparison_plan"]
    made = {(str(row.cohort_id), str(row.endpoint)): row for row in plan[plan["compared"]].itertuples(index=False)}
    out = []
    for cohort_id, endpoint in ctx.ard.pairs("historical_comparison"):
        v = lambda stat, method="descriptive": ctx.ard.value("historical_comparison", cohort_id, endpoint, stat, method)  # noqa: E731
        how = made.get((cohort_id, endpoint))
        if how is None:
            raise ReportInputError(
                f"comparison_plan.parquet has no compared row for {cohort_id} × {endpoint}, which the ARD holds"
            )
        out.append(
            {
                "cohort_id": cohort_id,
                "cohort_name": str(how.cohort_name),
                "endpoint": endpoint,
                "scale": str(how.scale),
                "group": str(how.trial_group),
                "primary": how.role == "primary",
                "overlapping": bool(how.overlapping),
                "burden_matched": v("burden_matched") == 1.0,
                "trial": ctx.ard.rate("crs_rate", str(how.trial_group), str(how.trial_variable)),
                "trial_n": v("trial_n"),
                "trial_N": v("trial_N"),
                "trial_p": v("trial_p"),
                "historical_n": v("historical_n"),
                "historical_N": v("historical_N"),
                "historical_p": v("historical_p"),
                "historical_ci_low": float(how.historical_ci_low),
                "historical_ci_high": float(how.historical_ci_high),
                "p_binom": v("p_value", "binom_exact_1s"),
                "binom_not_informative": (
                    ctx.ard.label("historical_comparison", cohort_id, endpoint, "informative", "binom_exact_1s")
                    if v("informative", "binom_exact_1s") == 0.0
                    else ""
                ),
                "p_fisher": v("p_value", "fisher_exact"),
                "p_katz": v("p_value", "katz_log"),
                "rd": v("rd", "newcombe_hybrid"),
                "rd_low": v("rd_ci_low", "newcombe_hybrid"),
                "rd_high": v("rd_ci_high", "newcombe_hybrid"),
                "rr": v("rr", "katz_log"),
                "rr_low": v("rr_ci_low", "katz_log"),
                "rr_high": v("rr_ci_high", "katz_log"),
                "prob_lower": v("prob_lower", "beta_binomial"),
                "trigger": "" if pd.isna(how.fever_trigger) else str(how.fever_trigger),
            }
        )
    out.sort(key=lambda r: (not r["primary"], r["endpoint"], r["cohort_id"]))
    return out, ctx.inputs.comparison_notes


NOT_INFORMATIVE_MARK = "not informative †"
"""The table cell of a degenerate one-sided test; the reason ("not informative: …") is the table's note."""


def one_sided_p(r: dict[str, Any]) -> str:
    """The one-sided exact p-value as printed in the comparison table, or :data:`NOT_INFORMATIVE_MARK` when
    the analyze step marked the test degenerate (a historical rate of 0 % or 100 %)."""
    return NOT_INFORMATIVE_MARK if r["binom_not_informative"] else fmt.p_value(r["p_binom"])


def _scale(r: dict[str, Any]) -> str:
    return "Penn (trial: Penn approximation)" if r["scale"] == "penn" else str(r["scale"]).upper()


def _comparison_name(r: dict[str, Any]) -> str:
    return ("★ " if r["primary"] else "") + f"{r['cohort_name']} · {ENDPOINT_NAMES.get(r['endpoint'], r['endpoint'])}"


def cohort_name(ctx: ReportContext, cohort_id: str) -> str:
    """The reference's ``name`` of a cohort (``comparison_plan.cohort_name``); the id if the plan lacks it."""
    plan = ctx.inputs["comparison_plan"]
    names = plan.loc[plan["cohort_id"].astype(str) == cohort_id, "cohort_name"].dropna()
    return str(names.iloc[0]) if len(names) else cohort_id


def historical_section(ctx: ReportContext) -> Section:
    rows, _ = comparisons(ctx)
    section = Section("historical", "Comparison with historical cohorts")
    section.add(
        para(
            f"Primary comparison [choice primary]: {ENDPOINT_NAMES.get(ctx.plan.primary.endpoint, ctx.plan.primary.endpoint)} "
            f"against {cohort_name(ctx, ctx.plan.primary.comparator)} with the trial's Penn approximation, one-sided exact binomial "
            f"test at α = {ctx.plan.primary.alpha:g}. Every other comparison is supportive and unadjusted for "
            "multiplicity. At this interim look every p-value is descriptive.",
            "callout",
        )
    )
    section.add(para(PENN_BIAS, "callout warning"))
    if not rows:
        return section.add(para("The ARD holds no historical comparison at this data cut."))
    forest_rows = []
    for r in rows:
        hn, hN = r["historical_n"], r["historical_N"]
        scale = "Penn approx." if r["scale"] == "penn" else "ASTCT"
        marks = [
            m
            for m, on in (
                ("overlaps ELIANA", r["overlapping"]),
                ("not burden-matched", not r["burden_matched"]),
                ("own fever trigger", bool(r["trigger"])),
            )
            if on
        ]
        forest_rows.append(
            {
                "label": f"PACER {GROUP_NAMES.get(r['group'], r['group'])} · {ENDPOINT_NAMES.get(r['endpoint'], r['endpoint'])} · {scale}",
                "kind": "trial",
                "p": r["trial"].p,
                "low": r["trial"].ci_low,
                "high": r["trial"].ci_high,
                "primary": r["primary"],
                "note": f"{fmt.count(r['trial_n'])}/{fmt.count(r['trial_N'])}",
            }
        )
        forest_rows.append(
            {
                "label": r["cohort_name"],
                "kind": "historical",
                "p": r["historical_p"],
                "low": r["historical_ci_low"],
                "high": r["historical_ci_high"],
                "primary": r["primary"],
                "note": f"{fmt.count(hn)}/{fmt.count(hN)}" + (f" · {'; '.join(marks)}" if marks else ""),
            }
        )
    section.add(
        figure(
            figures.forest(forest_rows),
            "Event rates with exact 95 % CIs: the trial (●) beside each "
            "like-for-like cohort (■), on the cohort's scale; ★ the primary comparison. Historical CIs are "
            "Clopper–Pearson intervals of the published counts.",
            "fig-forest",
        )
    )
    how = pd.DataFrame(
        [
            {
                "Comparison": _comparison_name(r),
                "Scale": _scale(r),
                "Burden": ("matched" if r["burden_matched"] else "not matched")
                + f"; trial {GROUP_NAMES.get(r['group'], r['group'])}",
                "Independence": "overlaps ELIANA: not independent" if r["overlapping"] else "independent",
                "Fever trigger": r["trigger"] or "none reported",
                "Role": "primary" if r["primary"] else "supportive",
            }
            for r in rows
        ]
    )
    primary = pd.Series([r["primary"] for r in rows])
    section.add(
        html_table(
            how,
            "tbl-historical-how",
            "How each comparison is made",
            highlight=primary,
            widths={"Comparison": 30},
            notes=[
                "Overlapping cohorts (ELIANA 2018, ELIANA n = 79, pooled ELIANA + ENSIGN) share patients "
                "and are not independent evidence.",
                "PACER's own trigger: a reading > 38.5 °C with an earlier one > 38.5 °C 4–24 h before it.",
            ],
        )
    )
    numbers = pd.DataFrame(
        [
            {
                "Comparison": _comparison_name(r),
                "Trial n/N (%)": f"{fmt.count(r['trial_n'])}/{fmt.count(r['trial_N'])} ({fmt.pct(r['trial_p'])})",
                "Historical n/N (%)": f"{fmt.count(r['historical_n'])}/{fmt.count(r['historical_N'])} ({fmt.pct(r['historical_p'])})",
                "RD, points (95 % CI)": f"{fmt.number(100 * r['rd'])} ({fmt.ci(r['rd_low'], r['rd_high'])})",
                "RR (95 % CI)": f"{fmt.number(r['rr'], 2)} ({fmt.ci(r['rr_low'], r['rr_high'], percent=False, digits=2)})",
                "p exact, 1-sided": one_sided_p(r),
                "p Fisher": fmt.p_value(r["p_fisher"]),
                "p Wald RR": fmt.p_value(r["p_katz"]),
                "P(trial lower)": fmt.number(r["prob_lower"], 3),
            }
            for r in rows
        ]
    )
    return section.add(
        html_table(
            numbers,
            "tbl-historical",
            "Trial against historical cohorts",
            highlight=primary,
            widths={"Comparison": 24},
            subtitle="all p-values descriptive at an interim look",
            notes=[
                "RD: risk difference trial − historical, Newcombe hybrid score CI. RR: risk ratio, "
                "Katz log CI and Wald test. p exact: one-sided exact binomial test (H1: the trial's "
                "rate is lower), the historical rate as fixed. P(trial lower): posterior probability, "
                "Beta(1, 1) priors.",
                *(
                    f"† {_comparison_name(r)}: {r['binom_not_informative']}."
                    for r in rows
                    if r["binom_not_informative"]
                ),
            ],
        )
    )


def cohort_names(ctx: ReportContext) -> dict[str, str]:
    """Every cohort id of ``comparison_plan`` and ``published_outcomes`` → the reference's ``name`` of the cohort."""
    names: dict[str, str] = {}
    for table in ("published_outcomes", "comparison_plan"):
        frame = ctx.inputs[table].dropna(subset=["cohort_name"])
        names.update(zip(frame["cohort_id"].astype(str), frame["cohort_name"].astype(str), strict=True))
    return names


_COMPARISON_NOTE = re.compile(r"^(?P<cohort>\S+) × (?P<endpoint>\S+): (?P<rest>.*)$", re.S)
_MAP_NOTE = re.compile(r"^MAP prior (?P<group>\S+): (?P<rest>.*)$", re.S)
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def readable_note(note: str, names: Mapping[str, str]) -> str:
    """One note of ``comparison_notes.json`` with readable labels: each cohort id as the reference's name,
    the endpoint and the MAP-prior group in words (the reasons' reference field names are kept as written).

    ``"eliana_2018 × icans_any: not compared — …"`` becomes ``"ELIANA (primary report) · any ICANS: not
    compared — …"``; ``"MAP prior crs_any__penn: kadauke_pt_hlb left out — …"`` becomes ``"MAP prior for any
    CRS, Penn (…): <name> left out — …"``. An id the comparison plan does not name is left as written.
    """

    def names_in(text: str) -> str:
        return _IDENTIFIER.sub(lambda m: names.get(m.group(0), m.group(0)), text)

    comparison = _COMPARISON_NOTE.match(note)
    if comparison and comparison["cohort"] in names:
        endpoint = ENDPOINT_NAMES.get(comparison["endpoint"], comparison["endpoint"])
        return f"{names[comparison['cohort']]} · {endpoint}: {names_in(comparison['rest'])}"
    prior = _MAP_NOTE.match(note)
    if prior:
        return f"MAP prior for {map_group_title(prior['group'])}: {names_in(prior['rest'])}"
    return names_in(note)


def skipped_appendix(ctx: ReportContext) -> Section:
    """The analyze step's notes on comparisons not made (comparison_notes.json), with the cohorts' names."""
    names = cohort_names(ctx)
    skipped = [readable_note(note, names) for note in ctx.inputs.comparison_notes]
    section = Section("comparisons-not-made", "Historical comparisons not made", appendix=True)
    section.add(para("A cohort with an unknown scale, a null figure or confirmed: false is not compared (outputs.md)."))
    return section.add(bullets(skipped, "small") if skipped else para("Every planned comparison was made."))
