"""Closed-session section: the trial against the site's own historical cohort (``--historical-export``).

Every number is read from the ARD's ``cohort_*`` rows (Firth logistic regression, IPTW, balance,
Kaplan–Meier, Cox, log-rank) and, when ``pacer bootstrap`` has run, from ``iptw_bootstrap.parquet``.
Both cohorts went through the same ingest and derivations, so the grading is like for like.
"""

from __future__ import annotations

import pandas as pd

from analysis.report import fmt
from analysis.report.sections import ReportContext, Section, para
from analysis.report.tables import html_table

COVARIATES = {
    "cohort_trial": "Trial vs historical",
    "log2_marrow_blasts": "log2 marrow blasts (per doubling)",
    "age_years": "Age (per year)",
    "prior_hsct": "Prior HSCT",
}
ENDPOINTS = {"OS": "Overall survival", "EFS": "Event-free survival"}
MONTHS = ("month_3", "month_6", "month_12")


def _estimate(ctx: ReportContext, analysis: str, group: str, variable: str, stat: str, method: str) -> str:
    """An estimate with its CI: "0.52 (0.19–1.38)"."""
    value = lambda name: ctx.ard.value(analysis, group, variable, name, method)  # noqa: E731
    return f"{fmt.number(value(stat), 2)} ({fmt.ci(value(stat + '_ci_low'), value(stat + '_ci_high'), percent=False, digits=2)})"


def severe_crs_table(ctx: ReportContext) -> str:
    """Severe CRS, trial vs historical: Firth logistic regression, IPTW (odds ratio, weighted risks and
    difference) and the bootstrap interval of the IPTW difference."""
    ard = ctx.ard
    firth = lambda stat, variable="cohort_trial": ard.value(  # noqa: E731
        "cohort_firth_logistic", "severe_crs", variable, stat, "firth_profile"
    )
    iptw = lambda stat: ard.value("cohort_iptw", "severe_crs", "cohort_trial", stat, "iptw_ate_robust")  # noqa: E731
    rows = [
        {
            "Analysis": f"Firth logistic regression: {label}",
            "Estimate (95 % CI)": "OR "
            + _estimate(ctx, "cohort_firth_logistic", "severe_crs", variable, "or", "firth_profile"),
            "p": fmt.p_value(firth("p_value", variable)),
        }
        for variable, label in COVARIATES.items()
    ]
    rows += [
        {
            "Analysis": "IPTW (stabilized ATE weights): odds ratio, trial vs historical",
            "Estimate (95 % CI)": "OR "
            + _estimate(ctx, "cohort_iptw", "severe_crs", "cohort_trial", "or", "iptw_ate_robust"),
            "p": fmt.p_value(iptw("or_p_value")),
        },
        {
            "Analysis": "IPTW: weighted severe-CRS risk, trial / historical",
            "Estimate (95 % CI)": f"{fmt.pct(iptw('trial_p'))} / {fmt.pct(iptw('historical_p'))}",
            "p": "",
        },
        {
            "Analysis": "IPTW: risk difference, trial − historical (sandwich CI)",
            "Estimate (95 % CI)": f"{fmt.number(100 * iptw('rd'))} points ({fmt.ci(iptw('rd_ci_low'), iptw('rd_ci_high'))})",
            "p": fmt.p_value(iptw("rd_p_value")),
        },
    ]
    bootstrap = ctx.inputs.iptw_bootstrap
    notes = []
    if bootstrap is not None and not bootstrap.empty:
        rd = bootstrap.loc[bootstrap["statistic"] == "rd"].iloc[0]
        rows.append(
            {
                "Analysis": "IPTW: risk difference, bootstrap percentile CI",
                "Estimate (95 % CI)": f"{fmt.number(100 * rd['estimate'])} points ({fmt.ci(rd['boot_ci_low'], rd['boot_ci_high'])})",
                "p": "",
            }
        )
        notes.append(
            f"Bootstrap: {int(rd['replicates'])} replicates resampled within each cohort ({int(rd['failed'])} failed), "
            f"seed {int(rd['seed'])}; bootstrap SE {fmt.number(100 * rd['boot_se'])} points."
        )
    else:
        notes.append("No bootstrap interval: run `pacer bootstrap` and re-render to add it.")
    model = lambda stat: ard.value("cohort_firth_logistic", "severe_crs", "model", stat)  # noqa: E731
    weights = lambda stat: ard.value("cohort_iptw", "severe_crs", "weights", stat, "iptw_ate_robust")  # noqa: E731
    notes.insert(
        0,
        f"Severe CRS = ASTCT grade ≥ 3. {fmt.count(model('n'))} participants ({fmt.count(model('n_trial'))} trial, "
        f"{fmt.count(model('n_historical'))} historical), {fmt.count(model('events'))} events "
        f"({fmt.count(model('events_trial'))} trial, {fmt.count(model('events_historical'))} historical): exploratory. "
        "Firth: penalized likelihood, profile CIs and likelihood-ratio p, adjusted for the covariates listed. "
        f"IPTW: effective sample sizes {fmt.number(weights('ess_trial'))} (trial) and "
        f"{fmt.number(weights('ess_historical'))} (historical); weights {fmt.number(weights('weight_min'), 2)}–"
        f"{fmt.number(weights('weight_max'), 2)}.",
    )
    return html_table(
        pd.DataFrame(rows),
        "tbl-site-severe-crs",
        "Severe CRS: trial against the site's historical cohort",
        subtitle="CRS-evaluable participants of both cohorts, graded by the same code",
        notes=notes,
    )


