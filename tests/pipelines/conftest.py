"""The demo run end to end through `pacer run`'s flow, once per session (on Prefect's session harness, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.paths import DEMO_EXPORT


@pytest.fixture(scope="session")
def demo_output(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pacer run`'s flow on the demo export into a fresh folder (every step computed)."""
    from pipelines.run import run_flow

    out = tmp_path_factory.mktemp("demo") / "out"
    outcomes = run_flow(export=DEMO_EXPORT, out_dir=out)
    assert [(o.step, o.reused) for o in outcomes] == [
        ("ingest", False),
        ("derive", False),
        ("analyze", False),
        ("report", False),
    ]
    return out
