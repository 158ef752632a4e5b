"""Closed-session safety stopping rules (status, boundaries, operating characteristics) and the summary page.

Everything printed here is read from the ARD rows the analyze step wrote (outputs.md v3):
``stopping_rule`` (the boundary at every number evaluated and the design: threshold, α, p0, exact
type I error), ``stopping_oc`` (exact operating characteristics) and ``stopping_status`` (the counts
at the cut, the boundary there, whether it is crossed, the posterior, and the trial's path). This
module only formats them: it computes no boundary, status or probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.report import figures, fmt
from analysis.report.sections import ReportContext, Section, bullets, figure, para
from analysis.report.sections_comparison import comparisons
from analysis.report.sections_safety import RATE_VARIABLES
from analysis.report.tables import html_table

RULE_TITLES = {"crs_grade4plus": "Grade ≥ 4 CRS", "treatment_related_death": "Treatment-related death"}
EVENT_LABELS = {"crs_grade4plus": "grade ≥ 4 CRS", "treatment_related_death": "treatment-related death"}
METHOD_NAMES = {
    "thall_simon": "Bayesian beta-binomial rule (Thall and Simon 1994)",
    "bb_calibrated": "Bayesian beta-binomial rule with a calibrated threshold (Geller et al. 2003)",
    "pocock": "Pocock-type boundary (one nominal level at every look)",
    "obf": "O'Brien–Fleming-type boundary",
    "sprt": "truncated sequential probability ratio test",
}


@dataclass(frozen=True)
class RuleRows:
    """What the ARD holds about one stopping rule.

    Attributes
    ----------
    name, method : str
    design : dict of str to float
        ``threshold``, ``alpha``, ``p0``, ``type1_error``, ``prior_a``, ``prior_b``, ``first_look``,
        ``max_evaluated`` (``p1`` for the SPRT).
    boundaries : pandas.DataFrame
        ``n_evaluated``, ``boundary`` (NaN where no count stops).
    oc : pandas.DataFrame
        ``true_rate``, ``prob_stop``, ``expected_events``, ``expected_n``.
    status : dict of str to float
        ``events``, ``evaluated``, ``boundary``, ``crossed`` (``posterior`` for the Bayesian methods).
    path : pandas.DataFrame
        ``n_evaluated``, ``events``: the trial's cumulative count.
    """

    name: str
    method: str
    design: dict[str, float]
    boundaries: pd.DataFrame
    oc: pd.DataFrame
    status: dict[str, float]
    path: pd.DataFrame

    @property
    def title(self) -> str:
        return RULE_TITLES.get(self.name, self.name)

    @property
    def crossed(self) -> bool:
        return self.status.get("crossed") == 1


def numbered(rows: pd.DataFrame, prefix: str, stat: str, column: str) -> pd.DataFrame:
    """Rows ``<prefix><number>`` of one statistic as (number, value), sorted by the number."""
    chosen = rows[rows["variable"].str.startswith(prefix) & (rows["stat_name"] == stat)]
    numbers = chosen["variable"].str.slice(len(prefix)).astype(float)
    frame = pd.DataFrame({column: numbers.to_numpy(), stat: chosen["stat_value"].astype(float).to_numpy()})
    return frame.sort_values(column, kind="mergesort").reset_index(drop=True)


def stopping_rules(ctx: ReportContext) -> list[RuleRows]:
    """Every rule of the ARD's ``stopping_rule`` rows, in ARD order."""
    ard = ctx.inputs["ard"]
    rules = []
    for name, rule_rows in ard[ard["analysis"] == "stopping_rule"].groupby("group", sort=True):
        status_rows = ard[(ard["analysis"] == "stopping_status") & (ard["group"] == name)]
        oc_rows = ard[(ard["analysis"] == "stopping_oc") & (ard["group"] == name)]
        design = rule_rows[rule_rows["variable"] == "design"]
        cut = status_rows[status_rows["variable"] == "cut"]
        oc = numbered(oc_rows, "p_", "prob_stop", "true_rate")
        for stat in ("expected_events", "expected_n"):
            oc[stat] = numbered(oc_rows, "p_", stat, "true_rate")[stat]
        boundaries = numbered(rule_rows, "n_", "boundary", "n_evaluated")
        path = numbered(status_rows, "n_", "events", "n_evaluated")
        rules.append(
            RuleRows(
                name=str(name),
                method=str(design["method"].iloc[0]),
                design=dict(zip(design["stat_name"], design["stat_value"].astype(float))),
                boundaries=boundaries.astype({"n_evaluated": "int64"}),
                oc=oc,
                status=dict(zip(cut["stat_name"], cut["stat_value"].astype(float))),
                path=path.astype({"n_evaluated": "int64"}),
            )
        )
    return rules


