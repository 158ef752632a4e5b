"""The report flow (pipelines/report.py) on a synthetic output folder: thin wiring around analysis.report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.builders import TYPICAL, build_output_folder

pytestmark = pytest.mark.flow


def test_report_flow_writes_both_reports_and_records_them(prefect_harness: None, tmp_path: Path) -> None:
    from pipelines.report import report_flow

    build_output_folder(tmp_path, TYPICAL)
    outcome = report_flow(tmp_path)
    assert outcome.step == "report" and not outcome.reused
    for name in ("dsmb_open_report.html", "dsmb_open_report.pdf", "dsmb_report.html", "dsmb_report.pdf"):
        assert (tmp_path / "report" / name).stat().st_size > 1000
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest["steps"]["report"]["files"]) == sorted(
        f"report/{n}" for n in ("dsmb_open_report.html", "dsmb_open_report.pdf", "dsmb_report.html", "dsmb_report.pdf")
    )
    assert report_flow(tmp_path).reused


def test_report_flow_without_the_tables_is_a_user_error(prefect_harness: None, tmp_path: Path) -> None:
    from pipelines.report import report_flow

    state = report_flow(tmp_path, return_state=True)
    assert state.is_failed()
