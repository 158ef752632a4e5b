"""Validating and typing participants.csv (export-format.md, "participants.csv")."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.export.csv_table import LINE, CsvCells
from analysis.export.quarantine import RowProblems, not_a_number, parse_number
from analysis.export.text import TEXT
from analysis.export.timestamps import EARLIEST_YEAR, LATEST_YEAR, parse_instants

FILE = "participants.csv"
REQUIRED_COLUMNS = (
    "participant_id",
    "age_years",
    "sex",
    "weight_kg",
    "enrollment_date",
    "marrow_blast_pct",
    "prior_hsct",
)
BOOLEAN_TEXT = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
CNS_STATUSES = ("CNS1", "CNS2", "CNS3")
PLAIN_TOKEN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
"""An identifier a spreadsheet, a renderer and a reader all take literally: letters, digits, '-' and '_',
starting with a letter or digit (never a formula's =, +, -, @), at most 64 characters."""
PLAIN_TOKEN_RULE = "letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"


@dataclass(frozen=True)
class ValidatedParticipants:
    """Typed valid participant rows (with their ``line``) and the rows' problems."""

    participants: pd.DataFrame
    problems: RowProblems


def validate_participants(csv: CsvCells, timezone: str | None) -> ValidatedParticipants:
    """Apply every rule of the participants.csv table; return the typed rows that pass and the problems."""
    cells = csv.cells.copy()
    for optional in ("site_id", "infusion_datetime", "cns_status", "car_t_dose_per_kg"):
        if optional not in cells:
            cells[optional] = pd.Series("", index=cells.index, dtype=TEXT)
    problems = RowProblems(FILE, cells)

    participant_id = cells["participant_id"]
    problems.flag(participant_id == "", "participant_id", "participant_id is missing")
    _flag_unless_plain_token(cells, problems, "participant_id")
    _flag_unless_plain_token(cells, problems, "site_id")
    first_line = cells.groupby("participant_id")[LINE].transform("min")
    repeated = (participant_id != "") & (cells[LINE] != first_line)
    problems.flag(
        repeated, "participant_id", "participant_id is not unique: first given at line " + first_line.astype(str)
    )

    age = _number_in_range(
        cells, problems, "age_years", lambda x: (x >= 1) & (x < 27), "age_years must be at least 1 and below 27"
    )
    weight = _number_in_range(
        cells, problems, "weight_kg", lambda x: (x > 0) & (x < 250), "weight_kg must be above 0 and below 250"
    )
    blasts = _number_in_range(
        cells, problems, "marrow_blast_pct", lambda x: (x >= 0) & (x <= 100), "marrow_blast_pct must be 0 to 100"
    )
    dose = _number_in_range(
        cells, problems, "car_t_dose_per_kg", lambda x: x > 0, "car_t_dose_per_kg must be above 0", required=False
    )

    sex = cells["sex"].str.upper()
    problems.flag(~sex.isin(["M", "F"]), "sex", "sex must be M or F")

    enrollment = pd.to_datetime(
        cells["enrollment_date"].where(cells["enrollment_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False)),
        format="%Y-%m-%d",
        errors="coerce",
    )
    problems.flag(enrollment.isna(), "enrollment_date", "enrollment_date must be a date YYYY-MM-DD")
    outside = enrollment.notna() & ~enrollment.dt.year.between(EARLIEST_YEAR, LATEST_YEAR)
    problems.flag(outside, "enrollment_date", f"enrollment_date is outside the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    enrollment = enrollment.where(~outside)

    prior = cells["prior_hsct"].str.lower().map(BOOLEAN_TEXT)
    problems.flag(prior.isna(), "prior_hsct", "prior_hsct must be true/false, 1/0 or yes/no")

    cns = cells["cns_status"].str.upper()
    problems.flag((cns != "") & ~cns.isin(CNS_STATUSES), "cns_status", "cns_status must be CNS1, CNS2 or CNS3")

    infusion = parse_instants(
        cells["infusion_datetime"], timezone, file_name=FILE, column="infusion_datetime", lines=cells[LINE]
    )
    problems.flag(infusion.problem.notna(), "infusion_datetime", infusion.problem)

    typed = pd.DataFrame(
        {
            LINE: cells[LINE],
            "participant_id": participant_id.astype(TEXT),
            "site_id": cells["site_id"].replace("", pd.NA).astype(TEXT),
            "age_years": age,
            "sex": sex.astype(TEXT),
            "weight_kg": weight,
            "enrollment_date": enrollment.dt.date,
            "infusion_datetime": infusion.instant,
            "marrow_blast_pct": blasts,
            "prior_hsct": prior.astype("boolean"),
            "cns_status": cns.replace("", pd.NA).astype(TEXT),
            "car_t_dose_per_kg": dose,
            "infusion_time_ambiguous": infusion.ambiguous,
        }
    )
    valid = typed.drop(index=problems.rows())
    valid["prior_hsct"] = valid["prior_hsct"].astype(bool)
    return ValidatedParticipants(participants=valid, problems=problems)


def _flag_unless_plain_token(cells: pd.DataFrame, problems: RowProblems, column: str) -> None:
    """A given participant_id or site_id must be a plain token (PLAIN_TOKEN): anything else is quarantined.

    One rule for every identifier the outputs carry as text: no formula, markup, mathtext, line
    break, invisible or right-to-left character can hide in one (README, "What happens to bad data").
    """
    given = cells[column]
    plain = given.str.fullmatch(PLAIN_TOKEN).fillna(False).astype(bool)
    problems.flag((given != "") & ~plain, column, f"{column} must be a plain token ({PLAIN_TOKEN_RULE})")


def _number_in_range(
    cells: pd.DataFrame, problems: RowProblems, column: str, in_range, reason: str, *, required: bool = True
) -> pd.Series:
    text = cells[column]
    numbers = parse_number(text)
    if required:
        problems.flag(text == "", column, f"{column} is missing")
    problems.flag(not_a_number(text, numbers), column, f"{column} is not a number")
    problems.flag(numbers.notna() & ~in_range(numbers), column, reason)
    return numbers
