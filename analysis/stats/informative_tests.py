"""Whether each historical comparison's one-sample exact test can carry evidence.

The one-sided exact binomial test (``historical_comparison``, method ``binom_exact_1s``) takes the
historical rate as fixed. Against a cohort whose rate is 0 % or 100 % it is degenerate: with p0 = 1
(e.g. 15/15) P(X ≤ n) is 0 for every trial count below N, so any trial rate under 100 % gives
p = 0; with p0 = 0 P(X ≤ n) is 1 whatever the trial shows. Such a p-value says nothing about the
trial and is marked not informative, with the reason, rather than printed as evidence.
"""

from __future__ import annotations

from collections.abc import Iterable

from analysis.stats.ard import ArdRow, ard_row

TEST_METHOD = "binom_exact_1s"
INFORMATIVE_STAT = "informative"


def degenerate_reason(historical_n: float, historical_N: float) -> str:
    """Why a one-sample exact test against ``historical_n`` / ``historical_N`` is not informative, or ``""``.

    Parameters
    ----------
    historical_n, historical_N : float
        The cohort's published events and participants.

    Returns
    -------
    str
        ``""`` when the historical rate is strictly between 0 and 1; otherwise the reason.
    """
    if historical_N > 0 and historical_n == historical_N:
        return (
            f"the historical rate is 100 % ({historical_n:.0f}/{historical_N:.0f}); taken as fixed, it gives "
            "p = 0 for any trial rate below 100 % and p = 1 otherwise"
        )
    if historical_N > 0 and historical_n == 0:
        return f"the historical rate is 0 % (0/{historical_N:.0f}); taken as fixed, every trial rate gives p = 1"
    return ""


def informative_test_rows(comparison_rows: Iterable[ArdRow]) -> list[ArdRow]:
    """``historical_comparison`` ``informative`` (method ``binom_exact_1s``): 1, or 0 with the reason as label.

    Parameters
    ----------
    comparison_rows : iterable of ArdRow
        The ``historical_comparison`` rows (:func:`analysis.stats.historical.compare_with_cohorts`).

    Returns
    -------
    list of ArdRow
        One row per compared cohort × endpoint, in the order first seen: ``stat_value`` 1 when the
        historical rate lies strictly between 0 and 1, else 0 labelled "not informative: <reason>"
        (:func:`degenerate_reason`).
    """
    counts: dict[tuple[str, str], dict[str, float]] = {}
    for row in comparison_rows:
        if row.analysis == "historical_comparison" and row.stat_name in ("historical_n", "historical_N"):
            counts.setdefault((row.group, row.variable), {})[row.stat_name] = row.stat_value
    rows = []
    for (cohort_id, endpoint), published in counts.items():
        reason = degenerate_reason(published["historical_n"], published["historical_N"])
        label = f"not informative: {reason}" if reason else "the one-sided exact test can inform"
        rows.append(
            ard_row(
                "historical_comparison", cohort_id, endpoint, INFORMATIVE_STAT, 0 if reason else 1, label, TEST_METHOD
            )
        )
    return rows


__all__ = ["degenerate_reason", "informative_test_rows"]
