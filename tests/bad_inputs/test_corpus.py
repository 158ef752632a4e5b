"""Every bundle of the bad-input corpus ends exactly as cases.yaml says: refused, quarantined or kept.

Each case runs ``read_bundle`` + ``ingest_bundle`` (no Prefect) under a time bound; a case with a
memory bound runs in a subprocess that reports its own peak memory. Only ExportError may stop a
case: any other exception fails the test with its traceback. Whatever the case, a refusal is exactly
one line on stderr as ``pacer`` prints it, and a bundle that goes on keeps the reconciliation with no
live formula in any text cell of participants, events or the quarantine.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bad_inputs.corpus import HERE, bundle_path, load_cases, run_case

CASES = load_cases()
REPO = HERE.parent.parent
DEFAULT_SECONDS = 10
COUNT_FIELDS = ("read", "kept", "quarantined", "duplicates", "left_out_by_cut")


def test_the_corpus_has_at_least_40_cases_each_with_its_bundle() -> None:
    names = [case["case"] for case in CASES]
    assert len(names) == len(set(names)) >= 40
    for case in CASES:
        assert case["expect"] in {"refused", "quarantined", "kept"}, case["case"]
        assert ("generate" in case) != ("bundle" in case), case["case"]
        if "bundle" in case:
            assert (HERE / case["bundle"]).exists(), case["case"]
    committed = {p.name for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("__", "."))} | {p.name for p in HERE.glob("*.zip")}
    assert committed == {case["bundle"] for case in CASES if "bundle" in case}, "a bundle folder without a case, or the reverse"


@pytest.mark.parametrize("case", CASES, ids=[case["case"] for case in CASES])
def test_case_ends_as_expected(case: dict[str, Any], tmp_path: Path) -> None:
    path = bundle_path(case, tmp_path)
    limits = case.get("limits", {})
    seconds = limits.get("seconds", DEFAULT_SECONDS)
    if "memory_mb" in limits:
        outcome = _run_in_subprocess(case, path, seconds)
        assert outcome["peak_rss_above_baseline_mb"] < limits["memory_mb"], outcome["peak_rss_above_baseline_mb"]
    else:
        outcome = _run_with_time_bound(case, path, seconds)
    assert outcome["seconds"] < seconds

    assert outcome["outcome"] == case["expect"], outcome.get("message") or outcome.get("quarantine")
    if case["expect"] == "refused":
        assert case["message"] in outcome["message"]
        assert _printed_refusal(outcome["message"]) == [f"error: {outcome['message']}"]
        return
    assert outcome["live_formulas"] == []
    _assert_quarantine(outcome["quarantine"], case.get("quarantine", []))
    assert all(outcome["balanced"].values()), outcome["counts"]
    for file_name, expected in case.get("counts", {}).items():
        assert outcome["counts"][file_name] == {field: expected[field] for field in COUNT_FIELDS}, file_name
    for expected in case.get("events", []):
        kept = outcome["events"].get(str(expected["line"])) or outcome["events"].get(expected["line"])
        assert kept is not None, f"events.csv line {expected['line']} is not among the kept events"
        for column, value in expected.items():
            if column == "line":
                continue
            if isinstance(value, float):
                assert math.isclose(kept[column], value, abs_tol=1e-9), (column, kept[column])
            else:
                assert kept[column] == value, (column, kept[column])
    if "date_query" in case:
        assert case["date_query"] in outcome["date_queries"]


def _printed_refusal(message: str) -> list[str]:
    """The lines ``pacer`` prints on stderr for a refusal (its exit code checked: 2)."""
    import typer

    from pipelines.cli import USER_ERROR, fail

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(typer.Exit) as stopped:
        fail(message)
    assert stopped.value.exit_code == USER_ERROR
    return stderr.getvalue().splitlines()


def _assert_quarantine(found: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Exactly the expected rows, in order: file, line and column equal, value equal when given, reason contained."""
    assert len(found) == len(expected), found
    for row, want in zip(found, expected):
        assert (row["file"], row["line"], row["column"]) == (want["file"], want["line"], want["column"]), row
        if "value" in want:
            assert row["value"] == want["value"], row
        assert want["reason"] in row["reason"], row


def _run_with_time_bound(case: dict[str, Any], path: Path, seconds: float) -> dict[str, Any]:
    """Run the case in a daemon thread; fail (rather than hang) when it is not done in time."""
    box: dict[str, Any] = {}

    def target() -> None:
        started = time.perf_counter()
        try:
            box["outcome"] = run_case(case, path)
        except BaseException as exc:  # re-raised below with its traceback
            box["error"] = exc
        box["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{case['case']}: still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return {**box["outcome"], "seconds": box["seconds"]}


def _run_in_subprocess(case: dict[str, Any], path: Path, seconds: float) -> dict[str, Any]:
    """Run the case in a fresh interpreter (imports are not timed); its JSON outcome with seconds and peak memory."""
    done = subprocess.run([sys.executable, "-m", "tests.bad_inputs.corpus", case["case"], str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=seconds + 60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
