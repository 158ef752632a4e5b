"""The investigator's reported maximum CRS and ICANS grades, with planted discrepancies.

The report is entered 1-4 days after the CRS and ICANS have ended (day 26-30 when there was
neither; at death when death comes first) and states the grades the EDC documents by then. It
is exact, except for ``max(2, 5 %)`` participants whose CRS grade is reported one grade off (the
first half, and grade 4, one grade lower, the others one higher) and ``max(1, 2.5 %)`` other participants whose
ICANS grade is reported one lower; they are drawn among participants whose report precedes the
export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_DAY, choose_exactly, concat_events, event_frame


def reported_grades(
    rng: np.random.Generator, course: pd.DataFrame, documented: pd.DataFrame, days_to_export: np.ndarray
) -> pd.DataFrame:
    """Per infused participant: when the report is entered and the grades it states.

    Parameters
    ----------
    rng
        The reports' random stream.
    course
        CRS plan and outcomes of the infused participants (``pidx``, ``crs_end_minute``,
        ``icans_start``, ``icans_minutes``, ``death_minute``).
    documented
        Indexed by ``pidx``: ``crs_level`` and ``icans_level``, the maximum grades the kept rows
        document (5 for a CRS death).
    days_to_export
        Days from each infusion to the export.

    Returns
    -------
    pandas.DataFrame
        ``pidx``, ``report_minute``, ``report_in_export`` (entered before the export),
        ``crs_grade_reported``, ``icans_grade_reported``, ``crs_discrepant``, ``icans_discrepant``.
    """
    n = len(course)
    crs = documented["crs_level"].reindex(course["pidx"]).fillna(0).to_numpy()
    icans = documented["icans_level"].reindex(course["pidx"]).fillna(0).to_numpy()
    icans_end = (course["icans_start"] + course["icans_minutes"]).to_numpy()
    episodes_end = np.fmax(course["crs_end_minute"].to_numpy(), icans_end)
    report = np.where(
        np.isnan(episodes_end),
        rng.uniform(26, 30, n) * MINUTES_PER_DAY,
        episodes_end + rng.uniform(1, 4, n) * MINUTES_PER_DAY,
    )
    report = np.round(np.fmin(report, course["death_minute"].to_numpy()))
    visible = report < days_to_export * MINUTES_PER_DAY

    crs_discrepant = choose_exactly(rng, visible & (crs >= 1) & (crs <= 4), max(2, round(0.05 * n)))
    lower = crs_discrepant & (np.cumsum(crs_discrepant) <= crs_discrepant.sum() // 2)
    icans_discrepant = choose_exactly(rng, visible & ~crs_discrepant & (icans >= 1), max(1, round(0.025 * n)))
    return pd.DataFrame(
        {
            "pidx": course["pidx"].to_numpy(),
            "report_minute": report,
            "report_in_export": visible,
            "crs_grade_reported": np.where(crs_discrepant, np.where(lower | (crs == 4), crs - 1, crs + 1), crs),
            "icans_grade_reported": np.where(icans_discrepant, icans - 1, icans),
            "crs_discrepant": crs_discrepant,
            "icans_discrepant": icans_discrepant,
        }
    )


def reported_grade_events(reports: pd.DataFrame) -> pd.DataFrame:
    """The ``crs_grade_reported`` and ``icans_grade_reported`` rows."""
    return concat_events(
        [
            event_frame(
                reports["pidx"], reports["report_minute"], "crs_grade_reported", value=reports["crs_grade_reported"]
            ),
            event_frame(
                reports["pidx"], reports["report_minute"], "icans_grade_reported", value=reports["icans_grade_reported"]
            ),
        ]
    )
