"""The historical cohorts' published outcome figures, shown beside the trial's own estimates.

Response within 3 months and survival at 12 months, as each cohort published them (percent, with
its 95 % CI and its own definition where it gave one). Only a cohort with ``confirmed: true`` gives
figures, and only the figures it published: nothing is filled in for a null or absent one
(outputs.md, "Comparisons"). :func:`published_outcomes_frame` makes the table
``published_outcomes.parquet``; :func:`published_outcome_rows` the ARD's ``published_outcome`` rows
of the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.reference.cohorts import HistoricalCohort, PublishedFigure
from analysis.stats.ard import ArdRow, ard_row

PUBLISHED_OUTCOMES: tuple[str, ...] = (
    "orr_3mo",
    "cr_best_response",
    "cr_cri_best_response_pct",
    "os_12mo",
    "efs_12mo",
    "rfs_responders_12mo",
)
"""The published figures, named as in historical_cohorts.yaml: CR/CRi within 3 months, best response
CR/CRi (with a CI, or a bare percentage), overall and event-free survival and relapse-free survival of the
responders at 12 months."""

PUBLISHED_COLUMNS: dict[str, str] = {
    "cohort_order": "int64",
    "cohort_id": "string",
    "cohort_name": "string",
    "variable": "string",
    "estimate_pct": "float64",
    "ci_low_pct": "float64",
    "ci_high_pct": "float64",
    "definition": "string",
    "note": "string",
}
"""The columns of ``published_outcomes.parquet`` and their dtypes."""


def _as_figure(value: PublishedFigure | float | None) -> PublishedFigure | None:
    """A bare published percentage is a figure without a CI; a figure without an estimate is no figure."""
    figure = PublishedFigure(estimate=value) if isinstance(value, float) else value
    return figure if figure is not None and figure.estimate is not None else None


def published_outcomes_frame(cohorts: Sequence[HistoricalCohort]) -> pd.DataFrame:
    """Every published figure of :data:`PUBLISHED_OUTCOMES` of every confirmed cohort, as published.

    Parameters
    ----------
    cohorts : sequence of HistoricalCohort
        The typed reference, in its order.

    Returns
    -------
    DataFrame
        Columns :data:`PUBLISHED_COLUMNS`, one row per cohort × figure, in the reference's order
        (``cohort_order``, 1 = the first cohort of the file), then the order of
        :data:`PUBLISHED_OUTCOMES`. ``estimate_pct``, ``ci_low_pct`` and ``ci_high_pct`` are percent
        as published; a CI not published is null, and so are ``definition`` and ``note`` when the
        cohort gave none.
    """
    rows: list[dict[str, Any]] = []
    for order, cohort in enumerate(cohorts, start=1):
        if cohort.confirmed is not True:
            continue
        for variable in PUBLISHED_OUTCOMES:
            figure = _as_figure(getattr(cohort, variable))
            if figure is None:
                continue
            low, high = figure.ci or (None, None)
            rows.append(
                {
                    "cohort_order": order,
                    "cohort_id": cohort.id,
                    "cohort_name": cohort.name,
                    "variable": variable,
                    "estimate_pct": figure.estimate,
                    "ci_low_pct": low,
                    "ci_high_pct": high,
                    "definition": figure.definition,
                    "note": figure.note,
                }
            )
    return pd.DataFrame(rows, columns=list(PUBLISHED_COLUMNS)).astype(PUBLISHED_COLUMNS)


def published_outcome_rows(published: pd.DataFrame) -> list[ArdRow]:
    """``published_outcome``: each figure of :func:`published_outcomes_frame` as a proportion (percent / 100).

    Group the cohort ``id``, variable the figure's name; ``estimate``, ``ci_low``, ``ci_high`` (NaN when
    the CI was not published), each labelled with the cohort's name and its definition where it gave one.
    """
    rows: list[ArdRow] = []
    for figure in published.itertuples(index=False):
        label = f"{figure.cohort_name}: {figure.variable} as published" + (
            "" if pd.isna(figure.definition) else f"; definition: {figure.definition}"
        )
        for stat_name, percent in (
            ("estimate", figure.estimate_pct),
            ("ci_low", figure.ci_low_pct),
            ("ci_high", figure.ci_high_pct),
        ):
            rows.append(
                ard_row(
                    "published_outcome",
                    figure.cohort_id,
                    figure.variable,
                    stat_name,
                    None if pd.isna(percent) else percent / 100,
                    label,
                )
            )
    return rows


__all__ = ["PUBLISHED_COLUMNS", "PUBLISHED_OUTCOMES", "published_outcome_rows", "published_outcomes_frame"]
