"""Closed-session efficacy: response beside the historical figures, survival and relapse.

Every estimate is read from the ARD (``response``, ``km``, ``cif``, ``follow_up``); the published
figures of the confirmed historical cohorts from ``published_outcomes``; the Kaplan–Meier and
cumulative-incidence step curves from ``km_curves`` and ``cif_curves`` (the analyze step's fits, whose
values at 3, 6 and 12 months are the ARD's). The numbers at risk under the axis are the ARD's.
"""

from __future__ import annotations

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.sections import ReportContext, Section, figure, para
from analysis.report.tables import html_table

HISTORICAL_12MO = {"OS": "os_12mo", "EFS": "efs_12mo"}
HISTORICAL_RESPONSE = {
    "best_cr_cri_3mo": (
        ("orr_3mo", "CR/CRi within 3 months"),
        ("cr_best_response", "best response CR/CRi"),
        ("cr_cri_best_response_pct", "best response CR/CRi"),
    )
}
"""Which published figures (``published_outcomes.variable``) sit beside which trial estimate, and what they are."""


def _published(ctx: ReportContext, variable: str) -> list[tuple[str, float, float | None, float | None]]:
    """(cohort name, estimate, CI low, CI high) in percent of one published figure, in the reference's cohort order."""
    published = ctx.inputs["published_outcomes"]
    rows = published[published["variable"] == variable].sort_values("cohort_order", kind="mergesort")
    return [
        (
            str(row.cohort_name),
            float(row.estimate_pct),
            None if pd.isna(row.ci_low_pct) else float(row.ci_low_pct),
            None if pd.isna(row.ci_high_pct) else float(row.ci_high_pct),
        )
        for row in rows.itertuples(index=False)
    ]


TICK_MONTHS = (0, 3, 6, 9, 12)
"""The survival figures' ticks (months since infusion); the numbers at risk are printed under each."""
ARD_MONTHS = (3, 6, 12)
"""Ticks whose number at risk the ARD's ``km`` rows hold; the others are read off the step function."""


def n_at_risk(steps: pd.DataFrame, month: float) -> int:
    """The number at risk at ``month`` read off a ``km_curves`` step function, as R's
    ``summary(survfit, times)``: ``n_risk`` of the first step at or after the time; 0 past the last step."""
    later = steps.loc[steps["time_months"] >= month, "n_risk"]
    return int(later.iloc[0]) if len(later) else 0


def rfs_note(km_curves: pd.DataFrame) -> str:
    """Why RFS at 12 months is not estimable, and the latest RFS that is: the last step of the analyze step's
    RFS curve (its time from CR/CRi, estimate and log-log 95 % CI), when there is one."""
    why = (
        "RFS starts at the first CR/CRi and follow-up ends 365.25 days after infusion (grading.md), so no "
        "responder can be followed 12 months from remission: RFS at 12 months is not estimable by construction."
    )
    steps = km_curves[km_curves["parameter"] == "RFS"].sort_values("step")
    if len(steps) < 2:
        return why
    last = steps.iloc[-1]
    return (
        f"{why} The latest RFS estimable is at the longest follow-up from remission, "
        f"{fmt.number(last['time_months'])} months: {fmt.pct(last['surv'])} ({fmt.ci(last['ci_low'], last['ci_high'])}), "
        f"{fmt.count(last['n_risk'])} at risk just before it."
    )


