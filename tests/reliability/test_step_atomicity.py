"""A step's outputs land together or not at all.

Each step stages its files in ``.staging-<step>-<pid>/`` inside the output folder, moves them into
place and records them in manifest.json last. A fault between two writes, a fault while the files
are moved, or a process killed at either moment never leaves a mix of new and old outputs that
the manifest vouches for; the next run completes.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from analysis import store
from analysis.settings import AnalysisPlan
from analysis.store import file_sha256, read_manifest
from pipelines.paths import DEMO_EXPORT
from tests.reliability.conftest import VARIANT_PLAN, DemoRun, copy_output, litter, run_worker, snapshot
from tests.reliability.worker import canned_reports

STEP_FILES = {
    "ingest": ["events.parquet", "participants.parquet", "quarantine.parquet"],
    "derive": [
        "adsl.parquet",
        "adtte.parquet",
        "ae.parquet",
        "anakinra.parquet",
        "crs.parquet",
        "crs_timeline.parquet",
        "icans.parquet",
        "queries.parquet",
    ],
    "analyze": [
        "ard.parquet",
        "cif_curves.parquet",
        "comparison_notes.json",
        "comparison_plan.parquet",
        "km_curves.parquet",
        "map_prior_densities.parquet",
        "published_outcomes.parquet",
    ],
    "report": [
        "report/dsmb_open_report.html",
        "report/dsmb_open_report.pdf",
        "report/dsmb_report.html",
        "report/dsmb_report.pdf",
    ],
}
STAGED_WRITES = {"ingest": 3, "derive": 8, "analyze": 3, "report": 4}


class InjectedFault(RuntimeError):
    """The fault a test plants."""


def run_step(step: str, out: Path, plan: AnalysisPlan) -> object:
    """One step's own function on ``out`` (the report with stand-in documents: the writing is under test, not the rendering)."""
    if step == "ingest":
        from pipelines.ingest import run_ingest

        return run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=plan)
    if step == "derive":
        from pipelines.derive import run_derive

        return run_derive(out, plan)
    if step == "analyze":
        from pipelines.analyze import run_analyze

        return run_analyze(out, plan)
    from pipelines.report import run_report

    return run_report(out, plan, "2026-11-02T00:00:00+00:00")


@pytest.fixture(autouse=True)
def stand_in_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.report

    monkeypatch.setattr(pipelines.report, "render_reports", canned_reports)


def fail_on_staged_write(monkeypatch: pytest.MonkeyPatch, n: int, error: BaseException) -> dict[str, int]:
    """Make the n-th staged file write (write_table, write_json or write_bytes into a staging folder) raise ``error``."""
    calls = {"count": 0}
    for name in ("write_table", "write_json", "write_bytes"):
        real = getattr(store.tables, name)

        def wrapper(*args, _real=real, **kwargs):
            path = next(a for a in args if isinstance(a, Path))
            if any(part.startswith(store.STAGING_PREFIX) for part in path.parts) and path.name != store.COMMIT_RECORD:
                calls["count"] += 1
                if calls["count"] == n:
                    raise error
            return _real(*args, **kwargs)

        monkeypatch.setattr(store.tables, name, wrapper)
    return calls


def fail_on_move(monkeypatch: pytest.MonkeyPatch, out: Path, n: int, error: BaseException) -> None:
    """Make the n-th os.replace into ``out`` (a staged file moved into place, or manifest.json) raise ``error``."""
    real = os.replace
    calls = {"count": 0}

    def replace(source, target, *args, **kwargs):
        target = Path(target)
        if target.parent in (out, out / "report") and not target.name.startswith("."):
            calls["count"] += 1
            if calls["count"] == n:
                raise error
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def assert_consistent(out: Path) -> None:
    """Every file the manifest records is there with its SHA-256."""
    manifest = read_manifest(out)
    for record in manifest["steps"].values():
        for name in record["files"]:
            assert file_sha256(out / name) == manifest["files"][name]["sha256"], name


# --- in-process faults: an exception between two writes, or while moving into place -----------------


