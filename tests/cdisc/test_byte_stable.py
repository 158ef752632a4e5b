"""Byte-stable CDISC files: they carry the export's data time, not the clock, so exporting the same outputs
again gives the same bytes (docs/cdisc.md, "Byte-stable files")."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis.cdisc.export import data_time
from analysis.cdisc.xpt import header_stamp, stamp_xpt
from pipelines.export_step import ADAM_DIR, run_export


def sha256_by_file(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_a_second_export_of_the_same_outputs_gives_the_same_bytes(demo_processed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(demo_processed, copy)
    shutil.rmtree(copy / ADAM_DIR)
    time.sleep(1.1)  # the stamps have whole seconds: the clock has moved on since the first export
    run_export(copy, ("xpt", "dataset-json", "csv"))
    first, second = sha256_by_file(demo_processed / ADAM_DIR), sha256_by_file(copy / ADAM_DIR)
    assert {"adsl.xpt", "adsl.json", "define.xml"} <= set(first)
    assert first == second


def test_the_files_carry_the_export_time_in_utc(demo_adam: Path) -> None:
    # the demo's manifest: exported_at 2026-11-01T09:00:00-06:00, i.e. 15:00 UTC
    xpt = (demo_adam / "adsl.xpt").read_bytes()
    assert xpt[144:160] == xpt[160:176] == b"01NOV26:15:00:00"
    member = xpt.find(b"HEADER RECORD*******DSCRPTR HEADER RECORD")
    assert xpt[member + 144 : member + 160] == xpt[member + 160 : member + 176] == b"01NOV26:15:00:00"
    document = json.loads((demo_adam / "adsl.json").read_text(encoding="utf-8"))
    assert document["datasetJSONCreationDateTime"] == "2026-11-01T15:00:00Z"
    assert 'CreationDateTime="2026-11-01T15:00:00+00:00"' in (demo_adam / "define.xml").read_text(encoding="utf-8")


def test_without_an_export_time_the_cut_instant_is_the_data_time() -> None:
    assert data_time({"exported_at": None, "cut_instant": "2026-11-02T00:00:00-06:00"}) == datetime(
        2026, 11, 2, 6, 0, tzinfo=UTC
    )
    assert data_time({"exported_at": "2026-11-01T09:00:00-06:00", "cut_instant": "2026-11-02T00:00:00-06:00"}) == (
        datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
    )
    with pytest.raises(ValueError, match="neither the export time nor the cut instant"):
        data_time({})


def test_the_header_stamp_is_english_whatever_the_month() -> None:
    assert header_stamp(datetime(2027, 2, 3, 4, 5, 6, tzinfo=UTC)) == b"03FEB27:04:05:06"
    assert header_stamp(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == b"31DEC26:23:30:00"


def test_a_file_without_the_headers_is_not_stamped() -> None:
    with pytest.raises(ValueError, match="no member descriptor record"):
        stamp_xpt(b"not a transport file" * 20, datetime(2026, 1, 1, tzinfo=UTC))
