"""Every result of the analyze step: the ARD and the small tables beside it that the report draws.

The report formats; it computes nothing (outputs.md v3). So everything it shows that is not a row
of ``ard.parquet`` is a table computed here, once, from the same functions as the ARD:

- ``comparison_plan``: how each historical comparison is made, or why it is not
  (:func:`analysis.stats.historical.comparison_plan_frame`);
- ``published_outcomes``: the cohorts' published response and 12-month figures, as published
  (:func:`analysis.stats.published.published_outcomes_frame`; the ARD's ``published_outcome`` rows are
  the same figures);
- ``map_prior_densities``: the curves of the MAP-prior figure, from the ARD's mixtures
  (:func:`analysis.stats.map_prior_ard.map_prior_densities`);
- ``km_curves`` and ``cif_curves``: the corner points of the Kaplan–Meier and cumulative-incidence step
  functions the report plots, from the very fits whose values at 3, 6 and 12 months are the ARD's
  ``km`` and ``cif`` rows (:func:`km_curves_frame`, :func:`cif_curves_frame`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.reference.cohorts import HistoricalCohort
from analysis.settings import AnalysisPlan
from analysis.stats.historical import comparison_plan_frame, plan_comparisons, plan_options
from analysis.stats.map_prior_ard import FitsByStudies, map_prior_densities
from analysis.stats.published import published_outcomes_frame
from analysis.stats.trial_ard import KM_PARAMETERS, build_trial_ard, cir_fit, km_fit

KM_CURVE_COLUMNS: dict[str, str] = {
    "parameter": "string",
    "step": "int64",
    "time_days": "float64",
    "time_months": "float64",
    "surv": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "n_risk": "int64",
    "n_event": "int64",
    "n_censor": "int64",
}
"""The columns of ``km_curves.parquet``; key (``parameter``, ``step``)."""

CIF_CURVE_COLUMNS: dict[str, str] = {
    "parameter": "string",
    "step": "int64",
    "time_days": "float64",
    "time_months": "float64",
    "cif": "float64",
}
"""The columns of ``cif_curves.parquet``; key (``parameter``, ``step``)."""


@dataclass(frozen=True)
class AnalysisResults:
    """What the analyze step writes.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``ard``, ``comparison_plan``, ``published_outcomes``, ``km_curves``, ``cif_curves``,
        ``map_prior_densities`` (each written as ``<name>.parquet``).
    skipped_comparisons : list of str
        One sentence per comparison not made (``comparison_notes.json``).
    """

    tables: dict[str, pd.DataFrame]
    skipped_comparisons: list[str]


def km_curves_frame(adtte: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The Kaplan–Meier step functions of OS, EFS and RFS, as plotted.

    Parameters
    ----------
    adtte : DataFrame
        outputs.md's adtte (``paramcd``, ``aval`` in days, ``cnsr``).
    plan : AnalysisPlan
        ``days_per_month`` converts the time axis to months.

    Returns
    -------
    DataFrame
        Columns :data:`KM_CURVE_COLUMNS`. Per parameter with at least one participant: step 0 is the
        origin (time 0, ``surv`` 1, ``n_risk`` = the participants), then one step per distinct
        observed time with the fit's survival just after it, its pointwise log-log 95 % confidence
        limits and its numbers at risk, of events and of censorings (R's ``survfit(...,
        conf.type = "log-log")``: ``time``, ``surv``, ``lower``, ``upper``, ``n.risk``, ``n.event``,
        ``n.censor``). The limits are those of the ARD's ``km`` rows (:func:`analysis.stats.kaplan_meier.
        survival_at` reads the same fit): 1 and 1 at the origin (R's ``survfit0`` row), NaN where S is 0 or 1
        after it (R's NA).
    """
    frames = []
    for parameter in KM_PARAMETERS:
        fit = km_fit(adtte, parameter)
        if fit.n == 0:
            continue
        time_days = np.r_[0.0, fit.time]
        frames.append(
            pd.DataFrame(
                {
                    "parameter": parameter,
                    "step": np.arange(time_days.size),
                    "time_days": time_days,
                    "time_months": time_days / plan.days_per_month,
                    "surv": np.r_[1.0, fit.surv],
                    "ci_low": np.r_[1.0, fit.lower],
                    "ci_high": np.r_[1.0, fit.upper],
                    "n_risk": np.r_[fit.n, fit.n_risk],
                    "n_event": np.r_[0, fit.n_event],
                    "n_censor": np.r_[0, fit.n_censor],
                }
            )
        )
    return _typed(frames, KM_CURVE_COLUMNS)


def cif_curves_frame(adtte: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The cumulative incidence of relapse (death without relapse competing) as a step function, as plotted.

    Returns
    -------
    DataFrame
        Columns :data:`CIF_CURVE_COLUMNS`, parameter ``CIR``: the corner points of ``cmprsk::cuminc``
        (from time 0; each jump time twice, the value before and after; to the longest follow-up).
        No row when adtte holds no ``CIR`` record.
    """
    fit = cir_fit(adtte)
    frames = []
    if fit.n:
        frames.append(
            pd.DataFrame(
                {
                    "parameter": "CIR",
                    "step": np.arange(fit.time.size),
                    "time_days": fit.time,
                    "time_months": fit.time / plan.days_per_month,
                    "cif": fit.est,
                }
            )
        )
    return _typed(frames, CIF_CURVE_COLUMNS)


def _typed(frames: list[pd.DataFrame], columns: dict[str, str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    return pd.concat(frames, ignore_index=True)[list(columns)].astype(columns)


def analyze_trial(
    tables: Mapping[str, pd.DataFrame],
    cohorts: Sequence[HistoricalCohort],
    plan: AnalysisPlan,
    historical: Mapping[str, pd.DataFrame] | None = None,
    map_fits: FitsByStudies | None = None,
) -> AnalysisResults:
    """The ARD and every table beside it, from the derived tables.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The derived tables ``adsl``, ``crs``, ``icans``, ``anakinra``, ``crs_timeline``, ``adtte``.
    cohorts : sequence of HistoricalCohort
        The typed historical cohorts (:func:`analysis.reference.cohorts.load_cohorts`).
    plan : AnalysisPlan
    historical : mapping of str to DataFrame, optional
        The same tables of the site's historical export: adds the trial-vs-historical regression rows.
    map_fits : mapping, optional
        MAP prior fits made beforehand under ``plan.map`` (:func:`analysis.stats.map_prior_ard.published_map_fits`,
        e.g. in another process while the trial's data were derived); the results are the same without.

    Returns
    -------
    AnalysisResults
    """
    ard, skipped = build_trial_ard(tables, cohorts, plan, historical, map_fits)
    comparable, not_compared = plan_comparisons(cohorts, **plan_options(plan))
    return AnalysisResults(
        tables={
            "ard": ard,
            "comparison_plan": comparison_plan_frame(cohorts, comparable, not_compared),
            "published_outcomes": published_outcomes_frame(cohorts),
            "km_curves": km_curves_frame(tables["adtte"], plan),
            "cif_curves": cif_curves_frame(tables["adtte"], plan),
            "map_prior_densities": map_prior_densities(ard),
        },
        skipped_comparisons=skipped,
    )


__all__ = [
    "CIF_CURVE_COLUMNS",
    "KM_CURVE_COLUMNS",
    "AnalysisResults",
    "analyze_trial",
    "cif_curves_frame",
    "km_curves_frame",
]
