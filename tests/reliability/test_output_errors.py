"""A full disk, a read-only or forbidden output folder: one clear line, nothing half-written.

The tests run as root in CI, where chmod does not stop writes, so the OS errors are planted
(os.replace / os.open / the staged writes raising OSError with the errno a real fault gives);
a real one comes from RLIMIT_FSIZE in a child process (EFBIG), and a real read-only folder is
tried when the tests do not run as root.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from analysis import store
from analysis.store import OutputError
from tests.reliability.conftest import VARIANT_PLAN, DemoRun, copy_output, litter, run_worker, snapshot
from tests.reliability.test_step_atomicity import fail_on_move, fail_on_staged_write, run_step


@pytest.fixture(autouse=True)
def stand_in_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.report
    from tests.reliability.worker import canned_reports

    monkeypatch.setattr(pipelines.report, "render_reports", canned_reports)


def assert_one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("step", ["ingest", "derive", "analyze", "report"])
def test_disk_full_while_staging_is_one_line_and_changes_nothing(
    step: str, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    fail_on_staged_write(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))

    with pytest.raises(OutputError) as raised:
        run_step(step, out, VARIANT_PLAN)

    assert str(raised.value) == (
        f"the {step} step cannot write to the output folder {out}: no space left on the device; "
        "the previous outputs there are unchanged"
    )
    assert_one_line(str(raised.value))
    assert snapshot(out) == before
    assert litter(out) == []


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "no space left on the device"),
    ],
)
def test_an_error_while_moving_into_place_is_undone(
    code: int, words: str, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    target = out / "crs.parquet"
    fail_on_move(monkeypatch, out, 3, OSError(code, os.strerror(code), str(target)))

    with pytest.raises(OutputError) as raised:
        run_step("derive", out, VARIANT_PLAN)

    assert str(raised.value) == (
        f"the derive step cannot write to the output folder {out}: {words} ({target}); "
        "the previous outputs there are unchanged"
    )
    assert snapshot(out) == before
    assert litter(out) == []


def test_a_manifest_that_cannot_be_written_undoes_the_step(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    fail_on_move(
        monkeypatch, out, 3, OSError(errno.EACCES, "Permission denied", str(out / "manifest.json"))
    )  # 2 moves, then the manifest

    with pytest.raises(OutputError, match="permission denied"):
        run_step("analyze", out, VARIANT_PLAN)
    assert snapshot(out) == before
    assert litter(out) == []


@pytest.mark.parametrize(
    "code, words", [(errno.EACCES, "permission denied"), (errno.EROFS, "the file system is read-only")]
)
def test_a_folder_that_cannot_be_written_at_all(
    code: int, words: str, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even the lock file cannot be made: the step stops before any work."""
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if Path(path).parent == out and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError) as raised:
        run_step("derive", out, VARIANT_PLAN)
    assert str(raised.value) == (
        f"the derive step cannot write to the output folder {out}: {words} ({out / store.LOCK_NAME}); "
        "the previous outputs there are unchanged"
    )
    monkeypatch.undo()
    assert snapshot(out) == before


def test_the_flows_report_it_as_a_user_error(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.derive import run_derive
    from pipelines.outcome import as_user_outcome

    out = copy_output(demo_run.out, tmp_path / "out")
    fail_on_staged_write(monkeypatch, 1, OSError(errno.ENOSPC, "No space left on device"))
    state = as_user_outcome(run_derive, out, VARIANT_PLAN)
    assert state.is_failed()
    assert state.message.startswith(
        f"the derive step cannot write to the output folder {out}: no space left on the device"
    )


def test_a_real_file_size_limit_mid_step(demo_run: DemoRun, tmp_path: Path) -> None:
    """RLIMIT_FSIZE of 20 kB: the kernel refuses events.parquet (158 kB) with EFBIG after participants and quarantine were staged."""
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    result = run_worker("steps", str(out), "ingest", "--variant", "--file-size-limit", "20000")
    assert result.returncode == 3, result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"the ingest step cannot write to the output folder {out}: a file exceeds the size limit")
    assert message.endswith("the previous outputs there are unchanged")
    assert_one_line(message)
    assert snapshot(out) == before
    assert litter(out) == []


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes into a 0500 folder anyway; the planted EACCES tests cover it"
)
def test_a_real_read_only_folder(demo_run: DemoRun, tmp_path: Path) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    out.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            run_step("derive", out, VARIANT_PLAN)
    finally:
        out.chmod(0o750)
    assert snapshot(out) == before
