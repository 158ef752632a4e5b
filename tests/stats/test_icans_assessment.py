"""The never-assessed count and the ICANS rates among the assessed (grading.md: never assessed = grade 0)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.stats.ard import to_frame
from analysis.stats.icans_assessment import icans_assessed_rows


def test_rates_among_the_assessed_and_the_never_assessed_count():
    # Six CRS-evaluable (P1–P6) and one not evaluable (P7). P3 and P5 were never assessed (grade 0).
    adsl = pd.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
            "crs_evaluable": [True, True, True, True, True, True, False],
            "high_burden": [True, True, True, False, False, False, True],
        }
    )
    icans = pd.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
            "icans_any": [True, False, False, True, False, False, True],
            "icans_max_grade": [3, 0, 0, 1, 0, 0, 4],
            "icans_assessed": [True, True, False, True, False, True, True],
        }
    )
    ard = to_frame(icans_assessed_rows(adsl, icans)).set_index(["group", "variable", "stat_name"])["stat_value"]
    # all: 2 of 6 never assessed; among the 4 assessed, any ICANS 2/4 (P1, P4), grade >= 3 1/4 (P1)
    assert (ard["all", "not_assessed", "n"], ard["all", "not_assessed", "N"]) == (2, 6)
    assert (ard["all", "icans_any", "n"], ard["all", "icans_any", "N"]) == (2, 4)
    assert ard["all", "icans_any", "p"] == 0.5
    assert (ard["all", "icans_grade3plus", "n"], ard["all", "icans_grade3plus", "N"]) == (1, 4)
    # high burden: P1–P3, P3 not assessed; low burden: P4–P6, P5 not assessed
    assert (ard["high_burden", "not_assessed", "n"], ard["high_burden", "not_assessed", "N"]) == (1, 3)
    assert (ard["high_burden", "icans_grade3plus", "n"], ard["high_burden", "icans_grade3plus", "N"]) == (1, 2)
    assert (ard["low_burden", "icans_any", "n"], ard["low_burden", "icans_any", "N"]) == (1, 2)
    # R: binom.test(2, 4)$conf.int -> 0.06758599 0.93241401
    assert ard["all", "icans_any", "ci_low"] == pytest.approx(0.06758599, abs=1e-8)
    assert ard["all", "icans_any", "ci_high"] == pytest.approx(0.93241401, abs=1e-8)
