"""A one-sample exact test against a 0 % or 100 % cohort is degenerate and marked not informative."""

from __future__ import annotations

from scipy.stats import binomtest

from analysis.stats.ard import ard_row
from analysis.stats.informative_tests import degenerate_reason, informative_test_rows


def comparison(cohort: str, n: int, N: int) -> list:
    return [
        ard_row("historical_comparison", cohort, "crs_any", "historical_n", n, method="descriptive"),
        ard_row("historical_comparison", cohort, "crs_any", "historical_N", N, method="descriptive"),
        ard_row("historical_comparison", cohort, "crs_any", "trial_n", 30, method="descriptive"),
    ]


def test_the_degenerate_test_really_is_degenerate():
    # R: binom.test(35, 36, p = 1, alternative = "less")$p.value = 0; binom.test(0, 36, p = 0, "less") = 1
    assert binomtest(35, 36, p=1.0, alternative="less").pvalue == 0.0
    assert binomtest(0, 36, p=0.0, alternative="less").pvalue == 1.0


def test_rates_of_0_and_100_percent_are_not_informative():
    assert degenerate_reason(15, 15).startswith("the historical rate is 100 % (15/15)")
    assert degenerate_reason(0, 26).startswith("the historical rate is 0 % (0/26)")
    assert degenerate_reason(14, 15) == ""
    assert degenerate_reason(1, 26) == ""


def test_one_row_per_comparison():
    rows = informative_test_rows([*comparison("kadauke_pt_htb", 15, 15), *comparison("eliana_2018", 58, 75)])
    assert [(r.group, r.stat_name, r.method, r.stat_value) for r in rows] == [
        ("kadauke_pt_htb", "informative", "binom_exact_1s", 0.0),
        ("eliana_2018", "informative", "binom_exact_1s", 1.0),
    ]
    assert rows[0].stat_label == (
        "not informative: the historical rate is 100 % (15/15); taken as fixed, it gives p = 0 for any trial rate "
        "below 100 % and p = 1 otherwise"
    )
