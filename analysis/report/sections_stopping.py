"""Closed-session safety stopping rules (status, boundaries, operating characteristics) and the summary page.

The grade ≥ 4 CRS count and the number evaluated are the ARD's (``crs_rate``, group ``all``);
treatment-related deaths are counted in ADSL's CRS-evaluable set (grading.md's definition,
``treatment_related_death``). Boundaries and operating characteristics come from
:mod:`analysis.stats.monitoring` with the settings in force.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report import figures, fmt, summaries
from analysis.report.sections import ReportContext, Section, bullets, figure, para
from analysis.report.sections_comparison import comparisons
from analysis.report.sections_safety import RATE_VARIABLES
from analysis.report.tables import gt_html
from analysis.stats import monitoring

RULE_TITLES = {"crs_grade4plus": "Grade ≥ 4 CRS", "treatment_related_death": "Treatment-related death"}


def stopping_counts(ctx: ReportContext) -> dict[str, tuple[int, int]]:
    """(events, evaluated) per rule: grade ≥ 4 CRS from the ARD; treatment-related deaths from ADSL."""
    crs = ctx.ard.rate("crs_rate", "all", "crs_grade4plus")
    adsl = ctx.inputs["adsl"]
    evaluable = summaries.flag(adsl, "crs_evaluable")
    evaluated = int(crs.N) if not fmt.is_missing(crs.N) else int(evaluable.sum())
    trd = int((evaluable & summaries.flag(adsl, "treatment_related_death")).sum())
    return {
        "crs_grade4plus": (0 if fmt.is_missing(crs.n) else int(crs.n), evaluated),
        "treatment_related_death": (trd, int(evaluable.sum())),
    }


def rule_statuses(ctx: ReportContext) -> list[monitoring.RuleStatus]:
    """Each stopping rule's status at this data cut."""
    counts = stopping_counts(ctx)
    return [monitoring.rule_status(r, *counts[r.name]) for r in monitoring.rules_from_settings(ctx.plan.stopping)]


def status_block(status: monitoring.RuleStatus) -> str:
    return para(f"{RULE_TITLES[status.rule.name]} — {status.text}.", "status crossed" if status.crossed else "status")


def stopping_section(ctx: ReportContext) -> Section:
    s = ctx.plan.stopping
    statuses = rule_statuses(ctx)
    rules = [st.rule for st in statuses]
    section = Section("stopping", "Safety stopping rules")
    section.add(*[status_block(st) for st in statuses])
    section.add(
        para(
            f"Rule (Bayesian beta-binomial, after Thall and Simon 1994): with a Beta({s.prior_a:g}, {s.prior_b:g}) prior, "
            f"stop when P(true rate > unacceptable rate | data) ≥ {s.posterior_threshold:g}, from {s.min_evaluated} "
            f"evaluated on, over the CRS-evaluable set. Unacceptable rates: grade ≥ 4 CRS (ASTCT) "
            f"{fmt.pct(s.crs_grade4plus_unacceptable_rate, 0)}; treatment-related death (cause CRS, ICANS or infection within "
            f"{ctx.plan.trm_cause_days:g} days, or any cause other than disease within {ctx.plan.trm_any_cause_days:g} days) "
            f"{fmt.pct(s.treatment_related_death_unacceptable_rate, 0)}. These are proposed defaults that the DSMB must "
            "confirm (analysis-plan settings 'stopping'). The status is that of this data cut; the operating "
            "characteristics (appendix) assume a look after every newly evaluable participant."
        )
    )
    posterior = pd.DataFrame(
        [
            {
                "Rule": RULE_TITLES[st.rule.name],
                "Events": str(st.events),
                "Evaluated": str(st.evaluated),
                "Boundary at this n": fmt.count(st.boundary),
                "P(rate > unacceptable | data)": fmt.number(st.posterior, 3),
                "Crossed": "YES" if st.crossed else "no",
            }
            for st in statuses
        ]
    )
    section.add(gt_html(posterior, "tbl-stopping-status", "Current status"))
    tables = {RULE_TITLES[r.name]: monitoring.stopping_boundaries(r) for r in rules}
    current = {RULE_TITLES[st.rule.name]: (st.events, st.evaluated) for st in statuses}
    section.add(
        figure(
            figures.boundaries(tables, current),
            "Stopping boundaries: the number of events among n evaluated "
            "that signals a stop; dots: the counts at this data cut.",
            "fig-boundaries",
        )
    )
    first = next(iter(tables.values()))
    merged = pd.DataFrame({"n": first["n_evaluated"].astype(str)})
    for k, table in enumerate(tables.values()):
        merged[f"rule{k}"] = table["stop_at"].map(fmt.count)
    parts = np.array_split(np.arange(len(merged)), 3)
    blocks, labels = [], {}
    for j, index in enumerate(parts):
        block = merged.iloc[index].reset_index(drop=True)
        block.columns = [f"{c}_{j}" for c in block.columns]
        labels.update({f"n_{j}": "n", **{f"rule{k}_{j}": title for k, title in enumerate(tables)}})
        blocks.append(block)
    side = pd.concat(blocks, axis=1).fillna("")
    return section.add(
        gt_html(
            side,
            "tbl-boundaries",
            "Stopping boundaries",
            labels=labels,
            subtitle="events among n evaluated that signal a stop ('–': no count stops)",
        )
    )


