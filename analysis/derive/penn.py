"""The Penn-scale approximation of CRS — grading.md, "CRS, Penn scale (approximation, for Penn-graded cohorts)".

The Penn scale (Porter et al., J Hematol Oncol 2018) also uses organ labs, coagulation and
dialysis, which the export does not carry: this is an *approximation from physiology*, graded only
inside ASTCT episodes (0 before the first fever). It can only under-grade grades 3–4, so every
comparison with a Penn cohort favours PACER by construction, and must say so. Penn and ASTCT are
never compared with each other.

The whole Penn rule is here: the high-dose vasopressor table (:func:`compute_high_dose`), the
≥ 3 h high-dose run (:func:`compute_high_dose_run`), both read by the physiological state
(:mod:`analysis.derive.physiology`), and the level of a moment (:func:`compute_penn_level`,
:func:`compute_crs_grade_penn`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.derive.ticks import hours_to_ticks, runs
from analysis.export.vocabulary import NOREPINEPHRINE_EQUIVALENTS
from analysis.settings import AnalysisPlan

DOSE_TOLERANCE = 1e-9
"""Numerical tolerance (mcg/kg/min) on high-dose comparisons, so that 0.14 + 0.14 meets 0.28."""

PENN_APPROXIMATION_NOTE = (
    "Penn grade approximated from physiology only (no organ, coagulation or dialysis criteria): "
    "it can only under-grade grades 3-4, which favours PACER in any comparison with a Penn-graded cohort."
)
"""The caveat to show wherever the approximation is shown (grading.md, "Bias")."""


def compute_high_dose(
    doses: dict[str, np.ndarray], vasopressin_running: np.ndarray, drugs_running: np.ndarray, plan: AnalysisPlan
) -> np.ndarray:
    """Whether the vasopressors running at a moment are a high dose.

    grading.md, "High dose" [choice ``high_dose``]: monotherapy norepinephrine ≥ 0.28,
    epinephrine ≥ 0.14, dopamine ≥ 10, phenylephrine ≥ 2.86 mcg/kg/min; or in combination a
    norepinephrine equivalent ≥ 0.28 (≥ 0.14 with vasopressin running).

    Choices where grading.md is silent:

    - a drug at or above its monotherapy threshold stays high dose when another vasopressor is
      added (otherwise adding dopamine 0.1 to dopamine-alone 10 would *lower* the grade: the
      combination rule only adds high-dose states, it never removes one);
    - "in combination" means at least two drugs running, vasopressin included; vasopressin alone
      is never high dose (its NE-equivalent is 0).

    Parameters
    ----------
    doses
        Running dose (mcg/kg/min, 0 when not running) per non-vasopressin drug name.
    vasopressin_running
        Boolean per moment.
    drugs_running
        Number of vasopressor drugs running per moment, vasopressin included.
    """
    thresholds = {
        "norepinephrine": plan.high_dose.norepinephrine,
        "epinephrine": plan.high_dose.epinephrine,
        "dopamine": plan.high_dose.dopamine,
        "phenylephrine": plan.high_dose.phenylephrine,
    }
    n = len(vasopressin_running)
    high = np.zeros(n, dtype=bool)
    ne_equivalent = np.zeros(n, dtype="float64")
    for drug, dose in doses.items():
        dose = np.nan_to_num(np.asarray(dose, dtype="float64"), nan=0.0)
        if drug in thresholds:
            high |= dose >= thresholds[drug] - DOSE_TOLERANCE
        ne_equivalent += NOREPINEPHRINE_EQUIVALENTS.get(drug, 0.0) * dose
    combination_threshold = np.where(
        vasopressin_running,
        plan.high_dose.combination_ne_equivalent_with_vasopressin,
        plan.high_dose.combination_ne_equivalent,
    )
    high |= (np.asarray(drugs_running) >= 2) & (ne_equivalent >= combination_threshold - DOSE_TOLERANCE)
    return high


def compute_high_dose_run(
    participant_code: np.ndarray, high_dose: np.ndarray, duration: np.ndarray, plan: AnalysisPlan
) -> np.ndarray:
    """Whether each moment lies in an uninterrupted high-dose run of at least 3 h.

    grading.md, "CRS, Penn scale", grade 4: *an uninterrupted high-dose vasopressor run of ≥ 3 h*
    (``plan.high_dose.min_duration_hours``): the maximal spans of consecutive grid intervals where
    :func:`compute_high_dose` holds (a titration or a switch of drug at the same instant does not
    interrupt); every moment of a run that long is marked, its first 3 h included. A run cut
    short by the horizon counts only what was observed.

    Parameters
    ----------
    participant_code
        int64 participant code per grid interval, rows sorted by participant and time (contiguous
        intervals of a participant).
    high_dose
        bool per interval (:func:`compute_high_dose`).
    duration
        Interval lengths in ticks (:mod:`analysis.derive.ticks`).
    plan
        ``high_dose.min_duration_hours``.

    Returns
    -------
    numpy.ndarray
        bool per interval.

    Examples
    --------
    >>> from analysis.settings import AnalysisPlan
    >>> hour = hours_to_ticks(1.0)
    >>> compute_high_dose_run(np.array([0, 0, 0, 1, 1]), np.array([True, True, False, True, True]),
    ...                       np.array([2, 1, 5, 1, 1]) * hour, AnalysisPlan()).tolist()
    [True, True, False, False, False]
    """
    high_dose = np.asarray(high_dose, dtype=bool)
    _, _, run_ticks = runs(np.asarray(participant_code), high_dose, np.asarray(duration))
    return high_dose & (run_ticks >= hours_to_ticks(plan.high_dose.min_duration_hours))


def compute_penn_level(
    hypotension_level: np.ndarray,
    hypoxia_level: np.ndarray,
    mechanical_ventilation: np.ndarray,
    high_dose_run: np.ndarray,
    repeat_bolus: np.ndarray,
) -> np.ndarray:
    """The Penn-approximate grade a moment would have inside an episode (1–4).

    grading.md, "CRS, Penn scale":

    - 4: inside an uninterrupted high-dose vasopressor run of ≥ 3 h (every moment of such a run,
      its first 3 h included), or on mechanical ventilation;
    - 3: vasopressors below that (any vasopressor running, vasopressin alone included, or a
      high-dose run shorter than 3 h); any supplemental oxygen short of mechanical ventilation
      (CPAP and BiPAP included); or while a bolus counts (its 1 h) with another bolus in the 24 h
      before it;
    - 2: hypotension not meeting grade 3 (SBP below the PALS threshold, or a single bolus);
    - 1: otherwise — no grade needs fever inside an episode.

    Parameters
    ----------
    hypotension_level, hypoxia_level
        ASTCT levels (0/2/3/4) of :func:`analysis.derive.physiology.build_physiology`.
    mechanical_ventilation, high_dose_run, repeat_bolus
        Boolean state columns of the same.

    Returns
    -------
    numpy.ndarray
        int64 grades 1–4.

    Examples
    --------
    >>> compute_penn_level(np.array([0, 2, 3, 0]), np.array([0, 0, 0, 4]), np.array([False, False, False, True]),
    ...                    np.array([False, False, False, False]), np.array([False, False, False, False])).tolist()
    [1, 2, 3, 4]
    """
    hypotension_level = np.asarray(hypotension_level)
    hypoxia_level = np.asarray(hypoxia_level)
    grade4 = np.asarray(high_dose_run, dtype=bool) | np.asarray(mechanical_ventilation, dtype=bool)
    grade3 = (hypotension_level >= 3) | (hypoxia_level > 0) | np.asarray(repeat_bolus, dtype=bool)
    grade2 = hypotension_level >= 2
    return np.select([grade4, grade3, grade2], [4, 3, 2], 1).astype("int64")


def compute_crs_grade_penn(state: pd.DataFrame) -> np.ndarray:
    """``crs_grade_penn`` of each moment of the CRS state: the Penn-approximate grade, 0 outside episodes.

    grading.md, "CRS, Penn scale": *graded only inside ASTCT episodes (0 before the first fever)*;
    inside an episode :func:`compute_penn_level`. Grade 5 (death with cause ``crs``) is a
    participant-level grade (:func:`analysis.derive.crs.derive_crs_summary`), never a state of the
    timeline.

    Parameters
    ----------
    state
        Needs ``episode`` (0 outside), ``hypotension_level``, ``hypoxia_level``,
        ``mechanical_ventilation``, ``high_dose_run``, ``repeat_bolus``.

    Returns
    -------
    numpy.ndarray
        int64 per row.
    """
    level = compute_penn_level(
        state["hypotension_level"].to_numpy(),
        state["hypoxia_level"].to_numpy(),
        state["mechanical_ventilation"].to_numpy(),
        state["high_dose_run"].to_numpy(),
        state["repeat_bolus"].to_numpy(),
    )
    return np.where(state["episode"].to_numpy() > 0, level, 0).astype("int64")


def derive_var_crs_grade_penn(state: pd.DataFrame) -> pd.DataFrame:
    """The CRS state with ``crs_grade_penn`` added (:func:`compute_crs_grade_penn`)."""
    return state.assign(crs_grade_penn=compute_crs_grade_penn(state))
