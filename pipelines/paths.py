"""Default locations: the committed demo export and the processed-output root."""

from __future__ import annotations

from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_EXPORT = PROJECT_ROOT / "data" / "raw" / "demo"
PROCESSED_ROOT = PROJECT_ROOT / "data" / "processed"


def default_out_dir(data_cut: date, parent: Path | None = None) -> Path:
    """outputs.md: by default ``data/processed/<data-cut>/``; ``<parent>/<data-cut>/`` when a parent is given (`pacer serve --out`)."""
    return (PROCESSED_ROOT if parent is None else Path(parent)) / data_cut.isoformat()
