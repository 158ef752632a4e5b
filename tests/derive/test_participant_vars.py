"""The age at infusion (PALS age) and the analysis sets, derived once below export and derive (analysis.participant_vars)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.participant_vars import compute_age_at_infusion_years


def test_age_at_infusion_expected_values():
    # grading.md: age_years + (infusion date − enrollment date) / 365.25, the date of the UTC instant
    age = compute_age_at_infusion_years(
        pd.Series([9.0, 11.9, 0.5, 4.0]),
        pd.Series(pd.to_datetime(["2026-01-01", "2026-01-01", "2026-03-01", "2026-03-01"]).date),
        pd.Series(
            pd.to_datetime(
                ["2026-01-01T10:00:00Z", "2026-02-06T23:59:00Z", "2027-03-01T00:30:00Z", None], utc=True
            ).astype("datetime64[us, UTC]")
        ),
    )
    expected = [9.0, 11.9 + 36 / 365.25, 0.5 + 365 / 365.25, np.nan]
    np.testing.assert_array_equal(age.to_numpy(dtype="float64"), np.array(expected))
