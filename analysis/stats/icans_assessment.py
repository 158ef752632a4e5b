"""ICANS rates and the participants never assessed: the sensitivity rows ``icans_assessed``.

grading.md, "ICANS, ASTCT 2019": a participant with no neurological assessment at all is grade 0
with ``icans_assessed = false``, so the ``crs_rate`` ICANS rates count them as without ICANS. The
rows here say how many that is and give the rates among the assessed only, by burden group.
"""

from __future__ import annotations

import pandas as pd

from analysis.stats.ard import ArdRow
from analysis.stats.proportions import rate_rows

ICANS_ASSESSED_ANALYSIS = "icans_assessed"
ICANS_ENDPOINTS = ("icans_any", "icans_grade3plus")


def icans_assessed_rows(adsl: pd.DataFrame, icans: pd.DataFrame) -> list[ArdRow]:
    """``icans_assessed``: the never-assessed count and the ICANS rates among the assessed.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ``participant_id``, ``crs_evaluable``, ``high_burden``.
    icans : pandas.DataFrame
        ``participant_id``, ``icans_any``, ``icans_max_grade``, ``icans_assessed``.

    Returns
    -------
    list of ArdRow
        For each group (``all``, ``high_burden``, ``low_burden`` of the CRS-evaluable set): variable
        ``not_assessed`` (n never assessed among the N CRS-evaluable), and ``icans_any``,
        ``icans_grade3plus`` among the assessed only (N = assessed); ``n``, ``N``, ``p``, ``ci_low``,
        ``ci_high`` with the exact Clopper–Pearson 95 % CI, as ``crs_rate``.
    """
    evaluable = adsl.loc[adsl["crs_evaluable"].astype(bool), ["participant_id", "high_burden"]]
    frame = evaluable.merge(
        icans[["participant_id", "icans_any", "icans_max_grade", "icans_assessed"]], on="participant_id", how="left"
    )
    assessed = frame["icans_assessed"].astype("boolean").fillna(False).astype(bool)
    flags = pd.DataFrame(
        {
            "high_burden": frame["high_burden"].astype(bool),
            "assessed": assessed,
            "icans_any": frame["icans_any"].astype("boolean").fillna(False).astype(bool),
            "icans_grade3plus": frame["icans_max_grade"].astype("Float64").fillna(0) >= 3,
        }
    )
    groups = {"all": flags, "high_burden": flags[flags["high_burden"]], "low_burden": flags[~flags["high_burden"]]}
    rows: list[ArdRow] = []
    for group, members in groups.items():
        rows += rate_rows(
            ICANS_ASSESSED_ANALYSIS, group, "not_assessed", int((~members["assessed"]).sum()), len(members)
        )
        among = members[members["assessed"]]
        for endpoint in ICANS_ENDPOINTS:
            rows += rate_rows(ICANS_ASSESSED_ANALYSIS, group, endpoint, int(among[endpoint].sum()), len(among))
    return rows


__all__ = ["ICANS_ASSESSED_ANALYSIS", "icans_assessed_rows"]
