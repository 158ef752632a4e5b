"""The processed participants and events tables as pandera contracts (docs/processed-tables.md).

Ingest validates its output against these before writing; derivations may validate their input.
A failure here is a defect of the pipeline, not of the export: input faults are quarantined first.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.export.vocabulary import EVENT_TYPES

ARROW_TEXT = {"storage": "pyarrow"}
"""Text columns are Arrow-backed strings (analysis.export.text.TEXT)."""


class ProcessedParticipants(pa.DataFrameModel):
    """participants.parquet."""

    participant_id: Series[pd.StringDtype] = pa.Field(unique=True, dtype_kwargs=ARROW_TEXT)
    age_years: Series[float] = pa.Field(ge=1, lt=27)
    sex: Series[pd.StringDtype] = pa.Field(isin=["M", "F"], dtype_kwargs=ARROW_TEXT)
    weight_kg: Series[float] = pa.Field(gt=0, lt=250)
    marrow_blast_pct: Series[float] = pa.Field(ge=0, le=100)
    prior_hsct: Series[bool]
    infused: Series[bool]
    cut_hours: Series[float] = pa.Field(nullable=True)
    data_end_hours: Series[float] = pa.Field(nullable=True)
    safety: Series[bool]
    crs_evaluable: Series[bool]
    efficacy_evaluable: Series[bool]

    @pa.dataframe_check
    def evaluable_sets_are_within_safety(cls, frame: pd.DataFrame) -> Series[bool]:
        """CRS- and efficacy-evaluable participants are infused (grading.md, Analysis sets)."""
        return frame["safety"] | ~(frame["crs_evaluable"] | frame["efficacy_evaluable"])


class ProcessedEvents(pa.DataFrameModel):
    """events.parquet."""

    participant_id: Series[pd.StringDtype] = pa.Field(dtype_kwargs=ARROW_TEXT)
    line: Series[int] = pa.Field(ge=2)
    event_type: Series[pd.StringDtype] = pa.Field(isin=list(EVENT_TYPES), dtype_kwargs=ARROW_TEXT)
    event_time: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "ns", "tz": "UTC"})
    hours_from_infusion: Series[float] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(nullable=True)

    @pa.dataframe_check
    def temperatures_are_celsius(cls, frame: pd.DataFrame) -> Series[bool]:
        """Temperatures are stored in °C (export-format.md: °F is converted at ingest)."""
        temperature = frame["event_type"] == "temperature"
        return ~temperature | ((frame["unit"] == "C") & frame["value"].between(30, 45))
