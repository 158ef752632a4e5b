"""The words a reader sees for the export's codes, defined once for the whole report."""

from __future__ import annotations

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


def ae_term(term: str) -> str:
    """An AE code in words (a code outside the vocabulary as it is); the export's free text after the
    colon is never printed: it may identify a participant."""
    return AE_TERMS.get(term, term)
