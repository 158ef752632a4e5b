"""Closed-session efficacy: response beside the historical figures, survival and relapse.

Every estimate is read from the ARD (``response``, ``km``, ``cif``, ``follow_up``). The Kaplan–Meier
and cumulative-incidence step curves are computed from adtte.parquet for plotting only, with the
project's own estimators (analysis.stats); the numbers at risk under the axis are the ARD's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report import figures, fmt
from analysis.report.sections import ReportContext, Section, figure, para
from analysis.report.tables import gt_html
from analysis.stats.cumulative_incidence import cuminc
from analysis.stats.kaplan_meier import kaplan_meier

HISTORICAL_12MO = {"OS": "os_12mo", "EFS": "efs_12mo"}
HISTORICAL_RESPONSE = {
    "best_cr_cri_3mo": (
        ("orr_3mo", "CR/CRi within 3 months"),
        ("cr_best_response", "best response CR/CRi"),
        ("cr_cri_best_response_pct", "best response CR/CRi"),
    )
}


def efficacy_section(ctx: ReportContext) -> Section:
    inputs, ard = ctx.inputs, ctx.ard
    section = Section("efficacy", "Efficacy")
    cohorts = ctx.inputs.cohorts
    rows = []
    for variable, label in (
        ("cr_cri_day28", "CR/CRi at day 28"),
        ("mrd_negative_day28", "MRD-negative (< 0.01 %) at day 28"),
        ("best_cr_cri_3mo", "Best response CR/CRi within 3 months"),
    ):
        historical = []
        for field, what in HISTORICAL_RESPONSE.get(variable, ()):
            for c in cohorts:
                value = c.get(field)
                if isinstance(value, dict) and value.get("estimate") is not None:
                    ci = value.get("ci") or [None, None]
                    extra = f" ({ci[0]:g}–{ci[1]:g})" if ci[0] is not None else ""
                    historical.append(f"{c['id']}: {value['estimate']:g} %{extra}, {what}")
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    historical.append(f"{c['id']}: {value:g} %, {what}")
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
        gt_html(pd.DataFrame(rows), "tbl-response", "Response", subtitle="efficacy-evaluable set; exact 95 % CI")
    )
    follow = ard.value("follow_up", "all", "months", "median")
    section.add(para(f"Median follow-up (reverse Kaplan–Meier on OS): {fmt.number(follow)} months."))
    adtte = inputs["adtte"]
    month = ctx.plan.days_per_month
    curves, at_risk = {}, {}
    for param in ("OS", "EFS"):
        data = adtte[adtte["paramcd"].astype(str) == param]
        if data.empty:
            continue
        fit = kaplan_meier(data["aval"].astype(float) / month, data["cnsr"].astype(int) == 0)
        curves[param] = pd.DataFrame({"time": np.r_[0.0, fit.time], "value": np.r_[1.0, fit.surv]})
        at_risk[param] = {
            0: f"{len(data)}",
            **{m: fmt.count(ard.value("km", param, f"month_{m}", "n_risk")) for m in (3, 6, 12)},
        }
    historical = []
    for param, field in HISTORICAL_12MO.items():
        for c in cohorts:
            value = c.get(field)
            if isinstance(value, dict) and value.get("estimate") is not None:
                ci = value.get("ci") or [None, None]
                historical.append(
                    {
                        "label": f"{param} at 12 months, {c['id']}",
                        "month": 12.0,
                        "estimate": float(value["estimate"]),
                        "low": ci[0],
                        "high": ci[1],
                        "colour": "#7d9cc4" if param == "OS" else "#d99a94",
                    }
                )
    if curves:
        section.add(
            figure(
                figures.survival(curves, at_risk, historical, "surviving / event-free, %", "km"),
                "Kaplan–Meier estimates of overall (OS) and event-free survival (EFS), numbers at risk under "
                "the axis; pale marks: historical 12-month estimates (OS blue, EFS red) with their published 95 % CIs.",
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
    cir = adtte[adtte["paramcd"].astype(str) == "CIR"]
    row = {"Endpoint": "Cumulative incidence of relapse"}
    for m in (3, 6, 12):
        s = lambda stat: ard.value("cif", "CIR", f"month_{m}", stat)  # noqa: E731
        row[f"{m} months"] = f"{fmt.pct(s('cif'))} ({fmt.ci(s('ci_low'), s('ci_high'))})"
        row[f"at risk {m}"] = fmt.DASH
    km_rows.append(row)
    km_frame = pd.DataFrame(km_rows)[["Endpoint", *[c for m in (3, 6, 12) for c in (f"{m} months", f"at risk {m}")]]]
    section.add(
        gt_html(
            km_frame,
            "tbl-km",
            "Survival and relapse at 3, 6 and 12 months",
            labels={f"at risk {m}": "at risk" for m in (3, 6, 12)},
            subtitle="Kaplan–Meier with log-log 95 % CI (OS, EFS, RFS); Aalen–Johansen with death without "
            "relapse competing (CIR)",
            notes=["n.e.: not estimable (beyond the longest follow-up)."],
        )
    )
    if not cir.empty:
        fit = cuminc(cir["aval"].astype(float) / month, cir["event_code"].astype(int), cause=1, cencode=0)
        curve = pd.DataFrame({"time": fit.time, "value": fit.est})
        section.add(
            figure(
                figures.survival({"CIR": curve}, {}, [], "cumulative incidence of relapse, %", "cir", ascending=True),
                "Cumulative incidence of relapse (death without relapse a competing risk).",
                "fig-cir",
            )
        )
    return section
