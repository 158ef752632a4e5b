"""The AE table and listings show each event's outcome at the cut and its term in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.export.vocabulary import DETAIL_CODES
from analysis.report import labels, summaries


def ae_rows() -> pd.DataFrame:
    """Four events: a grade-5 infection closed at the death on day 20, a resolved and an ongoing one."""
    return pd.DataFrame(
        {
            "participant_id": ["P-1", "P-1", "P-2", "P-3"],
            "term": ["infection", "infection", "febrile_neutropenia", "tumor_lysis"],
            "term_text": [None, "bacteremia", None, None],
            "grade": np.array([3, 5, 3, 2], dtype="int64"),
            "onset_hours": [48.0, 240.0, 72.0, 12.0],
            "resolved_hours": [96.0, 480.0, np.nan, 36.0],
            "outcome": ["resolved", "fatal", "ongoing", "resolved"],
        }
    )


def test_a_fatal_event_is_listed_as_fatal_not_resolved():
    listing = summaries.ae_listing(ae_rows(), terms=("infection", "febrile_neutropenia"))
    assert listing["Participant"].tolist() == ["P-1", "P-1", "P-2"]
    assert listing["Term"].tolist() == ["Infection", "Infection", "Febrile neutropenia"]
    assert listing["Outcome"].tolist() == ["resolved", "fatal", "ongoing at the cut"]
    assert listing["Resolved (study day)"].tolist() == ["4.0", "–", "–"]


def test_the_term_table_counts_outcomes():
    table = summaries.ae_by_term(ae_rows())
    assert table["Term"].tolist() == ["Febrile neutropenia", "Infection"]
    assert table["Outcome"].tolist() == ["1 ongoing at the cut", "1 fatal; 1 resolved"]
    assert table["Worst grade"].tolist() == ["3", "5"]


def test_every_ae_code_has_words():
    assert set(labels.AE_TERMS) == set(DETAIL_CODES["adverse_event"])
    assert labels.ae_term("iec_hs") == "IEC-HS (HLH-like syndrome)"
    assert labels.ae_term("tumor_lysis") == "Tumor lysis syndrome"
