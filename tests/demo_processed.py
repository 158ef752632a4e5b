"""The demo export put through ingest → derive → analyze in-process (no Prefect), for tests that read an output folder.

The session fixture ``demo_processed_original`` (tests/conftest.py) builds it once per test process; a test takes a
copy (:func:`copy_demo_processed`) and never writes into the original.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.settings import AnalysisPlan
from pipelines.analyze import run_analyze
from pipelines.derive import run_derive
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT


def build_demo_processed(out: Path, plan: AnalysisPlan | None = None) -> Path:
    """Write the demo's processed tables and ``ard.parquet`` into ``out`` (no report); return ``out``."""
    plan = plan or AnalysisPlan()
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=plan)
    run_derive(out, plan)
    run_analyze(out, plan)
    return out


def copy_demo_processed(original: Path, target: Path) -> Path:
    """A copy of the demo's processed folder ``original`` at ``target`` (modes and times kept); return ``target``."""
    shutil.copytree(original, target, copy_function=shutil.copy2)
    return target
