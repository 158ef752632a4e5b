"""What a run says and refuses before it writes: the cut's counts, a folder holding another export or cut, fail-fast checks.

The counts are the demo export's, worked out from ``data/raw/demo/participants.csv`` by hand:
45 rows, 40 with an infusion time; at a cut of 2026-06-30, 7 enrolled after it (2026-07-03,
09-19, 09-22, 09-24, 09-28, 10-13, 10-27), and 35 of the 38 left were infused by then.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.runlog import read_runs
from analysis.settings import AnalysisPlan
from pipelines.cli import app
from pipelines.ingest import overwrite_refusal, run_ingest
from pipelines.paths import DEMO_EXPORT
from pipelines.serve import deployment_parameters
from pipelines.steps import cut_counts_line

runner = CliRunner()


def ingest_demo(out: Path, data_cut: date | None = None) -> Path:
    """The demo export's ingest into ``out`` (without Prefect)."""
    run_ingest(DEMO_EXPORT, data_cut=data_cut, out_dir=out, time_zone=None, plan=AnalysisPlan())
    return out


@pytest.fixture(scope="module")
def demo_ingest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_demo(tmp_path_factory.mktemp("ingest") / "out")


def test_the_cut_line_counts_enrolled_infused_and_left_out(demo_ingest: Path, tmp_path: Path) -> None:
    assert (
        cut_counts_line(demo_ingest) == "cut 2026-11-01: 45 enrolled, 40 infused, 0 left out (enrolled after the cut)"
    )
    earlier = ingest_demo(tmp_path / "june", date(2026, 6, 30))
    assert cut_counts_line(earlier) == "cut 2026-06-30: 38 enrolled, 35 infused, 7 left out (enrolled after the cut)"


def test_the_same_export_and_cut_may_be_rewritten(demo_ingest: Path, tmp_path: Path) -> None:
    assert overwrite_refusal(demo_ingest, DEMO_EXPORT, None, None) is None
    assert overwrite_refusal(demo_ingest, DEMO_EXPORT, date(2026, 11, 1), None) is None
    assert overwrite_refusal(tmp_path / "new", DEMO_EXPORT, None, None) is None


def test_another_cut_or_export_in_the_folder_is_refused_in_one_line(demo_ingest: Path) -> None:
    result = runner.invoke(app, ["run", "--out", str(demo_ingest), "--data-cut", "2026-10-15"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: output folder {demo_ingest} holds the outputs of this export ({DEMO_EXPORT}) at data cut "
        f"2026-11-01, not of {DEMO_EXPORT} at data cut 2026-10-15; give another --out, or --force to replace them"
    ]
    historical = DEMO_EXPORT.parent / "demo_historical"
    result = runner.invoke(app, ["ingest", "--out", str(demo_ingest), "--export", str(historical)])
    assert result.exit_code == 2
    assert "holds the outputs of another export" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_folder_of_somebody_elses_files_is_refused_even_with_force(tmp_path: Path, force: list[str]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the statistician's own notes")
    (out / "runs.jsonl").write_text("")  # a run log alone is the pipeline's
    for command in ("run", "ingest"):
        result = runner.invoke(app, [command, "--out", str(out), *force])
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"error: output folder {out} holds files that are not a pacer run's outputs (notes.txt; no manifest.json); "
            "give an empty or new folder with --out (--force never replaces files the pipeline did not write)"
        ]
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt", "runs.jsonl"]
    assert (out / "notes.txt").read_text() == "the statistician's own notes"


@pytest.mark.flow
def test_force_replaces_another_cut_and_keeps_nothing_of_it(prefect_harness: None, tmp_path: Path) -> None:
    out = ingest_demo(tmp_path / "out")
    (out / "report").mkdir()
    stale = out / "report" / "old.html"
    stale.write_text("the previous cut's report")
    result = runner.invoke(app, ["ingest", "--out", str(out), "--data-cut", "2026-06-30", "--force"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["steps"]["ingest"]["data_cut"] == "2026-06-30"
    assert not stale.exists()
    assert [record["data_cut"] for record in read_runs(out / "runs.jsonl")] == ["2026-06-30"], "the log is kept"
    assert "cut 2026-06-30: 38 enrolled, 35 infused, 7 left out (enrolled after the cut)" in result.stdout


def test_serve_out_is_the_folder_of_the_runs(tmp_path: Path) -> None:
    parameters = deployment_parameters(DEMO_EXPORT, tmp_path / "runs", None)
    assert parameters["out_parent"] == str((tmp_path / "runs").resolve())
    assert "out_dir" not in parameters


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "--export", "/nonexistent/bundle.zip"], "export: export bundle /nonexistent/bundle.zip not found"),
        (["run", "--data-cut", "2026-13-01"], "--data-cut '2026-13-01' is not a date YYYY-MM-DD"),
        (
            ["ingest", "--settings", "/nonexistent/plan.toml"],
            "settings: settings file /nonexistent/plan.toml not found",
        ),
    ],
)
def test_bad_parameters_fail_before_any_server(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr


def test_a_later_step_names_the_command_to_run_first(demo_ingest: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--processed", str(demo_ingest)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --processed {demo_ingest}: the derive step has not run there; "
        f"run `pacer derive --processed {demo_ingest}` first"
    ]
    result = runner.invoke(app, ["analyze", "--processed", str(tmp_path)])
    assert result.exit_code == 2
    assert f"run `pacer ingest --out {tmp_path}` (or `pacer run --out {tmp_path}`) first" in result.stderr


def test_pacer_server_starts_prefect_with_its_telemetry_off() -> None:
    from pipelines.prefect_server import offline_server_command

    argv, environ = offline_server_command(
        {"PATH": "/usr/bin", "DO_NOT_TRACK": "0", "PREFECT_SERVER_ANALYTICS_ENABLED": "true"}, "127.0.0.1", 4200
    )
    assert argv[1:] == ["server", "start", "--host", "127.0.0.1", "--port", "4200"]
    assert Path(argv[0]).name == "prefect" and Path(argv[0]).is_file()
    assert environ == {"PATH": "/usr/bin", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
