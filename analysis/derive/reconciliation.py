"""Derived-vs-reported grade discrepancies — outputs.md, ``queries.parquet``.

The investigators' own grades (``crs_grade_reported``, ``icans_grade_reported``, export-format.md)
are carried "for reconciliation": wherever one exists and differs from the grade the pipeline
derives (grading.md, "CRS, ASTCT 2019" and "ICANS, ASTCT 2019"), a data query says both grades
and, for CRS, what drove the derived one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DISCREPANCY_COLUMNS: list[str] = ["participant_id", "kind", "detail", "derived_grade", "reported_grade"]

NO_CRS_WORDS = "no CRS episode (no fever after infusion starting one within the CRS window)"

HYPOTENSION_WORDS: dict[int, str] = {
    2: "hypotension without a vasopressor",
    3: "one vasopressor running",
    4: "two or more vasopressors running",
}
"""grading.md, "Hypotension level", in words."""

HYPOXIA_WORDS: dict[int, str] = {
    2: "low-flow oxygen",
    3: "high-flow oxygen or a mask",
    4: "CPAP, BiPAP or mechanical ventilation",
}
"""grading.md, "Hypoxia level", in words."""


def _hours_text(values: pd.Series) -> pd.Series:
    """Hours as text with one decimal, vectorized."""
    return pd.Series(
        np.char.mod("%.1f", values.to_numpy(dtype=float, na_value=np.nan)), index=values.index, dtype=object
    )


def describe_crs_grade_drivers(crs_timeline: pd.DataFrame, grades: pd.Series) -> pd.Series:
    """What drove each participant's derived CRS grade, in words, from ``crs_timeline``.

    grading.md, "CRS, ASTCT 2019": *within an episode, grade = max(1, hypotension level, hypoxia
    level)*. The first run of consecutive timeline intervals at the participant's derived grade
    (consecutive = one starts where the previous ended, same drivers) is described by the level(s)
    that equal the grade — "one vasopressor running 12.0–30.5 h" — or by fever for grade 1
    ("fever 3.0–9.0 h", or "episode ongoing without fever" when the floor of 1 holds). Grade 5 with
    no timeline interval at 5 is "death with cause crs"; grade 0 is :data:`NO_CRS_WORDS` (grading.md:
    no CRS before the first fever; episodes must start within the window).

    Parameters
    ----------
    crs_timeline
        ``participant_id``, ``start_hours``, ``end_hours``, ``crs_grade``, ``hypotension_level``,
        ``hypoxia_level``, ``fever``.
    grades
        The derived maximum grade, indexed by ``participant_id``.

    Returns
    -------
    pandas.Series
        Text indexed by ``participant_id``; participants with no description are absent.
    """
    timeline = crs_timeline.merge(
        grades.rename("derived_grade"), left_on="participant_id", right_index=True, how="inner"
    )
    at_max = timeline.loc[(timeline["crs_grade"] == timeline["derived_grade"]) & (timeline["derived_grade"] >= 1)]
    at_max = at_max.sort_values(["participant_id", "start_hours"], kind="mergesort").reset_index(drop=True)
    grade = at_max["derived_grade"].astype("int64")
    hypotension = at_max["hypotension_level"].astype("int64")
    hypoxia = at_max["hypoxia_level"].astype("int64")
    by_hypotension = (hypotension == grade).to_numpy()
    by_hypoxia = (hypoxia == grade).to_numpy()
    hypotension_words = hypotension.map(HYPOTENSION_WORDS).fillna("").to_numpy(dtype=object)
    hypoxia_words = hypoxia.map(HYPOXIA_WORDS).fillna("").to_numpy(dtype=object)
    fever = at_max["fever"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    drivers = pd.Series(
        np.select(
            [
                by_hypotension & by_hypoxia,
                by_hypotension,
                by_hypoxia,
                (grade == 1).to_numpy() & fever,
                (grade == 1).to_numpy(),
            ],
            [
                hypotension_words + " and " + hypoxia_words,
                hypotension_words,
                hypoxia_words,
                "fever",
                "episode ongoing without fever",
            ],
            default="grade " + grade.astype(str).to_numpy(dtype=object),
        ),
        index=at_max.index,
        dtype=object,
    )

    previous_end = at_max.groupby("participant_id", sort=False)["end_hours"].shift(1)
    previous_drivers = drivers.groupby(at_max["participant_id"], sort=False).shift(1)
    starts_run = ~((at_max["start_hours"] == previous_end) & (drivers == previous_drivers))
    run = starts_run.cumsum()
    first_run = run == run.groupby(at_max["participant_id"], sort=False).transform("min")
    spans = (
        at_max.loc[first_run]
        .groupby("participant_id", sort=False)
        .agg(start_hours=("start_hours", "min"), end_hours=("end_hours", "max"))
    )
    first_drivers = drivers.loc[first_run].groupby(at_max.loc[first_run, "participant_id"], sort=False).first()
    described = first_drivers + " " + _hours_text(spans["start_hours"]) + "–" + _hours_text(spans["end_hours"]) + " h"

    deaths = grades.loc[(grades == 5) & ~grades.index.isin(described.index)]
    no_crs = grades.loc[grades == 0]
    return pd.concat(
        [
            described.astype(object),
            pd.Series("death with cause crs", index=deaths.index, dtype=object),
            pd.Series(NO_CRS_WORDS, index=no_crs.index, dtype=object),
        ]
    )


def derive_grade_discrepancies(
    crs: pd.DataFrame, icans: pd.DataFrame, crs_timeline: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Derived-vs-reported grade discrepancies, one row per participant and scale that differs.

    outputs.md, ``queries.parquet``: *derived-vs-reported grade discrepancies*. A participant is
    listed when a reported maximum grade exists and differs from the derived maximum (ASTCT 2019,
    grading.md "CRS, ASTCT 2019" and "ICANS, ASTCT 2019"). The CRS detail names what drove the
    derived grade (:func:`describe_crs_grade_drivers`) when ``crs_timeline`` is given.

    Parameters
    ----------
    crs
        ``participant_id``, ``crs_max_grade``, ``crs_grade_reported_max`` (nullable).
    icans
        ``participant_id``, ``icans_max_grade``, ``icans_grade_reported_max`` (nullable).
    crs_timeline
        The CRS timeline, or None.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``kind`` (``crs_grade_discrepancy`` / ``icans_grade_discrepancy``),
        ``detail`` ("derived ASTCT 3, reported 2; derived grade driven by: one vasopressor running
        12.0–30.5 h"), ``derived_grade`` (int64), ``reported_grade`` (int64); sorted by
        participant and kind.
    """
    frames = []
    for kind, table, derived_column, reported_column in (
        ("crs_grade_discrepancy", crs, "crs_max_grade", "crs_grade_reported_max"),
        ("icans_grade_discrepancy", icans, "icans_max_grade", "icans_grade_reported_max"),
    ):
        reported = table[reported_column].astype("Float64")
        derived = table[derived_column].astype("Float64")
        differs = (reported.notna() & (reported != derived)).fillna(False).astype(bool)
        rows = pd.DataFrame(
            {
                "participant_id": table["participant_id"],
                "kind": kind,
                "derived_grade": derived.astype("Int64"),
                "reported_grade": reported.astype("Int64"),
            }
        ).loc[differs]
        rows["detail"] = (
            "derived ASTCT " + rows["derived_grade"].astype(str) + ", reported " + rows["reported_grade"].astype(str)
        ).astype(object)
        if kind == "crs_grade_discrepancy" and crs_timeline is not None and not rows.empty:
            drivers = describe_crs_grade_drivers(
                crs_timeline, rows.set_index("participant_id")["derived_grade"].astype("int64")
            )
            driven = rows["participant_id"].map(drivers)
            rows["detail"] = rows["detail"].where(
                driven.isna(), rows["detail"] + "; derived grade driven by: " + driven
            )
        frames.append(rows)
    # Empty frames take no part in the result's dtypes (pandas' deprecated default, made explicit).
    result = pd.concat([rows for rows in frames if not rows.empty] or frames[:1], ignore_index=True)
    result["derived_grade"] = result["derived_grade"].astype("int64")
    result["reported_grade"] = result["reported_grade"].astype("int64")
    return result.sort_values(["participant_id", "kind"], kind="mergesort").reset_index(drop=True)[DISCREPANCY_COLUMNS]
