"""The demo's processed tables and their CDISC export in every format, built once for the CDISC tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.export_step import ADAM_DIR, run_export
from tests.demo_processed import copy_demo_processed


@pytest.fixture(scope="session")
def demo_processed(demo_processed_original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo through ingest → derive → analyze (a copy), then ``pacer export --format xpt dataset-json csv``."""
    processed = copy_demo_processed(demo_processed_original, tmp_path_factory.mktemp("cdisc") / "demo")
    run_export(processed, ("xpt", "dataset-json", "csv"))
    return processed


@pytest.fixture(scope="session")
def demo_adam(demo_processed: Path) -> Path:
    """The demo's ``adam/`` folder."""
    return demo_processed / ADAM_DIR