@pytest.mark.parametrize("step", ["ingest", "derive", "analyze", "report"])
@pytest.mark.parametrize("at", ["first", "last"])
def test_a_fault_between_writes_leaves_the_previous_output_intact(
    step: str, at: str, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    n = 2 if at == "first" else STAGED_WRITES[step]
    calls = fail_on_staged_write(monkeypatch, n, InjectedFault(f"fault at staged write {n}"))

    with pytest.raises(InjectedFault):
        run_step(step, out, VARIANT_PLAN)

    assert calls["count"] == n
    assert snapshot(out) == before, "the previous good output changed"
    assert litter(out) == []
    for name in STEP_FILES[step]:
        if name.endswith(".parquet"):
            pd.read_parquet(out / name)  # readable

    monkeypatch.undo()
    import pipelines.report

    monkeypatch.setattr(pipelines.report, "render_reports", canned_reports)
    outcome = run_step(step, out, VARIANT_PLAN)
    assert outcome.reused is False
    assert litter(out) == []
    assert_consistent(out)
    assert run_step(step, out, VARIANT_PLAN).reused is True


@pytest.mark.parametrize("n", [1, 2, 4])
def test_a_fault_while_moving_into_place_puts_every_previous_file_back(
    n: int, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """n = 1, 2: the first or second file moved; n = 4: manifest.json itself, after all three tables moved."""
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    fail_on_move(monkeypatch, out, n, InjectedFault(f"fault at move {n}"))

    with pytest.raises(InjectedFault):
        run_step("ingest", out, VARIANT_PLAN)

    assert snapshot(out) == before
    assert litter(out) == []
    monkeypatch.undo()
    assert run_step("ingest", out, VARIANT_PLAN).reused is False
    assert_consistent(out)


def test_a_first_run_that_fails_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_on_staged_write(monkeypatch, 2, InjectedFault("fault"))
    with pytest.raises(InjectedFault):
        run_step("ingest", tmp_path / "new", AnalysisPlan())
    assert not (tmp_path / "new").exists()


# --- killed processes (SIGKILL): before the commit record, and while moving into place --------------


@pytest.mark.parametrize("step", ["ingest", "derive", "analyze", "report"])
def test_a_run_killed_between_writes_leaves_the_previous_output_and_the_next_run_completes(
    step: str, demo_run: DemoRun, tmp_path: Path
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    n = STAGED_WRITES[step] // 2 + 1

    killed = run_worker("steps", str(out), step, "--variant", "--canned-report", "--kill-at-write", str(n))

    assert killed.returncode == -9, killed.stderr
    after = snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == before, "the previous good output changed"
    assert any(name.startswith(".staging-") for name in litter(out)), "the kill happened while staging"
    for name in STEP_FILES[step]:
        if name.endswith(".parquet"):
            pd.read_parquet(out / name)
    assert_consistent(out)

    finished = run_worker("steps", str(out), step, "--variant", "--canned-report")
    assert finished.returncode == 0, finished.stderr
    assert "done in" in finished.stdout
    assert litter(out) == []
    assert_consistent(out)


def test_a_run_killed_while_moving_into_place_is_completed_by_the_next_run(demo_run: DemoRun, tmp_path: Path) -> None:
    """Killed after 3 of the 8 derived tables were moved: the next step on the folder completes that commit first."""
    out = copy_output(demo_run.out, tmp_path / "out")

    killed = run_worker("steps", str(out), "derive", "--variant", "--kill-after-move", "3")

    assert killed.returncode == -9, killed.stderr
    manifest = read_manifest(out)
    stale = [name for name in STEP_FILES["derive"] if file_sha256(out / name) != manifest["files"][name]["sha256"]]
    assert len(stale) == 3, "the manifest does not vouch for the moved files: the step is not current"
    [staging] = [p for p in out.iterdir() if p.name.startswith(".staging-derive-")]
    committed = json.loads((staging / store.COMMIT_RECORD).read_text())

    with store.StepWriter(out, "derive"):  # what every step does first: finish an interrupted commit
        pass

    assert litter(out) == []
    assert_consistent(out)
    manifest = read_manifest(out)
    assert manifest["steps"]["derive"] == {**committed["details"], "files": STEP_FILES["derive"]}
    assert {name: file_sha256(out / name) for name in STEP_FILES["derive"]} == {
        name: entry["sha256"] for name, entry in committed["files"].items()
    }
    finished = run_worker("steps", str(out), "derive", "--variant")
    assert finished.returncode == 0, finished.stderr
    assert_consistent(out)


# --- idempotence ------------------------------------------------------------------------------------


def test_two_runs_on_the_same_bundle_and_cut_give_byte_identical_tables(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second folder from scratch, and the same folder recomputed (manifest removed): the same bytes."""
    monkeypatch.undo()  # real reports here
    from tests.reliability.conftest import run_demo_pipeline

    second = tmp_path / "second"
    run_demo_pipeline(second)
    tables = sorted(p.name for p in demo_run.out.glob("*.parquet"))
    assert len(tables) == 17  # the 12 of outputs.md, and beside the ARD map_prior_densities and the four report tables
    for name in [*tables, "comparison_notes.json"]:
        assert (second / name).read_bytes() == (demo_run.out / name).read_bytes(), name

    first_manifest = json.loads((demo_run.out / "manifest.json").read_text())
    second_manifest = json.loads((second / "manifest.json").read_text())
    moments = {
        first_manifest["steps"]["ingest"]["run_time"]: "TIME",
        first_manifest["steps"]["report"]["rendered_at"]: "TIME",
    }
    later = {
        second_manifest["steps"]["ingest"]["run_time"]: "TIME",
        second_manifest["steps"]["report"]["rendered_at"]: "TIME",
    }
    for name in ("dsmb_open_report.html", "dsmb_report.html"):
        assert normalized(demo_run.out / "report" / name, moments) == normalized(second / "report" / name, later), name
    for name in ("dsmb_open_report.pdf", "dsmb_report.pdf"):
        assert pdf_text(demo_run.out / "report" / name, moments) == pdf_text(second / "report" / name, later), name

    (second / "manifest.json").unlink()
    for step in ("ingest", "derive", "analyze"):
        assert run_step(step, second, AnalysisPlan()).reused is False
    for name in [*tables, "comparison_notes.json"]:
        assert (second / name).read_bytes() == (demo_run.out / name).read_bytes(), name


def normalized(path: Path, moments: dict[str, str]) -> str:
    text = path.read_text(encoding="utf-8")
    for moment, label in moments.items():
        text = text.replace(moment, label)
    return text


def pdf_text(path: Path, moments: dict[str, str]) -> list[str]:
    from pypdf import PdfReader

    pages = []
    for page in PdfReader(path).pages:
        text = page.extract_text()
        for moment, label in moments.items():
            text = text.replace(moment, label)
        pages.append(text)
    return pages


def test_the_fault_errno_of_a_full_disk_is_not_mistaken_for_a_defect() -> None:
    assert store.is_user_os_error(OSError(errno.ENOSPC, "No space left on device"))
    assert not store.is_user_os_error(OSError(errno.EIO, "Input/output error"))
    assert not store.is_user_os_error(BlockingIOError(errno.EAGAIN, "busy"))
