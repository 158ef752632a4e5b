"""The Penn-scale approximation of CRS — grading.md, "CRS, Penn scale (approximation, for Penn-graded cohorts)".

The Penn scale (Porter et al., J Hematol Oncol 2018) also uses organ labs, coagulation and
dialysis, which the export does not carry: this is an *approximation from physiology*, graded only
inside ASTCT episodes (0 before the first fever). It can only under-grade grades 3–4, so every
comparison with a Penn cohort favours PACER by construction, and must say so. Penn and ASTCT are
never compared with each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PENN_APPROXIMATION_NOTE = (
    "Penn grade approximated from physiology only (no organ, coagulation or dialysis criteria): "
    "it can only under-grade grades 3-4, which favours PACER in any comparison with a Penn-graded cohort."
)
"""The caveat to show wherever the approximation is shown (grading.md, "Bias")."""


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
        ASTCT levels (0/2/3/4) of :func:`analysis.derive.physiology.derive_physiology`.
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