def efficacy_section(ctx: ReportContext) -> Section:
    ard = ctx.ard
    section = Section("efficacy", "Efficacy")
    rows = []
    for variable, label in (
        ("cr_cri_day28", "CR/CRi at day 28"),
        ("mrd_negative_day28", "MRD-negative (< 0.01 %) at day 28"),
        ("best_cr_cri_3mo", "Best response CR/CRi within 3 months"),
    ):
        historical = [
            f"{cohort}: {estimate:g} %" + (f" ({low:g}–{high:g})" if low is not None else "") + f", {what}"
            for field, what in HISTORICAL_RESPONSE.get(variable, ())
            for cohort, estimate, low, high in _published(ctx, field)
        ]
        count, estimate = fmt.rate_cells(ard.rate("response", "all", variable))
        rows.append(
            {
                "Endpoint": label,
                "n/N": count,
                "% (95 % CI)": estimate,
                "Historical (as published)": "; ".join(historical) or fmt.DASH,
            }
        )
    section.add(
        html_table(
            pd.DataFrame(rows),
            "tbl-response",
            "Response",
            subtitle="efficacy-evaluable set; exact 95 % CI",
            widths={"Endpoint": 22, "Historical (as published)": 50},
        )
    )
    follow = ard.value("follow_up", "all", "months", "median")
    section.add(para(f"Median follow-up (reverse Kaplan–Meier on OS): {fmt.number(follow)} months."))
    km_curves = ctx.inputs["km_curves"]
    curves, at_risk = {}, {}
    for param in ("OS", "EFS"):
        steps = km_curves[km_curves["parameter"] == param].sort_values("step")
        if steps.empty:
            continue
        curves[param] = pd.DataFrame(
            {
                "time": steps["time_months"].to_numpy(float),
                "value": steps["surv"].to_numpy(float),
                "censored": steps["n_censor"].to_numpy(int) > 0,
                "low": steps["ci_low"].to_numpy(float),
                "high": steps["ci_high"].to_numpy(float),
            }
        )
        at_risk[param] = {
            month: fmt.count(
                ard.value("km", param, f"month_{month}", "n_risk") if month in ARD_MONTHS else n_at_risk(steps, month)
            )
            for month in TICK_MONTHS
        }
    historical = [
        {
            "label": f"{param} at 12 months, {cohort}",
            "month": 12.0,
            "estimate": estimate,
            "low": low,
            "high": high,
            "colour": "#7d9cc4" if param == "OS" else "#d99a94",
        }
        for param, field in HISTORICAL_12MO.items()
        for cohort, estimate, low, high in _published(ctx, field)
    ]
    if curves:
        section.add(
            figure(
                figures.survival(curves, at_risk, historical, "surviving / event-free, %", "km"),
                "Kaplan–Meier estimates of overall (OS) and event-free survival (EFS) with pointwise log-log 95 % "
                "confidence bands; | a censored participant; numbers at risk under every tick; pale marks: historical 12-month estimates (OS blue, EFS red) with their published 95 % CIs.",
                "fig-km",
            )
        )
    else:
        section.add(para("No participant is infused at this data cut: no survival curve."))
    km_rows = []
    for param in ("OS", "EFS", "RFS"):
        row = {"Endpoint": param}
        for m in (3, 6, 12):
            s = lambda stat: ard.value("km", param, f"month_{m}", stat)  # noqa: E731
            row[f"{m} months"] = f"{fmt.pct(s('surv'))} ({fmt.ci(s('ci_low'), s('ci_high'))})"
            row[f"at risk {m}"] = fmt.count(s("n_risk"))
        km_rows.append(row)
    row = {"Endpoint": "Cumulative incidence of relapse"}
    for m in (3, 6, 12):
        s = lambda stat: ard.value("cif", "CIR", f"month_{m}", stat)  # noqa: E731
        row[f"{m} months"] = f"{fmt.pct(s('cif'))} ({fmt.ci(s('ci_low'), s('ci_high'))})"
        row[f"at risk {m}"] = fmt.DASH
    km_rows.append(row)
    km_frame = pd.DataFrame(km_rows)[["Endpoint", *[c for m in (3, 6, 12) for c in (f"{m} months", f"at risk {m}")]]]
    section.add(
        html_table(
            km_frame,
            "tbl-km",
            "Survival and relapse at 3, 6 and 12 months",
            labels={f"at risk {m}": "at risk" for m in (3, 6, 12)},
            subtitle="Kaplan–Meier with log-log 95 % CI (OS, EFS, RFS); Aalen–Johansen with death without "
            "relapse competing (CIR)",
            notes=["n.e.: not estimable (beyond the longest follow-up).", rfs_note(km_curves)],
        )
    )
    cif_curves = ctx.inputs["cif_curves"]
    cir = cif_curves[cif_curves["parameter"] == "CIR"].sort_values("step")
    if not cir.empty:
        curve = pd.DataFrame({"time": cir["time_months"].to_numpy(float), "value": cir["cif"].to_numpy(float)})
        section.add(
            figure(
                figures.survival({"CIR": curve}, {}, [], "cumulative incidence of relapse, %", "cir", ascending=True),
                "Cumulative incidence of relapse (death without relapse a competing risk).",
                "fig-cir",
            )
        )
    return section
