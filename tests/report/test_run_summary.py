"""The run summary (the Markdown artifact of `pacer run`): aggregate numbers from the demo output, no participant data."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.report.run_summary import build_run_summary
from analysis.settings import AnalysisPlan
from analysis.store import update_manifest
from tests.demo_processed import copy_demo_processed


@pytest.fixture(scope="module")
def demo(demo_processed_original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo_processed(demo_processed_original, tmp_path_factory.mktemp("summary") / "out")


def test_summary_holds_open_session_counts_and_no_closed_results(demo: Path) -> None:
    markdown = build_run_summary(demo, AnalysisPlan())
    adsl = pd.read_parquet(demo / "adsl.parquet")
    assert "data cut 2026-11-01" in markdown
    assert f"| enrolled | {len(adsl)} |" in markdown
    assert f"| infused | {int(adsl['infused'].sum())} |" in markdown
    assert f"| CRS-evaluable | {int(adsl['crs_evaluable'].sum())} |" in markdown
    assert "not rendered yet" in markdown
    ard = pd.read_parquet(demo / "ard.parquet")
    severe = ard[(ard["analysis"] == "crs_rate") & (ard["group"] == "all") & (ard["variable"] == "crs_grade3plus")]
    stat = dict(zip(severe["stat_name"], severe["stat_value"]))
    assert f"{int(stat['n'])}/{int(stat['N'])}" not in markdown  # no outcome rate
    closed_words = ("grade ≥ 3", "Grade ≥ 4 CRS", "boundary", "BOUNDARY", "stopping rule", "Treatment-related death")
    assert not [word for word in closed_words if word in markdown]
    assert not re.search(r"\bp\s*[=<]|historical|\bCI\b", markdown)


def test_summary_never_names_a_participant_or_quotes_free_text(demo: Path) -> None:
    markdown = build_run_summary(demo, AnalysisPlan())
    participants = pd.read_parquet(demo / "participants.parquet")
    events = pd.read_parquet(demo / "events.parquet")
    assert not [pid for pid in participants["participant_id"] if pid in markdown]
    assert "PACER-" not in markdown
    free_text = {t for t in events["detail_text"].dropna().astype(str) if len(t) >= 5}
    assert not [t for t in free_text if t in markdown]


def test_summary_links_the_reports_the_manifest_records(demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in demo.iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    (folder / "report").mkdir()
    for name in ("dsmb_open_report.html", "dsmb_report.pdf"):
        (folder / "report" / name).write_text("x")
    update_manifest(
        folder,
        "report",
        {f"report/{n}": {"sha256": "0", "bytes": 1} for n in ("dsmb_open_report.html", "dsmb_report.pdf")},
        {},
    )
    markdown = build_run_summary(folder, AnalysisPlan())
    assert f"[DSMB open report (HTML)]({(folder / 'report' / 'dsmb_open_report.html').resolve().as_uri()})" in markdown
    assert "dsmb_report.pdf" not in markdown and "closed report (" not in markdown
    assert "not rendered yet" not in markdown