def counted_label(rule: RuleRows, count: int) -> str:
    """The event label for ``count`` events ("1 treatment-related death", "2 treatment-related deaths")."""
    label = EVENT_LABELS.get(rule.name, rule.name)
    return label + ("s" if count != 1 and not label.endswith("CRS") else "")


def status_text(rule: RuleRows) -> str:
    """The plain-language status line of one rule at the cut."""
    events, evaluated = int(rule.status["events"]), int(rule.status["evaluated"])
    counted = f"{events} {counted_label(rule, events)} in {evaluated} evaluable"
    first_look = int(rule.design["first_look"])
    if evaluated < first_look:
        return f"not yet monitored: {counted}; the rule applies from {first_look} evaluable"
    boundary = rule.status["boundary"]
    if fmt.is_missing(boundary):
        return f"boundary not crossed: {counted}; no count stops at {evaluated}"
    head = "BOUNDARY CROSSED" if rule.crossed else "boundary not crossed"
    text = f"{head}: {counted}; the boundary at {evaluated} is {int(boundary)}"
    if rule.crossed:
        text += " — the DSMB is asked to consider pausing enrollment"
    return text


def status_lines(ctx: ReportContext) -> list[tuple[str, str, bool]]:
    """(rule title, status line, crossed) of every rule: the summary page and the run summary print these."""
    return [(rule.title, status_text(rule), rule.crossed) for rule in stopping_rules(ctx)]


def status_block(title: str, text: str, crossed: bool) -> str:
    return para(f"{title} — {text}.", "status crossed" if crossed else "status")


def rule_sentence(rule: RuleRows) -> str:
    """The rule in force for one event, stated from its design rows."""
    d = rule.design
    p0 = fmt.pct(d["p0"], 0)
    prior = f"a Beta({d['prior_a']:g}, {d['prior_b']:g}) prior"
    if rule.method == "thall_simon":
        stop = f"with {prior}, stop when P(true rate > {p0} | data) ≥ {d['threshold']:g}"
    elif rule.method == "bb_calibrated":
        stop = f"with {prior}, stop when P(true rate > {p0} | data) > {d['threshold']:.6g}"
    elif rule.method == "pocock":
        stop = f"stop when the one-sided binomial p-value against {p0} falls below {d['threshold']:.6g}"
    elif rule.method == "obf":
        stop = f"stop when (events − n × {d['p0']:g}) / √(N × {d['p0']:g} × {1 - d['p0']:g}) > {d['threshold']:.6g}"
    else:
        stop = f"stop when the log-likelihood ratio of {fmt.pct(d['p1'], 0)} against {p0} exceeds {d['threshold']:.6g}"
    calibrated = "" if fmt.is_missing(d["alpha"]) else f", calibrated to α = {d['alpha']:g}"
    return (
        f"{rule.title}: {stop}{calibrated}; P(ever stop | true rate {p0}) = {fmt.number(d['type1_error'], 4)} (exact)"
    )


def stopping_section(ctx: ReportContext) -> Section:
    rules = stopping_rules(ctx)
    section = Section("stopping", "Safety stopping rules")
    if not rules:
        return section.add(para("No stopping-rule rows in the ARD: rerun the analyze step."))
    section.add(*[status_block(rule.title, status_text(rule), rule.crossed) for rule in rules])
    first = rules[0].design
    methods = sorted({METHOD_NAMES.get(rule.method, rule.method) for rule in rules})
    section.add(
        para(
            f"Rule: {'; '.join(methods)}, from {int(first['first_look'])} evaluated on, up to "
            f"{int(first['max_evaluated'])}, over the CRS-evaluable set. "
            + " ".join(f"{rule_sentence(rule)}." for rule in rules)
            + f" A treatment-related death is a death from CRS, ICANS or infection within {ctx.plan.trm_cause_days:g} "
            f"days, or from any cause other than disease within {ctx.plan.trm_any_cause_days:g} days. These are proposed "
            "defaults that the DSMB must confirm (analysis-plan settings 'stopping'). The status is that of this "
            "data cut; the boundaries and the operating characteristics (appendix) are exact."
        )
    )
    has_posterior = any("posterior" in rule.status for rule in rules)
    status = pd.DataFrame(
        [
            {
                "Rule": rule.title,
                "Events": fmt.count(rule.status["events"]),
                "Evaluated": fmt.count(rule.status["evaluated"]),
                "Boundary at this n": fmt.count(rule.status["boundary"]),
                **(
                    {"P(rate > p0 | data)": fmt.number(rule.status.get("posterior", np.nan), 3)}
                    if has_posterior
                    else {}
                ),
                "Crossed": "YES" if rule.crossed else "no",
            }
            for rule in rules
        ]
    )
    section.add(html_table(status, "tbl-stopping-status", "Current status"))
    for rule in rules:
        section.add(
            figure(
                figures.stopping_boundary(
                    rule.boundaries, rule.path, rule.title, f"boundary-{rule.name.replace('_', '-')}"
                ),
                f"{rule.title}: the boundary (events among n evaluated that signal a stop) and the trial's "
                "cumulative count after each evaluated participant, in order of enrollment.",
                f"fig-boundary-{rule.name.replace('_', '-')}",
            )
        )
    return section.add(boundary_table(rules))


