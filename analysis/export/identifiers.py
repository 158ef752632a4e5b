"""The direct-identifier guard of export-format.md, "What bad input gets"."""

from __future__ import annotations

from analysis.export.errors import ExportError

IDENTIFIER_NAMES = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "patient_name",
        "mrn",
        "medical_record_number",
        "dob",
        "birth_date",
        "date_of_birth",
        "address",
        "street",
        "city",
        "zip",
        "zipcode",
        "postal_code",
        "phone",
        "telephone",
        "email",
        "e_mail",
        "ssn",
    }
)
IDENTIFIER_FRAGMENTS = ("mrn", "ssn", "email", "phone", "birth")


def normalize_column_name(name: str) -> str:
    """Column names are matched case-insensitively after trimming; spaces and hyphens read as underscores."""
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def is_identifier_column(normalized_name: str) -> bool:
    """True for a column whose normalized name is, or contains, a direct-identifier name."""
    return normalized_name in IDENTIFIER_NAMES or any(f in normalized_name for f in IDENTIFIER_FRAGMENTS)


def refuse_identifier_columns(file_name: str, header: list[str]) -> None:
    """Stop the run, naming the column, when a header carries a direct identifier.

    Raises
    ------
    ExportError
        for the first identifier column found; nothing of the file reaches the processed data.
    """
    for raw in header:
        if is_identifier_column(normalize_column_name(raw)):
            raise ExportError(
                f"{file_name}: column '{raw.strip()}' looks like a direct identifier; "
                "identifiers are refused (export-format.md) — remove the column and export again"
            )