def balance_table(ctx: ReportContext) -> str:
    """Covariate means and standardized mean differences before and after weighting."""
    value = lambda variable, stat, method: ctx.ard.value("cohort_smd", "trial_vs_historical", variable, stat, method)  # noqa: E731
    rows = [
        {
            "Covariate": label,
            "Mean, trial": fmt.number(value(variable, "mean_trial", "unweighted"), 2),
            "Mean, historical": fmt.number(value(variable, "mean_historical", "unweighted"), 2),
            "SMD, unweighted": fmt.number(value(variable, "smd", "unweighted"), 3),
            "SMD, IPTW": fmt.number(value(variable, "smd", "iptw_ate"), 3),
        }
        for variable, label in COVARIATES.items()
        if variable != "cohort_trial"
    ]
    return html_table(
        pd.DataFrame(rows),
        "tbl-site-balance",
        "Covariate balance",
        subtitle="standardized mean differences before and after IPTW weighting; |SMD| < 0.1 is usually read as balanced",
    )


def survival_table(ctx: ReportContext) -> str:
    """OS and EFS by cohort: Kaplan–Meier at 3, 6, 12 months, Cox hazard ratio and log-rank test."""
    ard = ctx.ard
    rows = []
    for endpoint, label in ENDPOINTS.items():
        for cohort in ("trial", "historical"):
            row = {"Endpoint": label, "Cohort": cohort}
            for month in MONTHS:
                value = lambda stat: ard.value("cohort_km", f"{endpoint}_{cohort}", month, stat)  # noqa: E731
                row[month] = f"{fmt.pct(value('surv'))} ({fmt.ci(value('ci_low'), value('ci_high'))})"
            observed = ard.value("cohort_logrank", endpoint, cohort, "observed", "logrank")
            row["Events / N"] = (
                f"{fmt.count(observed)}/{fmt.count(ard.value('cohort_logrank', endpoint, cohort, 'n', 'logrank'))}"
            )
            if cohort == "trial":
                row["Cox HR (95 % CI), p"] = (
                    _estimate(ctx, "cohort_cox", endpoint, "cohort_trial", "hr", "efron_wald")
                    + f", p {fmt.p_value(ard.value('cohort_cox', endpoint, 'cohort_trial', 'p_value', 'efron_wald'))}"
                )
                row["Log-rank χ², p"] = (
                    f"{fmt.number(ard.value('cohort_logrank', endpoint, 'cohort', 'chisq', 'logrank'), 2)}, p "
                    f"{fmt.p_value(ard.value('cohort_logrank', endpoint, 'cohort', 'p_value', 'logrank'))}"
                )
            else:
                row["Cox HR (95 % CI), p"] = row["Log-rank χ², p"] = ""
            rows.append(row)
    return html_table(
        pd.DataFrame(rows),
        "tbl-site-survival",
        "Survival: trial against the site's historical cohort",
        labels={"month_3": "3 months", "month_6": "6 months", "month_12": "12 months"},
        subtitle="Kaplan–Meier % (log-log 95 % CI); Cox (Efron ties) hazard ratio trial / historical, unadjusted; "
        "log-rank test",
    )


def site_historical_section(ctx: ReportContext) -> Section | None:
    """The section, or None when the run had no historical export (no ``cohort_*`` rows in the ARD)."""
    if not ctx.ard.has("cohort_firth_logistic"):
        return None
    section = Section("site-historical", "Trial against the site's own historical cohort")
    section.add(
        para(
            "The site's historical patients were put through the same ingest and derivations as the trial, so "
            "both are graded alike. Treatment was not randomized: these are exploratory, adjusted comparisons.",
            "callout",
        )
    )
    return section.add(severe_crs_table(ctx), balance_table(ctx), survival_table(ctx))
