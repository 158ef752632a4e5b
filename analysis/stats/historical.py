"""Historical cohorts: which comparisons can be made and how, the comparison plan, and the ARD rows.

The cohorts are the published figures of the typed reference
(:class:`analysis.reference.cohorts.HistoricalCohorts`, loaded once by the analyze step). Nothing is
filled in: a null figure is unknown, never zero.

Rules (outputs.md "Comparisons", grading.md "CRS, Penn scale", "Burden"), applied per cohort ×
endpoint by :func:`plan_comparisons`:

- **Skipped**, with every reason that applies: ``confirmed`` not true; for a CRS endpoint an unknown
  ``crs_scale`` (null); the endpoint's count or ``n_infused`` null; for an ICANS endpoint, ICANS not
  graded by ASTCT (``icans_grading`` must begin with "ASTCT"; MedDRA neurological events or
  "neurotoxicity as reported" are a different measure) — ``icans_require_astct=False`` lifts this.
- **Endpoint counts**: ``historical_n`` = ``<endpoint>_n``, ``historical_N`` = ``n_infused``; for
  ``crs_grade4plus`` (no such field) = ``crs_grade4_n + crs_grade5_n``, both published. A cohort that
  reports grade 4 but not grade 5 is skipped ("grade 5 count null") unless
  ``grade4_as_grade4plus=True``, which compares its grade-4 count as a lower bound for grade ≥ 4 and
  says so.
- **Grade 4 alone** (``crs_grade4``, outputs.md v3 notes): made only for a cohort that reports grade 4
  alone and no grade-5 count (``crs_grade4_n`` without ``crs_grade5_n``, e.g. the CHOP cohorts), as it
  was published: the trial's grade-4-alone count (``crs_grade4``, or ``crs_penn_grade4`` against a Penn
  cohort) against ``crs_grade4_n``, labelled "grade 4 alone". Other cohorts have no ``crs_grade4`` row,
  compared or skipped; their grade ≥ 4 comparisons are unchanged.
- **Scale**: a Penn cohort is compared with the trial's Penn approximation (trial variable
  ``crs_penn_grade3plus`` / ``crs_penn_grade4plus``); the approximation can only under-grade, so the
  comparison favours PACER by construction, and the labels say so. ``crs_any`` is the same on both
  scales (CRS onset is the first fever). The ARD ``variable`` is the endpoint name either way.
- **Burden**: ``min_marrow_blast_pct`` ≥ 40 (the high-burden threshold) → compared with the trial's
  ``high_burden`` group only, else with ``all``; ``burden_matched`` = 1 when the cohort has a marrow
  blast floor of at least the trial's 5 %, else 0.
- **Overlap**: ELIANA and cohorts containing ELIANA patients (name containing "ELIANA" or NCT02435849:
  ``eliana_2018``, the n = 79 ELIANA cuts, ``pooled_levine_2021``) are flagged ``overlapping``: not
  independent evidence.
- **Primary**: ``eliana_2018`` × ``crs_grade3plus`` (settings ``primary``); every other comparison is
  supportive, unadjusted for multiplicity; at an interim look every p-value is descriptive.

:func:`comparison_plan_frame` writes the plan as a table (``comparison_plan.parquet``), the
report's source for how each comparison is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.reference.cohorts import HistoricalCohort
from analysis.settings import AnalysisPlan
from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, ard_row
from analysis.stats.comparisons import compare_rates
from analysis.stats.proportions import clopper_pearson

ENDPOINTS: tuple[str, ...] = (
    "crs_any",
    "crs_grade3plus",
    "crs_grade4plus",
    "crs_grade4",
    "icans_any",
    "icans_grade3plus",
)
GRADE4_ALONE = "crs_grade4"
"""Grade 4 alone (grade 5 not counted): compared only with cohorts that published it (outputs.md v3 notes)."""
ELIANA_NCT = "NCT02435849"

PENN_VARIABLE = {
    "crs_grade3plus": "crs_penn_grade3plus",
    "crs_grade4plus": "crs_penn_grade4plus",
    "crs_grade4": "crs_penn_grade4",
}
DESCRIPTIVE = ("trial_n", "trial_N", "trial_p", "historical_n", "historical_N", "historical_p", "burden_matched")
COMPARATOR_FEVER_TRIGGER = {
    "kadauke_pt_htb": "tocilizumab at two readings ≥ 38.5 °C within 24 h (CHOP)",
}
"""A comparator's own pre-emptive fever trigger, where it had one (from the cohort's ``population`` text in
the reference; the reference has no machine-readable field for it). PACER's trigger is two readings
> 38.5 °C 4–24 h apart."""


@dataclass(frozen=True)
class PlannedComparison:
    """One cohort × endpoint that can be compared, and how."""

    cohort_id: str
    endpoint: str
    trial_group: str
    trial_variable: str
    historical_n: int
    historical_N: int  # noqa: N815  (n of N: the ARD's statistic name)
    scale: str
    burden_matched: bool
    overlapping: bool
    primary: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def penn_approximation(self) -> bool:
        return self.trial_variable.startswith("crs_penn_")


@dataclass(frozen=True)
class SkippedComparison:
    """One cohort × endpoint that is not compared, with every reason (for the report's note)."""

    cohort_id: str
    endpoint: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def overlaps_eliana(cohort: HistoricalCohort) -> bool:
    """True for ELIANA and any cohort containing ELIANA patients (by name or NCT number)."""
    return "ELIANA" in cohort.name.upper() or ELIANA_NCT in (cohort.nct or ())


def _icans_scale(cohort: HistoricalCohort) -> str | None:
    if cohort.icans_grading is None:
        return None
    return "astct" if cohort.icans_grading.strip().upper().startswith("ASTCT") else "other"


def reports_grade4_alone(cohort: HistoricalCohort) -> bool:
    """True when the cohort published grade 4 alone and no grade-5 count (outputs.md v3 notes).

    Parameters
    ----------
    cohort : HistoricalCohort

    Returns
    -------
    bool
        ``crs_grade4_n`` is known and ``crs_grade5_n`` is null: its grade-4 figure is compared as
        ``crs_grade4`` (grade 4 alone).
    """
    return cohort.crs_grade4_n is not None and cohort.crs_grade5_n is None


def _endpoint_count(
    cohort: HistoricalCohort, endpoint: str, grade4_as_grade4plus: bool
) -> tuple[int | None, list[str], list[str]]:
    """(count, reasons to skip, notes) for one endpoint."""
    if endpoint == GRADE4_ALONE:
        return (
            cohort.crs_grade4_n,
            [],
            ["grade 4 alone: grade 5 not counted, as the cohort published it (crs_grade4_n, no grade-5 count)"],
        )
    if endpoint != "crs_grade4plus" or cohort.crs_grade4plus_n is not None:
        name = f"{endpoint}_n"
        value = cohort.count(name)
        if value is None:
            return None, [f"{name} is null (not reported)"], []
        return value, [], []
    g4, g5 = cohort.crs_grade4_n, cohort.crs_grade5_n
    if g4 is None:
        return None, ["crs_grade4_n is null (not reported)"], []
    if g5 is None:
        if grade4_as_grade4plus:
            return g4, [], ["grade 5 count not reported: the grade-4 count is used as a lower bound for grade ≥ 4"]
        return None, [f"crs_grade5_n is null: the grade ≥ 4 count is unknown (grade 4 alone: {g4})"], []
    return g4 + g5, [], ["grade ≥ 4 = crs_grade4_n + crs_grade5_n"]


def plan_options(plan: AnalysisPlan) -> dict[str, Any]:
    """The settings :func:`plan_comparisons` takes from the analysis plan (``high_burden_pct``, ``primary``)."""
    return {
        "high_burden_pct": plan.high_burden_pct,
        "primary_comparator": plan.primary.comparator,
        "primary_endpoint": plan.primary.endpoint,
    }


def plan_comparisons(
    cohorts: Iterable[HistoricalCohort],
    endpoints: Sequence[str] = ENDPOINTS,
    *,
    high_burden_pct: float = 40.0,
    trial_floor_pct: float = 5.0,
    primary_comparator: str = "eliana_2018",
    primary_endpoint: str = "crs_grade3plus",
    icans_require_astct: bool = True,
    grade4_as_grade4plus: bool = False,
) -> tuple[list[PlannedComparison], list[SkippedComparison]]:
    """Decide, for every cohort × endpoint, whether and how it is compared (rules in the module doc).

    Parameters
    ----------
    cohorts : iterable of HistoricalCohort
        The typed reference, in its order.
    endpoints : sequence of str
        Some of :data:`ENDPOINTS`.
    high_burden_pct, trial_floor_pct : float
        A cohort floor ≥ ``high_burden_pct`` is compared with the trial's high-burden group; a floor
        ≥ ``trial_floor_pct`` (the trial's own entry floor) is burden-matched.
    primary_comparator, primary_endpoint : str
        The primary comparison (settings ``primary``).
    icans_require_astct, grade4_as_grade4plus : bool
        See the module doc.

    Returns
    -------
    (comparable, skipped)
        In cohort order, then endpoint order.
    """
    unknown = [e for e in endpoints if e not in ENDPOINTS]
    if unknown:
        raise ValueError(f"unknown endpoints {unknown}; expected some of {ENDPOINTS}")
    comparable: list[PlannedComparison] = []
    skipped: list[SkippedComparison] = []
    for cohort in cohorts:
        for endpoint in endpoints:
            if endpoint == GRADE4_ALONE and not reports_grade4_alone(cohort):
                continue
            reasons: list[str] = []
            notes: list[str] = []
            if cohort.confirmed is not True:
                reasons.append("confirmed: false (key figures not verified in the cited source)")
            is_crs = endpoint.startswith("crs_")
            scale: str | None
            if is_crs:
                scale = cohort.crs_scale
                if scale is None:
                    reasons.append("unknown CRS grading scale (crs_scale: null)")
            else:
                scale = _icans_scale(cohort)
                if icans_require_astct and scale != "astct":
                    reasons.append(
                        "unknown ICANS grading (icans_grading: null)"
                        if scale is None
                        else f"neurotoxicity not graded as ASTCT ICANS ({cohort.icans_grading})"
                    )
            count, count_reasons, count_notes = _endpoint_count(cohort, endpoint, grade4_as_grade4plus)
            reasons += count_reasons
            notes += count_notes
            total = cohort.n_infused
            if total is None:
                reasons.append("n_infused is null (not reported)")
            elif count is not None and not 0 <= count <= total:
                reasons.append(f"{endpoint} count {count} is not within 0..n_infused ({total})")
            if reasons:
                skipped.append(SkippedComparison(cohort.id, endpoint, tuple(reasons)))
                continue
            floor = cohort.min_marrow_blast_pct
            high_only = floor is not None and floor >= high_burden_pct
            burden_matched = floor is not None and floor >= trial_floor_pct
            if not burden_matched:
                notes.append("not burden-matched: the cohort has no marrow-blast floor of at least the trial's")
            if high_only:
                notes.append(
                    f"cohort floor {floor:g} % marrow blasts: compared with the trial's high-burden participants only"
                )
            trial_variable = endpoint
            if is_crs and scale == "penn" and endpoint in PENN_VARIABLE:
                trial_variable = PENN_VARIABLE[endpoint]
                notes.append(
                    "Penn-graded cohort: trial graded by the Penn approximation, which can only under-grade grades 3–4 "
                    "(the comparison favours PACER by construction)"
                )
            overlapping = overlaps_eliana(cohort)
            if overlapping:
                notes.append("overlaps ELIANA (shared patients): not independent evidence")
            comparable.append(
                PlannedComparison(
                    cohort_id=cohort.id,
                    endpoint=endpoint,
                    trial_group="high_burden" if high_only else "all",
                    trial_variable=trial_variable,
                    historical_n=int(count),  # type: ignore[arg-type]
                    historical_N=int(total),  # type: ignore[arg-type]
                    scale=str(scale),
                    burden_matched=burden_matched,
                    overlapping=overlapping,
                    primary=(cohort.id == primary_comparator and endpoint == primary_endpoint),
                    notes=tuple(notes),
                )
            )
    return comparable, skipped


def trial_counts_from_ard(frame: pd.DataFrame, analysis: str = "crs_rate") -> dict[tuple[str, str], tuple[int, int]]:
    """``{(group, variable): (n, N)}`` from the ``crs_rate`` rows of an ARD frame."""
    rows = frame[(frame["analysis"] == analysis) & frame["stat_name"].isin(["n", "N"])]
    wide = rows.pivot_table(index=["group", "variable"], columns="stat_name", values="stat_value", aggfunc="first")
    return {(str(g), str(v)): (int(r["n"]), int(r["N"])) for (g, v), r in wide.iterrows()}


def compare_with_cohorts(
    trial_counts: Mapping[tuple[str, str], tuple[int, int]],
    cohorts: Iterable[HistoricalCohort],
    endpoints: Sequence[str] = ENDPOINTS,
    *,
    interim: bool = False,
    conf_level: float = 0.95,
    primary_alpha: float = 0.05,
    **plan_options: Any,
) -> list[ArdRow]:
    """The ``historical_comparison`` ARD rows for every comparable cohort × endpoint.

    Parameters
    ----------
    trial_counts : mapping
        ``{(group, variable): (n, N)}`` of the trial, with the ``crs_rate`` groups (``all``,
        ``high_burden``) and variables (``crs_penn_grade3plus`` …); see :func:`trial_counts_from_ard`.
    cohorts : iterable of HistoricalCohort
        The typed reference (:func:`analysis.reference.cohorts.load_cohorts`).
    endpoints : sequence of str
    interim : bool
        At an interim look every p-value is labelled descriptive.
    conf_level : float
        Of every interval.
    primary_alpha : float
        Quoted in the label of the primary test (settings ``primary.alpha``).
    **plan_options
        Passed to :func:`plan_comparisons`.

    Returns
    -------
    list of ArdRow
        Per comparison: ``trial_n``, ``trial_N``, ``trial_p``, ``historical_n``, ``historical_N``,
        ``historical_p``, ``burden_matched`` (method ``descriptive``); ``p_value``
        (``binom_exact_1s``, ``fisher_exact``); ``rd``, ``rd_ci_low``, ``rd_ci_high``
        (``newcombe_hybrid``); ``rr``, ``rr_ci_low``, ``rr_ci_high``, ``p_value`` (``katz_log``);
        ``prob_lower`` (``beta_binomial``). When the trial's N is 0, the trial counts are 0, the
        historical figures stay, and every other value is NaN labelled "not estimable (N = 0)".
        Skipped comparisons give no rows (see :func:`plan_comparisons` for the report's note).
    """
    comparable, _ = plan_comparisons(cohorts, endpoints, **plan_options)
    rows: list[ArdRow] = []
    for plan in comparable:
        key = (plan.trial_group, plan.trial_variable)
        if key not in trial_counts:
            raise KeyError(
                f"trial counts missing for group {key[0]!r}, variable {key[1]!r} (needed by {plan.cohort_id})"
            )
        n, N = trial_counts[key]
        rows.extend(_comparison_rows(plan, int(n), int(N), interim, conf_level, primary_alpha))
    return rows


def _comparison_rows(
    plan: PlannedComparison, n: int, N: int, interim: bool, conf_level: float, primary_alpha: float
) -> list[ArdRow]:
    a, g, v = "historical_comparison", plan.cohort_id, plan.endpoint
    flags = "; ".join(plan.notes)
    suffix = f" [{flags}]" if flags else ""
    supportive = "supportive, unadjusted for multiplicity"
    if interim:
        role = "descriptive (interim look)"
        primary_role = f"primary analysis; {role}" if plan.primary else role
    else:
        role = supportive
        primary_role = f"primary analysis, one-sided α = {primary_alpha:g}" if plan.primary else supportive
    trial_desc = f"trial {plan.trial_group}, {plan.trial_variable}"
    hp = plan.historical_n / plan.historical_N
    rows = [
        ard_row(a, g, v, "trial_n", n, f"{trial_desc}: events", "descriptive"),
        ard_row(a, g, v, "trial_N", N, f"{trial_desc}: participants", "descriptive"),
        ard_row(a, g, v, "historical_n", plan.historical_n, f"{plan.cohort_id} ({plan.scale}): events", "descriptive"),
        ard_row(a, g, v, "historical_N", plan.historical_N, f"{plan.cohort_id}: infused", "descriptive"),
        ard_row(a, g, v, "historical_p", hp, f"{plan.cohort_id}: proportion", "descriptive"),
        ard_row(
            a,
            g,
            v,
            "burden_matched",
            1.0 if plan.burden_matched else 0.0,
            "1 = cohort has a marrow-blast floor ≥ the trial's",
            "descriptive",
        ),
    ]
    stat_names = [
        ("trial_p", "descriptive"),
        ("p_value", "binom_exact_1s"),
        ("p_value", "fisher_exact"),
        ("rd", "newcombe_hybrid"),
        ("rd_ci_low", "newcombe_hybrid"),
        ("rd_ci_high", "newcombe_hybrid"),
        ("rr", "katz_log"),
        ("rr_ci_low", "katz_log"),
        ("rr_ci_high", "katz_log"),
        ("p_value", "katz_log"),
        ("prob_lower", "beta_binomial"),
    ]
    if N == 0:
        rows[0] = ard_row(a, g, v, "trial_n", 0.0, NOT_ESTIMABLE_N0, "descriptive")
        rows[1] = ard_row(a, g, v, "trial_N", 0.0, NOT_ESTIMABLE_N0, "descriptive")
        rows += [ard_row(a, g, v, s, math.nan, NOT_ESTIMABLE_N0, m) for s, m in stat_names]
        return rows
    c = compare_rates(n, N, plan.historical_n, plan.historical_N, conf_level)
    pct = round(100 * conf_level)
    rr_note = " (0.5 added to every cell: a zero cell)" if c.ratio.corrected else ""
    values = {
        ("trial_p", "descriptive"): (c.trial_p, f"{trial_desc}: proportion{suffix}"),
        ("p_value", "binom_exact_1s"): (
            c.p_binom_exact_1s,
            f"exact binomial test, one-sided (H1: trial rate < {hp:.4g}, historical rate as fixed); {primary_role}",
        ),
        ("p_value", "fisher_exact"): (c.p_fisher_exact, f"Fisher's exact test, two-sided; {role}"),
        ("rd", "newcombe_hybrid"): (c.difference.rd, "risk difference trial − historical"),
        ("rd_ci_low", "newcombe_hybrid"): (c.difference.ci_low, f"Newcombe hybrid score {pct} % CI, lower limit"),
        ("rd_ci_high", "newcombe_hybrid"): (c.difference.ci_high, f"Newcombe hybrid score {pct} % CI, upper limit"),
        ("rr", "katz_log"): (c.ratio.rr, f"risk ratio trial / historical{rr_note}"),
        ("rr_ci_low", "katz_log"): (c.ratio.ci_low, f"Katz log {pct} % CI, lower limit{rr_note}"),
        ("rr_ci_high", "katz_log"): (c.ratio.ci_high, f"Katz log {pct} % CI, upper limit{rr_note}"),
        ("p_value", "katz_log"): (c.ratio.p_value, f"Wald test of log risk ratio = 0, two-sided{rr_note}; {role}"),
        ("prob_lower", "beta_binomial"): (c.prob_lower, "P(trial rate < historical rate), Beta(1, 1) priors"),
    }
    rows += [ard_row(a, g, v, s, values[(s, m)][0], values[(s, m)][1], m) for s, m in stat_names]
    return rows


def skipped_notes(skipped: Iterable[SkippedComparison]) -> list[str]:
    """One sentence per skipped comparison, for the report's row-free note."""
    return [f"{s.cohort_id} × {s.endpoint}: not compared — {s.reason}." for s in skipped]


PLAN_COLUMNS: dict[str, str] = {
    "cohort_id": "string",
    "endpoint": "string",
    "cohort_name": "string",
    "compared": "bool",
    "role": "string",
    "scale": "string",
    "trial_group": "string",
    "trial_variable": "string",
    "burden_matched": "boolean",
    "overlapping": "bool",
    "fever_trigger": "string",
    "historical_n": "Int64",
    "historical_N": "Int64",
    "historical_ci_low": "float64",
    "historical_ci_high": "float64",
    "notes": "string",
    "not_compared_reasons": "string",
}
"""The columns of ``comparison_plan.parquet`` and their dtypes; key (``cohort_id``, ``endpoint``)."""


def comparison_plan_frame(
    cohorts: Sequence[HistoricalCohort],
    comparable: Iterable[PlannedComparison],
    skipped: Iterable[SkippedComparison],
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """The comparison plan as a table: one row per cohort × endpoint, compared or not, and how.

    Parameters
    ----------
    cohorts : sequence of HistoricalCohort
        The typed reference the plan was made from (each cohort's name, and its overlap with ELIANA).
    comparable, skipped
        As returned by :func:`plan_comparisons`.
    conf_level : float
        Of the exact interval of the published proportion.

    Returns
    -------
    DataFrame
        Columns :data:`PLAN_COLUMNS`, sorted by (``cohort_id``, ``endpoint``). A compared row holds its
        ``role`` (``primary`` or ``supportive``), ``scale`` (the cohort's: ``penn``, ``astct``; for ICANS
        ``astct`` or ``other``), the trial's ``trial_group`` and ``trial_variable`` it is compared with,
        ``burden_matched``, ``overlapping`` (shares patients with ELIANA: not independent evidence), the
        comparator's own ``fever_trigger`` where it had one, the published ``historical_n`` of
        ``historical_N`` with their exact (Clopper–Pearson) interval, and the ``notes`` of the ARD's
        labels. A row not compared holds ``compared`` = False and every reason in
        ``not_compared_reasons``; its other columns stay null.
    """
    by_id = {cohort.id: cohort for cohort in cohorts}
    rows: list[dict[str, Any]] = []
    for planned in comparable:
        low, high = clopper_pearson(planned.historical_n, planned.historical_N, conf_level)
        rows.append(
            {
                "cohort_id": planned.cohort_id,
                "endpoint": planned.endpoint,
                "compared": True,
                "role": "primary" if planned.primary else "supportive",
                "scale": planned.scale,
                "trial_group": planned.trial_group,
                "trial_variable": planned.trial_variable,
                "burden_matched": planned.burden_matched,
                "overlapping": planned.overlapping,
                "fever_trigger": COMPARATOR_FEVER_TRIGGER.get(planned.cohort_id),
                "historical_n": planned.historical_n,
                "historical_N": planned.historical_N,
                "historical_ci_low": low,
                "historical_ci_high": high,
                "notes": "; ".join(planned.notes) or None,
            }
        )
    rows += [
        {
            "cohort_id": not_made.cohort_id,
            "endpoint": not_made.endpoint,
            "compared": False,
            "overlapping": overlaps_eliana(by_id[not_made.cohort_id]),
            "not_compared_reasons": not_made.reason,
        }
        for not_made in skipped
    ]
    frame = pd.DataFrame(rows, columns=[c for c in PLAN_COLUMNS if c != "cohort_name"])
    frame.insert(2, "cohort_name", [by_id[cohort_id].name for cohort_id in frame["cohort_id"]])
    frame = frame.astype(PLAN_COLUMNS)
    return frame.sort_values(["cohort_id", "endpoint"], kind="mergesort").reset_index(drop=True)


__all__ = [
    "COMPARATOR_FEVER_TRIGGER",
    "ENDPOINTS",
    "GRADE4_ALONE",
    "PLAN_COLUMNS",
    "PlannedComparison",
    "SkippedComparison",
    "compare_with_cohorts",
    "comparison_plan_frame",
    "overlaps_eliana",
    "plan_comparisons",
    "plan_options",
    "reports_grade4_alone",
    "skipped_notes",
    "trial_counts_from_ard",
]
