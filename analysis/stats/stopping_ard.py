"""The safety stopping rules' rows of the ARD: design, exact operating characteristics, status at the cut.

outputs.md v3, rows ``stopping_rule``, ``stopping_oc`` and ``stopping_status``; grading.md,
"Treatment-related death and stopping rules". For each rule in force
(:func:`analysis.stats.monitoring.rules_from_settings`), group = the rule's name:

- ``stopping_rule`` (method = the rule's method): variable ``n_<k>`` for every number evaluated
  k = 1 … N, ``boundary`` (stop when the events among k reach it; NaN where no look is made or no
  count stops); variable ``design``: ``threshold``, ``alpha`` (NaN for ``thall_simon``), ``p0``,
  ``type1_error`` (exact P(ever stop | p0)), and ``prior_a``, ``prior_b``, ``first_look``,
  ``max_evaluated`` (``p1`` for ``sprt``) so that the report can state the rule without the settings;
- ``stopping_oc`` (method ``exact``): variable ``p_<rate>`` for each of the settings' true rates,
  ``prob_stop``, ``expected_events``, ``expected_n`` (:mod:`analysis.stats.stopping_oc`);
- ``stopping_status``: variable ``cut``: ``events``, ``evaluated`` (the CRS-evaluable set),
  ``boundary``, ``crossed`` (1/0) and, for the Bayesian methods, ``posterior`` = P(rate > p0 | data);
  and the trial's path, variable ``n_<k>``, ``events`` among the first k evaluated for k = 1 …
  evaluated, in order of enrollment (study identifier: the derived tables carry no infusion date).

The events: grade ≥ 4 CRS is ``crs_grade4plus`` of the rate endpoints (the same flags as ``crs_rate``);
a treatment-related death is ADSL's ``treatment_related_death`` (grading.md's definition).
"""

from __future__ import annotations

import pandas as pd

from analysis.settings import StoppingRules
from analysis.stats.ard import ArdRow, ard_row
from analysis.stats.monitoring import MonitoredRule, rules_from_settings
from analysis.stats.stopping_design import boundary_table, status_at_cut
from analysis.stats.stopping_methods import THRESHOLD_MEANING


def rule_event_paths(endpoints: pd.DataFrame, adsl: pd.DataFrame) -> dict[str, list[bool]]:
    """Per rule, whether each CRS-evaluable participant had the event, in study-identifier order.

    Parameters
    ----------
    endpoints : pandas.DataFrame
        :func:`analysis.stats.trial_ard.derive_rate_endpoints` (one row per CRS-evaluable participant).
    adsl : pandas.DataFrame
        ADSL with ``crs_evaluable`` and ``treatment_related_death``.
    """
    evaluable = adsl.loc[adsl["crs_evaluable"].astype("boolean").fillna(False).astype(bool)]
    deaths = evaluable.sort_values("participant_id", kind="mergesort")["treatment_related_death"]
    grade4 = endpoints.sort_values("participant_id", kind="mergesort")["crs_grade4plus"]
    return {
        "crs_grade4plus": [bool(v) for v in grade4.astype("boolean").fillna(False)],
        "treatment_related_death": [bool(v) for v in deaths.astype("boolean").fillna(False)],
    }


def rule_rows(rule: MonitoredRule, true_rates: tuple[float, ...]) -> list[ArdRow]:
    """``stopping_rule`` and ``stopping_oc`` rows of one rule: they depend on the design only."""
    design = rule.design
    name, method = rule.name, design.method
    rows = []
    for record in boundary_table(design):
        n, boundary = record["n_evaluated"], record["boundary"]
        label = (
            f"{rule.event_label}: stop when the events among {n} evaluated reach the boundary"
            if boundary is not None
            else f"{rule.event_label}: no stop at {n} evaluated"
        )
        rows.append(ard_row("stopping_rule", name, f"n_{n}", "boundary", boundary, label, method))
    design_values = {
        "threshold": (design.threshold, THRESHOLD_MEANING[method]),
        "alpha": (design.alpha, "target P(ever stop | p0)" if design.alpha is not None else "not calibrated"),
        "p0": (design.p0, f"the rate the rule tests against ({rule.event_label})"),
        "type1_error": (design.type1_error, "exact P(ever stop | true rate = p0)"),
        "prior_a": (design.prior[0], "Beta prior a"),
        "prior_b": (design.prior[1], "Beta prior b"),
        "first_look": (design.looks[0], "the first number evaluated at which the rule is checked"),
        "max_evaluated": (design.planned, "the planned maximum number evaluated (the last look)"),
    }
    if design.alternative is not None:
        design_values["p1"] = (design.alternative, "the SPRT's alternative rate")
    rows += [
        ard_row("stopping_rule", name, "design", stat, value, label, method)
        for stat, (value, label) in design_values.items()
    ]
    for record in design.operating_characteristics(true_rates):
        rate = record["true_rate"]
        label = f"{rule.event_label}, true rate {rate:g}: exact recursion over the binomial paths"
        rows += [
            ard_row("stopping_oc", name, f"p_{rate:g}", stat, record[stat], label, "exact")
            for stat in ("prob_stop", "expected_events", "expected_n")
        ]
    return rows


def status_rows(rule: MonitoredRule, path: list[bool]) -> list[ArdRow]:
    """``stopping_status`` rows of one rule: the status at the cut and the trial's path."""
    status = status_at_cut(rule.design, sum(path), len(path))
    label = f"{rule.event_label}, CRS-evaluable set at the cut"
    values = {
        "events": status.events,
        "evaluated": status.evaluated,
        "boundary": status.boundary,
        "crossed": status.crossed,
    }
    if status.posterior is not None:
        values["posterior"] = status.posterior
    rows = [ard_row("stopping_status", rule.name, "cut", stat, value, label) for stat, value in values.items()]
    running = 0
    for k, event in enumerate(path, start=1):
        running += event
        rows.append(
            ard_row(
                "stopping_status",
                rule.name,
                f"n_{k}",
                "events",
                running,
                f"{rule.event_label} among the first {k} evaluated, in order of enrollment",
            )
        )
    return rows


def stopping_rows(endpoints: pd.DataFrame, adsl: pd.DataFrame, stopping: StoppingRules) -> list[ArdRow]:
    """Every stopping-rule row of the ARD for the rules in force (see the module docstring)."""
    paths = rule_event_paths(endpoints, adsl)
    rows: list[ArdRow] = []
    for rule in rules_from_settings(stopping):
        rows += rule_rows(rule, stopping.oc_true_rates)
        rows += status_rows(rule, paths[rule.name])
    return rows


__all__ = ["rule_event_paths", "rule_rows", "status_rows", "stopping_rows"]