def boundary_table(rules: list[RuleRows]) -> str:
    """The boundary at every number evaluated, the rules side by side, in three blocks."""
    merged = pd.DataFrame({"n": rules[0].boundaries["n_evaluated"].astype(str)})
    for k, rule in enumerate(rules):
        merged[f"rule{k}"] = rule.boundaries["boundary"].map(fmt.count)
    blocks, labels = [], {}
    for j, index in enumerate(np.array_split(np.arange(len(merged)), 3)):
        block = merged.iloc[index].reset_index(drop=True)
        block.columns = [f"{c}_{j}" for c in block.columns]
        labels.update({f"n_{j}": "n", **{f"rule{k}_{j}": rule.title for k, rule in enumerate(rules)}})
        blocks.append(block)
    return html_table(
        pd.concat(blocks, axis=1).fillna(""),
        "tbl-boundaries",
        "Stopping boundaries",
        labels=labels,
        subtitle="events among n evaluated that signal a stop ('–': no count stops)",
    )


def summary_section(ctx: ReportContext) -> Section:
    """The closed report's first page: stopping-rule status, the primary endpoint and the primary comparison."""
    section = Section("summary", "Summary for the DSMB")
    section.add(*[status_block(*line) for line in status_lines(ctx)])
    primary = ctx.plan.primary
    rate = ctx.ard.rate("crs_rate", "all", primary.endpoint)
    items = [
        f"Primary endpoint, {RATE_VARIABLES.get(primary.endpoint, primary.endpoint)}, CRS-evaluable set: {fmt.rate(rate)}."
    ]
    rows, _ = comparisons(ctx)
    for r in rows:
        if r["primary"]:
            items.append(
                f"Primary comparison against {r['cohort_name']} (trial's Penn approximation {fmt.count(r['trial_n'])}/"
                f"{fmt.count(r['trial_N'])}, {fmt.pct(r['trial_p'])}; historical {fmt.count(r['historical_n'])}/"
                f"{fmt.count(r['historical_N'])}, {fmt.pct(r['historical_p'])}): one-sided exact "
                + (
                    f"test {r['binom_not_informative']}"
                    if r["binom_not_informative"]
                    else f"p = {fmt.p_value(r['p_binom'])}"
                )
                + ", descriptive at this interim look; the Penn approximation favours "
                "PACER by construction."
            )
    follow = ctx.ard.value("follow_up", "all", "months", "median")
    os12 = ctx.ard.value("km", "OS", "month_12", "surv")
    items.append(f"Median follow-up {fmt.number(follow)} months; OS at 12 months {fmt.pct(os12)}.")
    return section.add(bullets(items))


def oc_appendix(ctx: ReportContext) -> Section:
    """The exact operating characteristics of each rule in force (the ARD's ``stopping_oc`` rows)."""
    rules = stopping_rules(ctx)
    section = Section("operating-characteristics", "Operating characteristics of the stopping rules", appendix=True)
    if not rules:
        return section.add(para("No operating characteristics in the ARD: rerun the analyze step."))
    section.add(
        para(
            "Exact operating characteristics, by recursion over every binomial path of the trial (no simulation): "
            "each participant evaluated in turn is an event with the true rate, and the trial stops at the first "
            f"look whose count reaches the boundary, else at {int(rules[0].design['max_evaluated'])} evaluated. "
            "The command pacer simulate-oc reproduces them by simulation, within Monte Carlo error."
        )
    )
    section.add(
        figure(
            figures.operating_characteristics({rule.title: rule.oc for rule in rules}),
            "Probability of stopping by the true event rate.",
            "fig-oc",
        )
    )
    for k, rule in enumerate(rules):
        shown = pd.DataFrame(
            {
                "True rate": rule.oc["true_rate"].map(lambda v: fmt.pct(v, 0)),
                "P(stop)": rule.oc["prob_stop"].map(lambda v: fmt.pct(v)),
                "Expected events at stopping or end": rule.oc["expected_events"].map(lambda v: fmt.number(v, 2)),
                "Expected number evaluated": rule.oc["expected_n"].map(lambda v: fmt.number(v)),
            }
        )
        section.add(html_table(shown, f"tbl-oc-{k}", f"Operating characteristics: {rule.title}"))
    return section


__all__ = [
    "RULE_TITLES",
    "RuleRows",
    "oc_appendix",
    "status_lines",
    "stopping_rules",
    "stopping_section",
    "summary_section",
]
