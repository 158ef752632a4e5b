"""The words a reader sees for the export's codes, defined once for the whole report."""

from __future__ import annotations

import pandas as pd

AE_TERMS: dict[str, str] = {
    "infection": "Infection",
    "febrile_neutropenia": "Febrile neutropenia",
    "neutropenia": "Neutropenia",
    "thrombocytopenia": "Thrombocytopenia",
    "anemia": "Anemia",
    "iec_hs": "IEC-HS (HLH-like syndrome)",
    "hypogammaglobulinemia": "Hypogammaglobulinemia",
    "tumor_lysis": "Tumor lysis syndrome",
    "other": "Other",
}
"""export-format.md, ``adverse_event``: each AE code of the vocabulary in words."""

AE_OUTCOMES: dict[str, str] = {"fatal": "fatal", "resolved": "resolved", "ongoing": "ongoing at the cut"}
"""``ae.parquet`` ``outcome`` in words."""


def ae_term(term: str, text: object = None) -> str:
    """An AE code in words, with the free text after the colon in brackets: ``Infection (bacteremia)``.

    Parameters
    ----------
    term : str
        The export's AE code; a code outside the vocabulary is shown as it is.
    text : object
        The free text of the term, or missing.

    Returns
    -------
    str
        The label.
    """
    label = AE_TERMS.get(term, term)
    if text is None or pd.isna(text) or not str(text).strip():
        return label
    return f"{label} ({str(text).strip()})"
