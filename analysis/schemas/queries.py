"""The data queries table and every query kind a derivation can raise (outputs.md, queries.parquet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.schemas.base import ARROW_TEXT, OutputModel, OutputTable, field, rows_in_key_order

QUERIES_KEY = ("participant_id", "source", "kind", "detail")
QUERY_SOURCES = ["crs", "anakinra", "icans", "reconciliation", "adsl", "adtte"]
"""The derivations that raise queries, in the order their queries are collected."""


@dataclass(frozen=True)
class QueryKind:
    """One kind of data query: who raises it, when, what the pipeline used, what the data manager should do."""

    kind: str
    source: str
    raised_when: str
    used: str
    action: str


QUERY_KINDS = (
    QueryKind(
        "reading_gap",
        "crs",
        "no `temperature` (or `systolic_bp`) reading for longer than `reading_hold_hours` (12 h) inside days "
        "0–`crs_window_days`. This covers the stretch from the infusion to the first reading, the stretches "
        "between readings, and the stretch from the last reading to the end of the window or the horizon. One row "
        "per participant and reading type: the number of gaps, the hours unobserved in all, and the longest gap",
        "the state is *unobserved* after the hold and is read as normal (no fever, no low SBP)",
        "check the source chart for vitals in those spans. Enter any missed readings, or confirm that none were "
        "taken. On the demo most of these come from days 14–30, where vitals are charted about once a day",
    ),
    QueryKind(
        "no_temperature_in_window",
        "crs",
        "no temperature reading at all in days 0–30 (the observed part)",
        "no fever, so no CRS: grade 0",
        "high priority: retrieve the temperature charting. Without it CRS onset cannot be assessed",
    ),
    QueryKind(
        "open_interval",
        "crs",
        "a `vasopressor` or `oxygen` row has no `end_time` and no later row of its drug (oxygen: any device) ends it",
        "the row runs to `data_end_hours` (the export time or the cut)",
        "enter the `end_time`, or confirm that the support was still running at the export",
    ),
    QueryKind(
        "crs_episode_open",
        "crs",
        "a counted episode has no clean 24-h span by death, day `crs_followup_days` or the data end (the detail "
        "says which)",
        "the duration is censored there (`crs_open` true)",
        "none if the episode was really ongoing. Otherwise look for a missing `end_time` of support (see "
        "`open_interval`) or for missing normal readings",
    ),
    QueryKind(
        "anakinra_before_infusion",
        "anakinra",
        "an anakinra dose is dated before the infusion",
        "shown, not counted",
        "verify the dose time and the infusion time",
    ),
    QueryKind(
        "anakinra_dose_unreadable",
        "anakinra",
        "an anakinra dose has no amount in mg or mg/kg",
        "counted as a dose, left out of the mg/kg checks (maximum, limit, escalation by mg/kg)",
        "enter the amount and the unit",
    ),
    QueryKind(
        "icans_tool_wrong_age",
        "icans",
        "an ICE score at age < 12 or a CAPD score at age ≥ 12 (age at the assessment)",
        "graded with the tool as recorded",
        "confirm the participant's age and the tool used. Correct the event type if it was mis-recorded",
    ),
    QueryKind(
        "icans_assessment_ungradable",
        "icans",
        "an ICE/CAPD score without a value, or a domain code with no grade. Ingest normally quarantines these, so "
        "this is a safety net",
        "counted as assessed, grade 0",
        "enter the score or the code",
    ),
    QueryKind(
        "crs_grade_discrepancy",
        "reconciliation",
        "the investigator's highest `crs_grade_reported` differs from the derived ASTCT `crs_max_grade`. The "
        'detail names what drove the derived grade (e.g. "one vasopressor running 12.0–30.5 h")',
        "the derived grade. The reported grade is never used in an analysis",
        "review against the source. Correct either the reported grade or the physiology rows behind the derived "
        "grade (a missing end time, a mis-keyed dose), or confirm both as recorded",
    ),
    QueryKind(
        "icans_grade_discrepancy",
        "reconciliation",
        "the highest `icans_grade_reported` differs from the derived `icans_max_grade`",
        "the derived grade",
        "as for CRS",
    ),
    QueryKind(
        "day28_equidistant_assessments",
        "adsl",
        "two response assessments at different times are equally near day 28",
        "the earlier one",
        "confirm which assessment is the day-28 one",
    ),
    *(
        QueryKind(
            f"{table}_missing",
            "adsl",
            "an infused participant is absent from that derivation",
            "null safety columns in `adsl`",
            "none for the data manager: this is a pipeline defect. Report it",
        )
        for table in ("crs", "icans", "anakinra")
    ),
    QueryKind(
        "death_before_infusion",
        "adtte",
        "a death row is dated before the infusion",
        "the death at day 0. If the infusion is after the cut, the participant stays not infused",
        "correct the death or the infusion date",
    ),
    QueryKind(
        "relapse_after_death",
        "adtte",
        "a relapse row is dated after the death",
        "the death. The relapse is ignored, so CIR counts a death without relapse",
        "correct the dates",
    ),
    QueryKind(
        "event_after_withdrawal",
        "adtte",
        "rows are dated after the first withdrawal",
        "every row: follow-up is not truncated at a withdrawal",
        "confirm the withdrawal date, and whether data after it may be used",
    ),
    QueryKind(
        "last_contact_after_death",
        "adtte",
        "a `last_contact` row is dated after the death",
        "the death. LKA is capped at the death",
        "correct the dates",
    ),
    QueryKind(
        "multiple_deaths",
        "adtte",
        "more than one death row",
        "the earliest; at the same instant, the first line of the export (its cause too)",
        "delete the duplicates or correct them",
    ),
)
"""Every query ``kind`` the code can raise, in the order the docs list them."""


class Queries(OutputModel):
    """**Grain:** data query. **Key:** (`participant_id`, `source`, `kind`, `detail`). Exact duplicates are
    removed. Rules: O `queries.parquet` ("contradictory dates, derived-vs-reported grade
    discrepancies, open intervals, unobserved gaps"); G "Contradictory dates … are listed as data
    queries; the derivation says which it used".
    """

    participant_id: Series[pd.StringDtype] = field(dtype_kwargs=ARROW_TEXT)
    kind: Series[pd.StringDtype] = field(
        "the kind of query (below)", isin=[query.kind for query in QUERY_KINDS], dtype_kwargs=ARROW_TEXT
    )
    detail: Series[pd.StringDtype] = field(
        "plain words with the values: study hours or days (never calendar dates) and what the derivation used",
        dtype_kwargs=ARROW_TEXT,
    )
    source: Series[pd.StringDtype] = field(
        "the derivation that raised it: " + ", ".join(f"`{source}`" for source in QUERY_SOURCES),
        extra=True,
        isin=QUERY_SOURCES,
        dtype_kwargs=ARROW_TEXT,
    )

    class Config:
        unique: ClassVar[list[str]] = list(QUERIES_KEY)

    @pa.dataframe_check
    def each_kind_comes_from_its_source(cls, frame: pd.DataFrame) -> Series[bool]:
        """A query kind is raised by one derivation only (the kinds table)."""
        return frame["source"] == frame["kind"].map({query.kind: query.source for query in QUERY_KINDS})

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant, source, kind and detail."""
        return rows_in_key_order(frame, QUERIES_KEY)


def query_kinds_table() -> str:
    """The kinds table of the docs: one row per kind (markdown)."""
    rows = [
        "| `kind` | source | raised when | what the pipeline used | what the data manager should do |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| `{query.kind}` | {query.source} | {query.raised_when} | {query.used} | {query.action} |"
        for query in QUERY_KINDS
    ]
    return "\n".join(rows)


QUERIES_TABLES = (
    OutputTable(
        "queries.parquet",
        Queries,
        "data queries",
        "derived",
        QUERIES_KEY,
        notes="Every `kind` the code can raise:\n\n" + query_kinds_table(),
    ),
)
