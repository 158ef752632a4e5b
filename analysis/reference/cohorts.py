"""The historical cohorts of ``historical_cohorts.yaml``, typed and validated once.

The YAML is a verbatim copy of the team's shared reference (schema version 1): the published
figures of the tisagenlecleucel cohorts PACER is compared with (outputs.md, "Comparisons";
grading.md, "CRS, Penn scale", "Burden"). :func:`load_cohorts` reads it at the edge of the
analyze step and the analyses receive the typed :class:`HistoricalCohorts`; nothing under
``analysis/stats`` reads the file.

Typed here are the fields an analysis reads: identity (``id``, ``name``, ``nct``), the grading
(``crs_scale``, ``icans_grading``), the burden floor, the endpoint counts, ``confirmed`` and the
published outcome figures. Every other field of the reference (percentages, citations, notes …)
is kept as published and left untyped (pydantic's extra fields). Nothing is filled in: a null or
absent figure stays ``None`` (unknown, never zero), and ``confirmed`` stays as published.

A file that breaks the model is a settings error (:class:`CohortFileError`), one line naming the
cohort and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from analysis.settings import SettingsError

HISTORICAL_COHORTS_PATH = Path(__file__).resolve().parent / "historical_cohorts.yaml"
"""The project's verbatim copy of the shared reference."""

Count = Annotated[StrictInt, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100, strict=True)]
Text = Annotated[str, Field(strict=True)]


class CohortFileError(SettingsError):
    """The historical cohorts file cannot be used: one line naming the cohort and the field."""


class PublishedFigure(BaseModel):
    """One published estimate in percent, with its 95 % CI and the cohort's definition, as published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    estimate: Percent | None = None
    ci: tuple[Percent, Percent] | None = None
    definition: Text | None = None
    note: Text | None = None


class HistoricalCohort(BaseModel):
    """One published cohort (one entry of ``cohorts``); fields not listed here are kept untyped."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Annotated[str, Field(strict=True, min_length=1)]
    name: Text
    nct: tuple[Text, ...] | None = None
    n_infused: Count | None = None
    crs_scale: Literal["penn", "astct"] | None = None
    icans_grading: Text | None = None
    min_marrow_blast_pct: Percent | None = None
    crs_any_n: Count | None = None
    crs_grade3plus_n: Count | None = None
    crs_grade4plus_n: Count | None = None
    crs_grade4_n: Count | None = None
    crs_grade5_n: Count | None = None
    icans_any_n: Count | None = None
    icans_grade3plus_n: Count | None = None
    confirmed: StrictBool | None = None
    orr_3mo: PublishedFigure | None = None
    cr_best_response: PublishedFigure | None = None
    cr_cri_best_response_pct: Percent | None = None
    os_12mo: PublishedFigure | None = None
    efs_12mo: PublishedFigure | None = None
    rfs_responders_12mo: PublishedFigure | None = None

    @field_validator("nct", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        """The reference gives one NCT number as a string, several as a list."""
        return (value,) if isinstance(value, str) else value

    def count(self, field_name: str) -> int | None:
        """A typed count field (``crs_any_n`` …) by name; None when it is null (not reported)."""
        if field_name not in type(self).model_fields:
            raise KeyError(f"{field_name!r} is not a typed field of a historical cohort")
        return getattr(self, field_name)


class HistoricalCohorts(BaseModel):
    """The whole file: schema version 1 and its cohorts, ids unique, in the order of the file."""

    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: Literal[1]
    cohorts: Annotated[tuple[HistoricalCohort, ...], Field(min_length=1)]

    @field_validator("cohorts")
    @classmethod
    def _unique_ids(cls, cohorts: tuple[HistoricalCohort, ...]) -> tuple[HistoricalCohort, ...]:
        ids = [cohort.id for cohort in cohorts]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"duplicate cohort ids {duplicated}")
        return cohorts


def load_cohorts(path: Path | str = HISTORICAL_COHORTS_PATH) -> HistoricalCohorts:
    """Read and validate the historical cohorts file.

    Parameters
    ----------
    path : Path or str
        A YAML file of schema version 1 (default: the project's copy of the shared reference).

    Returns
    -------
    HistoricalCohorts
        The cohorts in the order of the file.

    Raises
    ------
    CohortFileError
        One line: the file, then for every problem the cohort (its ``id``, else its position) and
        the field, e.g. ``cohort 'eliana_2018', field 'crs_scale': Input should be 'penn' or 'astct' (got 'lee')``.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CohortFileError(f"{path}: cannot read the historical cohorts ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise CohortFileError(f"{path}: the historical cohorts are not valid YAML: {problem}") from exc
    try:
        return HistoricalCohorts.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(_describe(error, document) for error in exc.errors())
        raise CohortFileError(f"{path}: invalid historical cohorts: {problems}") from exc


def _describe(error: Any, document: Any) -> str:
    """One validation error as "cohort '<id>', field '<field>': <message>"."""
    location = error["loc"]
    message = error["msg"]
    if error["type"] not in ("missing", "extra_forbidden") and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    if len(location) >= 2 and location[0] == "cohorts" and isinstance(location[1], int):
        entry = document["cohorts"][location[1]]
        cohort_id = entry.get("id") if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        who = (
            f"cohort '{cohort_id}'"
            if isinstance(cohort_id, str) and cohort_id
            else f"cohort #{location[1] + 1}" + (f" ({name})" if isinstance(name, str) else "")
        )
        field = ".".join(str(part) for part in location[2:])
        return f"{who}, field '{field}': {message}" if field else f"{who}: {message}"
    return f"field '{'.'.join(str(part) for part in location)}': {message}" if location else message


__all__ = [
    "HISTORICAL_COHORTS_PATH",
    "CohortFileError",
    "HistoricalCohort",
    "HistoricalCohorts",
    "PublishedFigure",
    "load_cohorts",
]
