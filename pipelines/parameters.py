"""Run parameters, validated before any work: a bad one fails with one clear line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from analysis.export.errors import ExportError


class RunParameters(BaseModel):
    """What a biostatistician chooses for one run (the CLI's options, the deployment's parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    export: Path
    data_cut: date | None = None
    out_dir: Path | None = None
    time_zone: str | None = None
    settings: Path | None = None
    historical_export: Path | None = None

    @field_validator("export", "historical_export")
    @classmethod
    def export_exists(cls, path: Path | None) -> Path | None:
        """An export bundle must be there (a folder or a .zip)."""
        if path is not None and not path.exists():
            raise ValueError(f"export bundle {path} not found")
        return path

    @field_validator("settings")
    @classmethod
    def settings_exists(cls, path: Path | None) -> Path | None:
        """A settings file, when given, must be there."""
        if path is not None and not path.is_file():
            raise ValueError(f"settings file {path} not found")
        return path

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, name: str | None) -> str | None:
        """An IANA time-zone name."""
        if name is not None:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"'{name}' is not an IANA time zone name") from exc
        return name


def validate_run_parameters(**values: object) -> RunParameters:
    """Build :class:`RunParameters`; an invalid value raises ExportError with one line naming it."""
    try:
        return RunParameters(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise ExportError(f"invalid parameters: {problems}") from exc
