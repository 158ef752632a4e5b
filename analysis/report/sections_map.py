"""Closed-session section: the robust meta-analytic-predictive (MAP) priors of the historical rates.

Every number is read from the ARD (``map_prior``) and the curves from ``map_prior_densities.parquet``,
both written by the analyze step; nothing is computed here (outputs.md v3).
"""

from __future__ import annotations

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.sections import ReportContext, Section, figure, para
from analysis.report.tables import html_table

ANALYSIS = "map_prior"
ENDPOINTS = {
    "crs_any": "any CRS",
    "crs_grade3plus": "CRS grade ≥ 3",
    "crs_grade4plus": "CRS grade ≥ 4",
    "icans_any": "any ICANS",
    "icans_grade3plus": "ICANS grade ≥ 3",
}
SCALES = {"penn": "Penn (trial: Penn approximation)", "astct": "ASTCT"}


def map_group_title(group: str) -> str:
    """A MAP-prior group (``crs_any__penn``) in words: "any CRS, Penn (trial: Penn approximation)"."""
    endpoint, _, scale = group.partition("__")
    return f"{ENDPOINTS.get(endpoint, endpoint)}, {SCALES.get(scale, scale)}"


def map_prior_section(ctx: ReportContext) -> Section:
    """The MAP priors: one row per endpoint × scale, and the figure of prior, robust prior and posterior."""
    section = Section("map-prior", "Historical evidence as robust MAP priors")
    groups = sorted({g for g, _ in ctx.ard.pairs(ANALYSIS)})
    if not groups:
        return section.add(para("No MAP prior: no confirmed, like-for-like historical cohort (see the appendix)."))
    section.add(
        para(
            "Each MAP prior is the predicted rate of a new study like the historical ones (binomial–normal "
            "meta-analysis, between-study SD τ with a half-normal prior), approximated by a beta mixture and "
            f"robustified with a uniform component of weight {ctx.plan.map.robust_weight:g}. ESS: the number of "
            "patients the prior is worth. P(trial lower): probability that the trial's rate is below a new "
            "study's rate. Conflict p: how surprising the trial's count is under the prior (small = conflict). "
            "Descriptive; no decision is based on them."
        )
    )

    def v(group: str, variable: str, stat: str, method: str = "") -> float:
        return ctx.ard.value(ANALYSIS, group, variable, stat, method)

    table = pd.DataFrame(
        [
            {
                "Endpoint, scale": map_group_title(g),
                "Studies": fmt.count(v(g, "map", "n_studies")),
                "MAP prior, % (95 % interval)": f"{fmt.pct(v(g, 'map', 'mean'))} ({fmt.ci(v(g, 'map', 'q025'), v(g, 'map', 'q975'))})",
                "ESS MAP / robust": f"{fmt.number(v(g, 'map', 'ess', 'elir'), 0)} / {fmt.number(v(g, 'robust_map', 'ess', 'elir'), 0)}",
                "Trial n/N": f"{fmt.count(v(g, 'posterior', 'trial_n'))}/{fmt.count(v(g, 'posterior', 'trial_N'))}",
                "Posterior, % (95 % interval)": f"{fmt.pct(v(g, 'posterior', 'mean'))} ({fmt.ci(v(g, 'posterior', 'q025'), v(g, 'posterior', 'q975'))})",
                "P(trial lower)": fmt.number(v(g, "robust_map", "prob_lower"), 3),
                "Conflict p": fmt.number(v(g, "robust_map", "conflict_p"), 3),
            }
            for g in groups
        ]
    )
    section.add(
        html_table(
            table,
            "tbl-map-prior",
            "Robust MAP priors and the trial's posterior",
            notes=["ESS: expected local-information ratio (RBesT). P(trial lower) and conflict p: robust MAP prior."],
        )
    )
    densities = ctx.inputs.map_prior_densities
    if densities is not None and len(densities):
        section.add(
            figure(
                figures.map_prior(densities, {g: map_group_title(g) for g in groups}),
                "MAP prior (dashed), robust MAP prior and the trial's posterior under it, per endpoint and scale.",
                "fig-map-prior",
            )
        )
    return section
