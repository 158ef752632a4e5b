"""grading.md "The cut cannot outrun the data" and the export's time zone: refusals with both values named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analysis.export.bundle import read_bundle
from analysis.export.errors import ExportError
from analysis.export.ingest import ingest_bundle
from tests.export.bundle_builder import MANIFEST, write_bundle

# MANIFEST: exported_at 2026-04-01T09:00:00-05:00, America/Chicago; first enrollment P001 2026-01-05.


def ingest(folder: Path, **kwargs):
    return ingest_bundle(read_bundle(folder), **kwargs)


def test_cut_after_the_export_date_is_refused_naming_both_dates(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as raised:
        ingest(write_bundle(tmp_path / "b"), data_cut=date(2030, 1, 1))
    assert str(raised.value) == (
        f"{tmp_path / 'b'}: the data cut 2030-01-01 is after the export date 2026-04-01: "
        "the cut cannot outrun the data; pass --data-cut 2026-04-01 or earlier"
    )


def test_cut_on_the_export_date_is_accepted(tmp_path: Path) -> None:
    assert ingest(write_bundle(tmp_path / "b"), data_cut=date(2026, 4, 1)).data_cut == date(2026, 4, 1)


def test_export_date_is_read_in_the_exports_time_zone(tmp_path: Path) -> None:
    # 2026-04-02T03:00Z is still 2026-04-01 (22:00) in Chicago: the cut 2026-04-02 outruns the export.
    manifest = {**MANIFEST, "exported_at": "2026-04-02T03:00:00+00:00"}
    with pytest.raises(ExportError, match="the data cut 2026-04-02 is after the export date 2026-04-01"):
        ingest(write_bundle(tmp_path / "b", manifest=manifest), data_cut=date(2026, 4, 2))


def test_cut_before_the_first_enrollment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as raised:
        ingest(write_bundle(tmp_path / "b"), data_cut=date(2026, 1, 4))
    assert str(raised.value).endswith(
        "the data cut 2026-01-04 is before the first enrollment 2026-01-05: no participant would be analysed; "
        "pass --data-cut 2026-01-05 or later"
    )


def test_cut_on_the_first_enrollment_day_is_accepted(tmp_path: Path) -> None:
    result = ingest(write_bundle(tmp_path / "b"), data_cut=date(2026, 1, 5))
    assert result.participants["participant_id"].tolist() == ["P001"]


def test_without_export_date_the_latest_event_bounds_the_cut(tmp_path: Path) -> None:
    # The latest event of base_events() is P002's response assessment, 2026-03-20T10:00 Chicago.
    manifest = {k: v for k, v in MANIFEST.items() if k != "exported_at"}
    folder = write_bundle(tmp_path / "b", manifest=manifest)
    assert ingest(folder, data_cut=date(2026, 3, 20)).data_cut == date(2026, 3, 20)
    with pytest.raises(ExportError, match="the data cut 2026-03-21 is after the latest event date 2026-03-20"):
        ingest(folder, data_cut=date(2026, 3, 21))


def test_timezone_option_conflicting_with_the_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as raised:
        ingest(write_bundle(tmp_path / "b"), timezone="Europe/Paris")
    assert str(raised.value).endswith(
        "--timezone Europe/Paris conflicts with the manifest's timezone America/Chicago; "
        "--timezone applies only to an export whose manifest has none: drop it"
    )


def test_timezone_option_equal_to_the_manifest_is_accepted(tmp_path: Path) -> None:
    assert ingest(write_bundle(tmp_path / "b"), timezone="America/Chicago").timezone == "America/Chicago"
