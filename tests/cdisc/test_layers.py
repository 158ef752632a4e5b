"""The CDISC code keeps to its layers: the ADaM writer reads output tables only; the SDTM reader is export-layer code."""

from __future__ import annotations

import ast
from pathlib import Path

ANALYSIS = Path(__file__).parents[2] / "analysis"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_adam_writer_never_imports_stats_or_derive() -> None:
    for path in (ANALYSIS / "cdisc").glob("*.py"):
        modules = imported_modules(path)
        assert not any(name.startswith(("analysis.stats", "analysis.derive")) for name in modules), path.name


def test_the_sdtm_reader_imports_only_the_export_layer() -> None:
    modules = {name for name in imported_modules(ANALYSIS / "export" / "sdtm.py") if name.startswith("analysis")}
    assert modules and all(name.startswith("analysis.export") for name in modules), modules