def summary_section(ctx: ReportContext) -> Section:
    """The closed report's first page: stopping-rule status, the primary endpoint and the primary comparison."""
    section = Section("summary", "Summary for the DSMB")
    section.add(*[status_block(st) for st in rule_statuses(ctx)])
    primary = ctx.plan.primary
    rate = ctx.ard.rate("crs_rate", "all", primary.endpoint)
    items = [
        f"Primary endpoint, {RATE_VARIABLES.get(primary.endpoint, primary.endpoint)}, CRS-evaluable set: {fmt.rate(rate)}."
    ]
    rows, _ = comparisons(ctx)
    for r in rows:
        if r["primary"]:
            items.append(
                f"Primary comparison against {r['cohort_id']} (trial's Penn approximation {fmt.count(r['trial_n'])}/"
                f"{fmt.count(r['trial_N'])}, {fmt.pct(r['trial_p'])}; historical {fmt.count(r['historical_n'])}/"
                f"{fmt.count(r['historical_N'])}, {fmt.pct(r['historical_p'])}): one-sided exact p = "
                f"{fmt.p_value(r['p_binom'])}, descriptive at this interim look; the Penn approximation favours "
                "PACER by construction."
            )
    follow = ctx.ard.value("follow_up", "all", "months", "median")
    os12 = ctx.ard.value("km", "OS", "month_12", "surv")
    items.append(f"Median follow-up {fmt.number(follow)} months; OS at 12 months {fmt.pct(os12)}.")
    return section.add(bullets(items))


def oc_appendix(ctx: ReportContext) -> Section:
    s = ctx.plan.stopping
    rules = monitoring.rules_from_settings(s)
    section = Section("operating-characteristics", "Operating characteristics of the stopping rules", appendix=True)
    tables = {
        RULE_TITLES[r.name]: monitoring.operating_characteristics(r, s.oc_true_rates, s.oc_trials, s.oc_seed)
        for r in rules
    }
    section.add(
        para(
            f"Simulated trials: {s.oc_trials} per true rate, seed {s.oc_seed}; each evaluates up to "
            f"{s.max_evaluated} participants one at a time and stops at the first boundary crossed."
        )
    )
    section.add(
        figure(figures.operating_characteristics(tables), "Probability of stopping by the true event rate.", "fig-oc")
    )
    for k, (label, table) in enumerate(tables.items()):
        shown = pd.DataFrame(
            {
                "True rate": table["true_rate"].map(lambda v: fmt.pct(v, 0)),
                "P(stop)": table["prob_stop"].map(lambda v: fmt.pct(v)),
                f"P(stop by n = {s.max_evaluated // 2})": table["prob_stop_by_half"].map(lambda v: fmt.pct(v)),
                "Expected number evaluated": table["mean_evaluated"].map(lambda v: fmt.number(v)),
                "Monte Carlo SE of P(stop)": table["mc_se"].map(lambda v: fmt.pct(v, 2)),
            }
        )
        section.add(gt_html(shown, f"tbl-oc-{k}", f"Operating characteristics: {label}"))
    return section
