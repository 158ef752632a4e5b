"""Trial vs the site's own historical patients, and regression within the trial, as ARD rows.

The glue of the analyses "historical patients of our own" and "survival and regression within the
trial": it turns subject-level frames into Analysis Results Data rows (outputs.md's seven columns)
using the estimators of :mod:`analysis.stats.firth_logistic`, :mod:`~analysis.stats.logistic`,
:mod:`~analysis.stats.iptw`, :mod:`~analysis.stats.cox`, :mod:`~analysis.stats.log_rank` and
:mod:`~analysis.stats.kaplan_meier`. Pure functions: frames in, an ARD frame out.

Subject-level frame (:data:`SUBJECT_COLUMNS`, one row per participant; :func:`subject_frame` builds it
from the processed tables):

==================  =======================================================================
participant_id      identifier
cohort              ``"trial"`` or ``"historical"``
severe_crs          bool: ASTCT ``crs_max_grade`` ≥ 3
marrow_blast_pct    pre-infusion marrow blasts, %
age_years           age
prior_hsct          bool
os_aval, os_cnsr    OS in days; ADTTE censoring code (0 = event, > 0 censored)
efs_aval, efs_cnsr  EFS likewise
==================  =======================================================================

Model covariates: ``cohort_trial`` (1 = trial, so odds and hazard ratios are trial vs historical),
``log2_marrow_blasts`` = log2(max(blasts, 1 %)) — a ratio per *doubling* of the blast percentage;
the 1 % floor only matters for a recorded 0 and keeps the logarithm finite — ``age_years`` and
``prior_hsct`` (0/1). Each analysis uses the complete cases of its own variables.

ARD rows (``group`` is the outcome or endpoint, ``variable`` the model term; method in brackets):

- ``cohort_firth_logistic`` / ``severe_crs``: for ``cohort_trial``, ``log2_marrow_blasts``,
  ``age_years``, ``prior_hsct``: ``coef``, ``se``, ``or``, ``or_ci_low``, ``or_ci_high``,
  ``p_value`` [``firth_profile``: profile penalized-likelihood CI, penalized likelihood-ratio p];
  for ``model``: ``n``, ``events``, ``n_trial``, ``n_historical``, ``events_trial``,
  ``events_historical``, ``separation`` [``""``].
- ``cohort_iptw`` / ``severe_crs``: for ``cohort_trial``: ``trial_p``, ``historical_p``, ``rd``,
  ``rd_ci_low``, ``rd_ci_high``, ``rd_p_value``, ``or``, ``or_ci_low``, ``or_ci_high``,
  ``or_p_value``; for ``weights``: ``n_trial``, ``n_historical``, ``ess_trial``,
  ``ess_historical``, ``weight_min``, ``weight_max`` [``iptw_ate_robust`` or ``iptw_att_robust``].
- ``cohort_smd`` / ``trial_vs_historical``: for each covariate: ``mean_trial``,
  ``mean_historical``, ``smd`` [``unweighted``; ``iptw_ate`` or ``iptw_att``].
- ``cohort_km`` / ``OS_trial``, ``OS_historical``, ``EFS_trial``, ``EFS_historical``: for
  ``month_3``, ``month_6``, ``month_12``: ``surv``, ``ci_low``, ``ci_high``, ``n_risk`` [``""``]
  (:func:`analysis.stats.kaplan_meier.km_ard_rows`; months of the analysis plan's ``days_per_month``).
- ``cohort_cox`` / ``OS``, ``EFS``: for ``cohort_trial``: ``coef``, ``se``, ``hr``,
  ``hr_ci_low``, ``hr_ci_high``, ``p_value`` [``efron_wald``]; for ``model``: ``lr_chisq``,
  ``lr_df``, ``p_value`` [``efron_lrt``] and ``n``, ``events``, ``n_trial``, ``n_historical``,
  ``events_trial``, ``events_historical`` [``""``].
- ``cohort_logrank`` / ``OS``, ``EFS``: for ``cohort``: ``chisq``, ``df``, ``p_value``; for
  ``trial`` and ``historical``: ``n``, ``observed``, ``expected`` [``logrank``].
- ``trial_cox`` / ``OS``, ``EFS``: as ``cohort_cox`` for ``log2_marrow_blasts`` and
  ``severe_crs`` (model counts ``n``, ``events``).
- ``trial_logistic`` / ``severe_crs``: for ``log2_marrow_blasts``: ``coef``, ``se``, ``or``,
  ``or_ci_low``, ``or_ci_high``, ``p_value`` [``ml_profile``: profile-likelihood CI,
  likelihood-ratio p]; for ``model``: ``n``, ``events`` [``""``].

Every row's ``stat_label`` names the statistic and carries the **sample-size caveat**, e.g.
"exploratory: 40 participants, 11 events" (two cohorts: "exploratory: 100 participants (40 trial,
60 historical), 54 events"). A model that cannot be estimated (no events, separation for ordinary
maximum likelihood, monotone Cox likelihood, no covariate overlap for the propensity) keeps its
rows with NaN values and a label "not estimable: <reason>" — never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.stats.ard import ArdRow, ard_row, to_frame
from analysis.stats.cox import CoxResult, MonotoneLikelihoodError, cox_ph
from analysis.stats.firth_logistic import firth_logistic
from analysis.stats.iptw import Estimand, iptw
from analysis.stats.kaplan_meier import kaplan_meier, km_ard_rows, month_timepoints
from analysis.stats.log_rank import log_rank_test
from analysis.stats.logistic import SeparationError, logistic

SUBJECT_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "cohort",
    "severe_crs",
    "marrow_blast_pct",
    "age_years",
    "prior_hsct",
    "os_aval",
    "os_cnsr",
    "efs_aval",
    "efs_cnsr",
)
COHORTS = ("trial", "historical")
COVARIATES: tuple[str, ...] = ("log2_marrow_blasts", "age_years", "prior_hsct")
COHORT_TERMS: tuple[str, ...] = ("cohort_trial", *COVARIATES)
TRIAL_COX_TERMS: tuple[str, ...] = ("log2_marrow_blasts", "severe_crs")
ENDPOINTS: tuple[str, ...] = ("OS", "EFS")
BLAST_FLOOR_PCT = 1.0

_TERM_TEXT = {
    "cohort_trial": "trial vs historical",
    "log2_marrow_blasts": "per doubling of marrow blasts",
    "age_years": "per year of age",
    "prior_hsct": "prior HSCT vs none",
    "severe_crs": "severe CRS (ASTCT grade ≥ 3) vs not",
}


# ---------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------
def subject_frame(
    adsl: pd.DataFrame,
    crs: pd.DataFrame,
    adtte: pd.DataFrame,
    cohort: str,
    *,
    analysis_set: str | None = "crs_evaluable",
    severe_grade: int = 3,
) -> pd.DataFrame:
    """The subject-level frame of one cohort from its processed ``adsl``, ``crs`` and ``adtte`` tables.

    Parameters
    ----------
    adsl, crs, adtte : DataFrame
        outputs.md tables of one run (trial or historical export).
    cohort : {"trial", "historical"}
    analysis_set : str or None
        The ``adsl`` flag selecting participants (default the CRS-evaluable set, the population of
        the severe-CRS endpoint); None keeps every participant with a ``crs`` row.
    severe_grade : int
        ``severe_crs`` is ``crs_max_grade`` ≥ this (ASTCT).

    Returns
    -------
    DataFrame
        :data:`SUBJECT_COLUMNS`; OS/EFS NaN where ``adtte`` has no row.
    """
    if cohort not in COHORTS:
        raise ValueError(f"cohort must be one of {COHORTS}, got {cohort!r}")
    base = adsl[
        ["participant_id", "marrow_blast_pct", "age_years", "prior_hsct"] + ([analysis_set] if analysis_set else [])
    ].copy()
    if analysis_set:
        base = base[base[analysis_set].astype(bool)].drop(columns=[analysis_set])
    grades = crs[["participant_id", "crs_max_grade"]]
    frame = base.merge(grades, on="participant_id", how="inner")
    grade = pd.to_numeric(frame["crs_max_grade"], errors="coerce").astype(float)
    frame["severe_crs"] = pd.array(np.where(grade.isna(), None, grade >= severe_grade), dtype="boolean")
    frame["prior_hsct"] = frame["prior_hsct"].astype("boolean")  # missing stays missing
    for paramcd in ENDPOINTS:
        part = adtte.loc[adtte["paramcd"] == paramcd, ["participant_id", "aval", "cnsr"]]
        part = part.rename(columns={"aval": f"{paramcd.lower()}_aval", "cnsr": f"{paramcd.lower()}_cnsr"})
        frame = frame.merge(part, on="participant_id", how="left")
    frame["cohort"] = cohort
    return frame[list(SUBJECT_COLUMNS)].sort_values("participant_id", kind="mergesort").reset_index(drop=True)


def model_frame(subjects: pd.DataFrame) -> pd.DataFrame:
    """The subjects with model columns added: ``cohort_trial``, ``log2_marrow_blasts``, 0/1 flags.

    ``severe_crs`` and ``prior_hsct`` become float 0/1 (NaN where missing); ``os_event`` /
    ``efs_event`` are 1 where ``cnsr`` is 0.
    """
    missing = [c for c in SUBJECT_COLUMNS if c not in subjects.columns]
    if missing:
        raise ValueError(f"subject frame lacks columns {missing}")
    bad = sorted(set(subjects["cohort"].astype(str)) - set(COHORTS))
    if bad:
        raise ValueError(f"unknown cohorts {bad}; expected {COHORTS}")
    f = subjects.copy()
    f["cohort_trial"] = (f["cohort"] == "trial").astype(float)
    blasts = pd.to_numeric(f["marrow_blast_pct"], errors="coerce").astype(float)
    f["log2_marrow_blasts"] = np.log2(np.maximum(blasts, BLAST_FLOOR_PCT))
    for col in ("severe_crs", "prior_hsct"):
        f[col] = f[col].map(lambda v: math.nan if pd.isna(v) else float(bool(v))).astype(float)
    f["age_years"] = pd.to_numeric(f["age_years"], errors="coerce").astype(float)
    for ep in ("os", "efs"):
        f[f"{ep}_aval"] = pd.to_numeric(f[f"{ep}_aval"], errors="coerce").astype(float)
        cnsr = pd.to_numeric(f[f"{ep}_cnsr"], errors="coerce").astype(float)
        f[f"{ep}_event"] = np.where(cnsr.isna(), np.nan, (cnsr == 0).astype(float))
    return f


def sample_size_caveat(n: int, events: int, n_trial: int | None = None, n_historical: int | None = None) -> str:
    """``"exploratory: 40 participants, 11 events"`` (with the cohorts' sizes when both are given).

    Examples
    --------
    >>> sample_size_caveat(40, 11)
    'exploratory: 40 participants, 11 events'
    >>> sample_size_caveat(100, 54, 40, 60)
    'exploratory: 100 participants (40 trial, 60 historical), 54 events'
    """
    who = f"{n} participants" if n_trial is None else f"{n} participants ({n_trial} trial, {n_historical} historical)"
    return f"exploratory: {who}, {events} event{'s' if events != 1 else ''}"


def _label(text: str, caveat: str) -> str:
    return f"{text}; {caveat}"


def _complete(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    return frame.dropna(subset=list(columns))


def _cohort_counts(frame: pd.DataFrame, outcome: str) -> dict[str, int]:
    t = frame["cohort_trial"] == 1
    return {
        "n": len(frame),
        "events": int(frame[outcome].sum()),
        "n_trial": int(t.sum()),
        "n_historical": int((~t).sum()),
        "events_trial": int(frame.loc[t, outcome].sum()),
        "events_historical": int(frame.loc[~t, outcome].sum()),
    }


def _count_rows(
    analysis: str, group: str, counts: dict[str, int], caveat: str, extra: dict[str, float] | None = None
) -> list[ArdRow]:
    names = {
        "n": "participants in the model",
        "events": "events in the model",
        "n_trial": "trial participants",
        "n_historical": "historical participants",
        "events_trial": "events, trial",
        "events_historical": "events, historical",
        "separation": "data separated (1 = yes): some maximum-likelihood estimate infinite",
    }
    values = {**counts, **(extra or {})}
    return [ard_row(analysis, group, "model", k, float(v), _label(names[k], caveat)) for k, v in values.items()]


# ---------------------------------------------------------------------------------------------
# Severe CRS: Firth logistic regression and IPTW
# ---------------------------------------------------------------------------------------------
def cohort_firth_rows(subjects: pd.DataFrame, *, alpha: float = 0.05) -> list[ArdRow]:
    """``cohort_firth_logistic``: severe CRS on cohort, log2 blasts, age and prior HSCT (Firth)."""
    f = _complete(model_frame(subjects), ["severe_crs", *COHORT_TERMS])
    counts = _cohort_counts(f, "severe_crs")
    caveat = sample_size_caveat(counts["n"], counts["events"], counts["n_trial"], counts["n_historical"])
    analysis, group, method = "cohort_firth_logistic", "severe_crs", "firth_profile"
    pct = round(100 * (1 - alpha))
    stat_names = ("coef", "se", "or", "or_ci_low", "or_ci_high", "p_value")
    reason = None
    if counts["n_trial"] == 0 or counts["n_historical"] == 0:
        reason = "one cohort is empty"
    elif counts["events"] in (0, counts["n"]):
        reason = "no events" if counts["events"] == 0 else "every participant had the event"
    elif counts["n"] <= len(COHORT_TERMS) + 1:
        reason = "fewer participants than coefficients"
    if reason is None:
        try:
            fit = firth_logistic(f[list(COHORT_TERMS)], f["severe_crs"], alpha=alpha)
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc)
        else:
            if not fit.converged:
                reason = "the penalized-likelihood fit did not converge"
    rows = _count_rows(analysis, group, counts, caveat, {"separation": math.nan if reason else float(fit.separation)})
    if reason is not None:
        note = _label(f"not estimable: {reason}", caveat)
        return rows + [
            ard_row(analysis, group, term, s, math.nan, note, method) for term in COHORT_TERMS for s in stat_names
        ]
    summary = fit.summary()
    for term in COHORT_TERMS:
        rec = summary.loc[term]
        what = f"odds ratio, {_TERM_TEXT[term]}, Firth penalized likelihood"
        if rec["infinite_ml"]:
            what += " (maximum likelihood infinite: separation)"
        labels = {
            "coef": f"log {what}",
            "se": f"standard error of the log odds ratio, {_TERM_TEXT[term]}",
            "or": what,
            "or_ci_low": f"{what}, profile penalized-likelihood {pct} % CI, lower limit",
            "or_ci_high": f"{what}, profile penalized-likelihood {pct} % CI, upper limit",
            "p_value": f"penalized likelihood-ratio test, {_TERM_TEXT[term]}, two-sided",
        }
        for s in stat_names:
            rows.append(ard_row(analysis, group, term, s, float(rec[s]), _label(labels[s], caveat), method))
    return rows


def cohort_iptw_rows(subjects: pd.DataFrame, *, estimand: Estimand = "ATE", alpha: float = 0.05) -> list[ArdRow]:
    """``cohort_iptw`` (weighted severe-CRS risks, RD, OR) and ``cohort_smd`` (balance) rows."""
    f = _complete(model_frame(subjects), ["severe_crs", *COHORT_TERMS])
    counts = _cohort_counts(f, "severe_crs")
    caveat = sample_size_caveat(counts["n"], counts["events"], counts["n_trial"], counts["n_historical"])
    tag = estimand.lower()
    method = f"iptw_{tag}_robust"
    pct = round(100 * (1 - alpha))
    effect_names = (
        "trial_p",
        "historical_p",
        "rd",
        "rd_ci_low",
        "rd_ci_high",
        "rd_p_value",
        "or",
        "or_ci_low",
        "or_ci_high",
        "or_p_value",
    )
    weight_names = ("n_trial", "n_historical", "ess_trial", "ess_historical", "weight_min", "weight_max")
    reason = None
    if counts["n_trial"] == 0 or counts["n_historical"] == 0:
        reason = "one cohort is empty"
    else:
        try:
            res = iptw(f[list(COVARIATES)], f["cohort_trial"], f["severe_crs"], estimand=estimand, alpha=alpha)
        except SeparationError as exc:
            reason = (
                f"the propensity model separates the cohorts (no covariate overlap: {', '.join(exc.infinite_terms)})"
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc)
    rows: list[ArdRow] = []
    if reason is not None:
        note = _label(f"not estimable: {reason}", caveat)
        rows += [ard_row("cohort_iptw", "severe_crs", "cohort_trial", s, math.nan, note, method) for s in effect_names]
        rows += [
            ard_row(
                "cohort_iptw",
                "severe_crs",
                "weights",
                s,
                float(counts[s]) if s in ("n_trial", "n_historical") else math.nan,
                note,
                method,
            )
            for s in weight_names
        ]
        rows += [
            ard_row("cohort_smd", "trial_vs_historical", cov, s, math.nan, note, m)
            for cov in COVARIATES
            for m in ("unweighted", f"iptw_{tag}")
            for s in ("mean_trial", "mean_historical", "smd")
        ]
        return rows
    e = res.effect
    weights_text = f"stabilized {estimand} weights, HC0 sandwich {pct} % CI"
    or_note = "" if np.isfinite(e.log_or) else " (not estimable: a weighted risk of 0 or 1)"
    rd_note = (
        ""
        if np.isfinite(e.log_or)
        else " (a weighted risk of 0 or 1 adds no variance: the Wald interval is too narrow)"
    )
    values = {
        "trial_p": (e.trial_p, f"weighted severe-CRS risk, trial ({estimand} weights)"),
        "historical_p": (e.historical_p, f"weighted severe-CRS risk, historical ({estimand} weights)"),
        "rd": (e.rd, "weighted risk difference, trial − historical"),
        "rd_ci_low": (e.rd_ci_low, f"weighted risk difference, {weights_text}, lower limit{rd_note}"),
        "rd_ci_high": (e.rd_ci_high, f"weighted risk difference, {weights_text}, upper limit{rd_note}"),
        "rd_p_value": (e.rd_p_value, f"weighted risk difference, robust Wald test, two-sided{rd_note}"),
        "or": (e.odds_ratio, f"weighted odds ratio, trial vs historical{or_note}"),
        "or_ci_low": (e.or_ci_low, f"weighted odds ratio, {weights_text}, lower limit{or_note}"),
        "or_ci_high": (e.or_ci_high, f"weighted odds ratio, {weights_text}, upper limit{or_note}"),
        "or_p_value": (e.or_p_value, f"weighted odds ratio, robust Wald test, two-sided{or_note}"),
    }
    rows += [
        ard_row("cohort_iptw", "severe_crs", "cohort_trial", s, v, _label(t, caveat), method)
        for s, (v, t) in values.items()
    ]
    w = res.weights
    wvalues = {
        "n_trial": (res.n_trial, "trial participants"),
        "n_historical": (res.n_historical, "historical participants"),
        "ess_trial": (res.ess_trial, "effective sample size (Kish), trial"),
        "ess_historical": (res.ess_historical, "effective sample size (Kish), historical"),
        "weight_min": (float(w.min()), "smallest weight"),
        "weight_max": (float(w.max()), "largest weight"),
    }
    rows += [
        ard_row("cohort_iptw", "severe_crs", "weights", s, v, _label(t, caveat), method)
        for s, (v, t) in wvalues.items()
    ]
    for cov, rec in res.smd.iterrows():
        for m, (m1, m0, d) in {
            "unweighted": ("mean_trial", "mean_historical", "smd_before"),
            f"iptw_{tag}": ("wmean_trial", "wmean_historical", "smd_after"),
        }.items():
            when = "before weighting" if m == "unweighted" else f"after {estimand} weighting"
            rows += [
                ard_row(
                    "cohort_smd",
                    "trial_vs_historical",
                    cov,
                    "mean_trial",
                    float(rec[m1]),
                    _label(f"mean, trial, {when}", caveat),
                    m,
                ),
                ard_row(
                    "cohort_smd",
                    "trial_vs_historical",
                    cov,
                    "mean_historical",
                    float(rec[m0]),
                    _label(f"mean, historical, {when}", caveat),
                    m,
                ),
                ard_row(
                    "cohort_smd",
                    "trial_vs_historical",
                    cov,
                    "smd",
                    float(rec[d]),
                    _label(f"standardized mean difference {when} (pooled unweighted SD)", caveat),
                    m,
                ),
            ]
    return rows


# ---------------------------------------------------------------------------------------------
# Survival: KM by cohort, Cox by cohort, log-rank; Cox and logistic within the trial
# ---------------------------------------------------------------------------------------------
def _cox_rows(
    analysis: str,
    group: str,
    f: pd.DataFrame,
    event_col: str,
    time_col: str,
    terms: Sequence[str],
    caveat: str,
    counts: dict[str, int],
    alpha: float,
) -> list[ArdRow]:
    stat_names = ("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p_value")
    pct = round(100 * (1 - alpha))
    reason = None
    fit: CoxResult | None = None
    if counts["events"] == 0:
        reason = "no events"
    else:
        try:
            fit = cox_ph(f[time_col], f[event_col], f[list(terms)], alpha=alpha)
        except MonotoneLikelihoodError as exc:
            reason = f"monotone likelihood, hazard ratio infinite for {', '.join(exc.infinite_terms)}"
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc)
    rows = _count_rows(analysis, group, counts, caveat)
    if fit is None:
        note = _label(f"not estimable: {reason}", caveat)
        rows += [ard_row(analysis, group, t, s, math.nan, note, "efron_wald") for t in terms for s in stat_names]
        rows += [
            ard_row(analysis, group, "model", s, math.nan, note, "efron_lrt") for s in ("lr_chisq", "lr_df", "p_value")
        ]
        return rows
    summary = fit.summary()
    for term in terms:
        rec = summary.loc[term]
        what = f"hazard ratio, {_TERM_TEXT[term]} (Cox, Efron ties)"
        labels = {
            "coef": f"log {what}",
            "se": f"standard error of the log hazard ratio, {_TERM_TEXT[term]}",
            "hr": what,
            "hr_ci_low": f"{what}, Wald {pct} % CI, lower limit",
            "hr_ci_high": f"{what}, Wald {pct} % CI, upper limit",
            "p_value": f"Wald test, {_TERM_TEXT[term]}, two-sided",
        }
        rows += [
            ard_row(analysis, group, term, s, float(rec[s]), _label(labels[s], caveat), "efron_wald")
            for s in stat_names
        ]
    lrt = {
        "lr_chisq": (fit.lr_chisq, "likelihood-ratio test statistic"),
        "lr_df": (float(fit.lr_df), "likelihood-ratio test, degrees of freedom"),
        "p_value": (fit.lr_p, "likelihood-ratio test p-value"),
    }
    rows += [ard_row(analysis, group, "model", s, v, _label(t, caveat), "efron_lrt") for s, (v, t) in lrt.items()]
    return rows


def cohort_survival_rows(
    subjects: pd.DataFrame, *, days_per_month: float, alpha: float = 0.05, endpoints: Sequence[str] = ENDPOINTS
) -> list[ArdRow]:
    """``cohort_km``, ``cohort_cox`` (HR trial vs historical) and ``cohort_logrank`` for OS and EFS.

    ``cohort_km`` is read at :func:`analysis.stats.kaplan_meier.month_timepoints` of ``days_per_month``
    (the analysis plan's), as the trial's ``km`` rows.
    """
    timepoints = month_timepoints(days_per_month)
    mf = model_frame(subjects)
    rows: list[ArdRow] = []
    for ep in endpoints:
        time_col, event_col = f"{ep.lower()}_aval", f"{ep.lower()}_event"
        f = _complete(mf, [time_col, event_col])
        counts = _cohort_counts(f, event_col)
        caveat = sample_size_caveat(counts["n"], counts["events"], counts["n_trial"], counts["n_historical"])
        for cohort in COHORTS:
            part = f[f["cohort"] == cohort]
            part_caveat = sample_size_caveat(len(part), int(part[event_col].sum()))
            km_rows = km_ard_rows(
                kaplan_meier(part[time_col], part[event_col]), f"{ep}_{cohort}", timepoints, analysis="cohort_km"
            )
            rows += [replace(k, stat_label=_label(k.stat_label, part_caveat)) for k in km_rows]
        if counts["n_trial"] == 0 or counts["n_historical"] == 0:
            reason = "one cohort is empty"
            note = _label(f"not estimable: {reason}", caveat)
            rows += _count_rows("cohort_cox", ep, counts, caveat)
            rows += [
                ard_row("cohort_cox", ep, "cohort_trial", s, math.nan, note, "efron_wald")
                for s in ("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p_value")
            ]
            rows += [
                ard_row("cohort_cox", ep, "model", s, math.nan, note, "efron_lrt")
                for s in ("lr_chisq", "lr_df", "p_value")
            ]
            rows += [
                ard_row("cohort_logrank", ep, "cohort", s, math.nan, note, "logrank")
                for s in ("chisq", "df", "p_value")
            ]
            continue
        rows += _cox_rows("cohort_cox", ep, f, event_col, time_col, ["cohort_trial"], caveat, counts, alpha)
        lr = log_rank_test(f[time_col], f[event_col], f["cohort"])
        test = {
            "chisq": (lr.chisq, "log-rank chi-square, trial vs historical"),
            "df": (float(lr.df), "log-rank degrees of freedom"),
            "p_value": (lr.p_value, "log-rank test p-value"),
        }
        rows += [
            ard_row("cohort_logrank", ep, "cohort", s, v, _label(t, caveat), "logrank") for s, (v, t) in test.items()
        ]
        for i, cohort in enumerate(lr.groups):
            per_group = {
                "n": (lr.n[i], f"participants, {cohort}"),
                "observed": (lr.observed[i], f"observed events, {cohort}"),
                "expected": (lr.expected[i], f"expected events, {cohort}"),
            }
            rows += [
                ard_row("cohort_logrank", ep, cohort, s, float(v), _label(t, caveat), "logrank")
                for s, (v, t) in per_group.items()
            ]
    return rows


def _trial_only(subjects: pd.DataFrame) -> pd.DataFrame:
    mf = model_frame(subjects)
    return mf[mf["cohort"] == "trial"]


def trial_cox_rows(
    subjects: pd.DataFrame, *, alpha: float = 0.05, endpoints: Sequence[str] = ENDPOINTS
) -> list[ArdRow]:
    """``trial_cox``: OS / EFS on log2 marrow blasts and severe CRS within the trial (Efron ties)."""
    tf = _trial_only(subjects)
    rows: list[ArdRow] = []
    for ep in endpoints:
        time_col, event_col = f"{ep.lower()}_aval", f"{ep.lower()}_event"
        f = _complete(tf, [time_col, event_col, *TRIAL_COX_TERMS])
        counts = {"n": len(f), "events": int(f[event_col].sum())}
        rows += _cox_rows(
            "trial_cox",
            ep,
            f,
            event_col,
            time_col,
            TRIAL_COX_TERMS,
            sample_size_caveat(counts["n"], counts["events"]),
            counts,
            alpha,
        )
    return rows


def trial_logistic_rows(subjects: pd.DataFrame, *, alpha: float = 0.05) -> list[ArdRow]:
    """``trial_logistic``: severe CRS on log2 marrow blasts within the trial (maximum likelihood, profile CI)."""
    f = _complete(_trial_only(subjects), ["severe_crs", "log2_marrow_blasts"])
    counts = {"n": len(f), "events": int(f["severe_crs"].sum())}
    caveat = sample_size_caveat(counts["n"], counts["events"])
    analysis, group, term, method = "trial_logistic", "severe_crs", "log2_marrow_blasts", "ml_profile"
    stat_names = ("coef", "se", "or", "or_ci_low", "or_ci_high", "p_value")
    pct = round(100 * (1 - alpha))
    rows = _count_rows(analysis, group, counts, caveat)
    try:
        fit = logistic(f[[term]], f["severe_crs"], alpha=alpha, ci="profile")
    except SeparationError:
        reason = "separation: the maximum-likelihood odds ratio is infinite"
    except (ValueError, np.linalg.LinAlgError) as exc:
        reason = str(exc)
    else:
        rec = fit.summary().loc[term]
        what = f"odds ratio of severe CRS, {_TERM_TEXT[term]} (maximum likelihood)"
        values = {
            "coef": (rec["coef"], f"log {what}"),
            "se": (rec["se"], "standard error of the log odds ratio"),
            "or": (rec["or"], what),
            "or_ci_low": (rec["or_ci_low"], f"{what}, profile-likelihood {pct} % CI, lower limit"),
            "or_ci_high": (rec["or_ci_high"], f"{what}, profile-likelihood {pct} % CI, upper limit"),
            "p_value": (rec["lr_p"], "likelihood-ratio test, two-sided"),
        }
        return rows + [
            ard_row(analysis, group, term, s, float(v), _label(t, caveat), method) for s, (v, t) in values.items()
        ]
    note = _label(f"not estimable: {reason}", caveat)
    return rows + [ard_row(analysis, group, term, s, math.nan, note, method) for s in stat_names]


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------
def cohort_comparison_ard(
    subjects: pd.DataFrame, *, days_per_month: float, estimand: Estimand = "ATE", alpha: float = 0.05
) -> pd.DataFrame:
    """Every trial-vs-historical row (Firth, IPTW, SMD, KM, Cox, log-rank) as a validated ARD frame.

    Parameters
    ----------
    subjects : DataFrame
        Both cohorts, :data:`SUBJECT_COLUMNS` (e.g. ``pd.concat([subject_frame(..., "trial"),
        subject_frame(..., "historical")])``).
    days_per_month : float
        The analysis plan's ``days_per_month``: the ``cohort_km`` time points are 3, 6 and 12 of these months.
    estimand : {"ATE", "ATT"}
        The IPTW estimand (:mod:`analysis.stats.iptw` explains the ATE default).
    alpha : float

    Returns
    -------
    DataFrame
        outputs.md's ARD columns, sorted by key.
    """
    rows = (
        cohort_firth_rows(subjects, alpha=alpha)
        + cohort_iptw_rows(subjects, estimand=estimand, alpha=alpha)
        + cohort_survival_rows(subjects, days_per_month=days_per_month, alpha=alpha)
    )
    return to_frame(rows)


def trial_regression_ard(subjects: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The within-trial rows (``trial_cox``, ``trial_logistic``) as a validated ARD frame.

    ``subjects`` may hold both cohorts; only ``cohort == "trial"`` rows are used.
    """
    return to_frame(trial_cox_rows(subjects, alpha=alpha) + trial_logistic_rows(subjects, alpha=alpha))
