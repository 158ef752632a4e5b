"""The layer contract, read from the source (AST): which package may import which.

Layers, bottom to top (README, "Architecture"):

0. base — every module directly under ``analysis/`` (``settings``, ``units``, ``participant_vars``, ``store``,
   ``runlog`` …), every package that is not a layer (``analysis/reference``: the typed historical
   cohorts) and the controlled vocabulary ``analysis/export/vocabulary.py``; importable by all, importing
   no layer;
1. ``analysis/export`` — reading and validating the export bundle;
2. ``analysis/derive`` — the clinical derivations of grading.md;
3. ``analysis/stats`` — the statistics, whose results land in the ARD and the tables beside it;
4. ``analysis/report`` — formatting only: it imports base modules and itself, nothing of
   ``analysis/stats`` or ``analysis/derive`` (nor export), and reads no YAML; beside it ``analysis/cdisc``,
   which writes the CDISC datasets from an output folder;
5. top — ``pipelines/`` (the steps and the command line) and ``analysis/explore.py`` (the notebooks'
   helpers): they may import everything.

A layer never imports from a layer above it. ``analysis/simulate`` is a generator of test and
demonstration exports: it imports base and export modules only (it writes the export format, SDTM through
the reader's own mapping), and nothing in ``analysis/`` imports it (only
``pipelines/``, the tests and the benchmarks do). ``analysis/stats`` reads no YAML and no hard-coded
reference path: the historical cohorts are loaded once by the analyze step and passed in.

Every import statement counts, also one inside a function (a lazy import of a heavy package).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = {"export": 1, "schemas": 1, "derive": 2, "stats": 3, "report": 4, "cdisc": 4}
"""The layer packages of ``analysis/`` and their rank; base is 0, top is 5. ``analysis/schemas`` (the output
tables' pandera models) sits with export, whose constants it reads; ``analysis/cdisc`` (the ADaM,
Define-XML and cards outputs) formats an output folder as the report does."""
BASE, TOP = 0, 5
BASE_MODULES = ("analysis.export.vocabulary",)
"""Modules of a layer package that are base: the controlled vocabulary of export-format.md (drug classes, codes)
is the one dictionary that the settings, every layer and the report read; it imports no project module."""
TOP_MODULES = {"analysis.explore"}
"""Modules of ``analysis/`` that sit on top, beside ``pipelines/``: they combine the layers for the notebooks."""
SIMULATE = "analysis.simulate"


def module_name(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    """Every module of ``analysis/`` and ``pipelines/``."""
    paths = sorted((REPO / "analysis").rglob("*.py")) + sorted((REPO / "pipelines").rglob("*.py"))
    return {module_name(path): path for path in paths}


def imports(path: Path, root: Path = REPO) -> Iterator[str]:
    """Every module an import statement of ``path`` names (``from a.b import c`` names ``a.b`` and ``a.b.c``)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def rank(module: str) -> int | None:
    """The layer rank of a module of the project; None for a third-party module or ``analysis.simulate``."""
    parts = module.split(".")
    if parts[0] == "pipelines" or module in TOP_MODULES:
        return TOP
    if parts[0] != "analysis" or module.startswith(SIMULATE):
        return None
    if len(parts) == 1 or any(module == base or module.startswith(f"{base}.") for base in BASE_MODULES):
        return BASE
    return LAYERS.get(parts[1], BASE)


MODULES = source_modules()


def test_the_layers_are_found():
    ranks = {rank(name) for name in MODULES}
    assert {BASE, 1, 2, 3, 4, TOP} <= ranks
    assert rank("analysis.settings") == rank("analysis.reference.cohorts") == BASE
    assert rank("analysis.export.vocabulary.MASKING_DRUGS") == BASE and rank("analysis.export.ingest") == 1
    assert rank("analysis.report.sections") == 4 and rank("pipelines.cli") == TOP


@pytest.mark.parametrize("name", sorted(n for n in MODULES if rank(n) is not None))
def test_no_layer_imports_from_a_layer_above_it(name: str):
    own = rank(name)
    upward = sorted(
        imported for imported in set(imports(MODULES[name])) if (other := rank(imported)) is not None and other > own
    )
    assert not upward, f"{name} (layer {own}) imports from above: {upward}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("analysis.report")))
def test_the_report_imports_only_base_modules_and_itself_and_reads_no_yaml(name: str):
    path = MODULES[name]
    found = sorted(
        imported
        for imported in set(imports(path))
        if (other := rank(imported)) is not None and other != BASE and not imported.startswith("analysis.report")
    )
    assert not found, f"{name} imports {found}: the report formats what the output folder holds"
    readers = sorted(i for i in set(imports(path)) if i.startswith(("yaml", "ruamel", "analysis.reference")))
    assert not readers, f"{name} reads YAML or the reference: {readers}"
    text = path.read_text(encoding="utf-8")
    assert ".yaml" not in text and ".yml" not in text, f"{name} names a YAML file"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("analysis.stats")))
def test_stats_reads_no_yaml_and_no_reference_path(name: str):
    """The historical cohorts reach the statistics as typed objects, loaded once at the edge."""
    names = set(imports(MODULES[name]))
    assert not any(i == "yaml" or i.startswith(("yaml.", "ruamel")) for i in names), f"{name} imports a YAML reader"
    forbidden = {"analysis.reference.cohorts.load_cohorts", "analysis.reference.cohorts.HISTORICAL_COHORTS_PATH"}
    assert not names & forbidden, f"{name} reads the cohorts file itself: {sorted(names & forbidden)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("analysis.")))
def test_simulate_is_a_generator_apart(name: str):
    """``analysis/simulate`` imports base and export modules only; no other module of ``analysis/`` imports it."""
    names = set(imports(MODULES[name]))
    if name.startswith(SIMULATE):
        layered = sorted(i for i in names if (other := rank(i)) is not None and other > LAYERS["export"])
        assert not layered, f"{name} imports {layered}: the simulator writes exports, it derives and analyses nothing"
    else:
        assert not any(i.startswith(SIMULATE) for i in names), f"{name} imports the simulator"


def test_the_checker_sees_a_violation(tmp_path: Path):
    """The AST reader finds imports at any depth and resolves relative ones (a checker that cannot fail is none)."""
    package = tmp_path / "analysis" / "report"
    package.mkdir(parents=True)
    module = package / "bad.py"
    module.write_text(
        "from . import fmt\n"
        "def late():\n"
        "    from analysis.stats.kaplan_meier import kaplan_meier\n"
        "    import analysis.derive.crs\n",
        encoding="utf-8",
    )
    found = set(imports(module, root=tmp_path))
    assert {"analysis.report", "analysis.report.fmt", "analysis.stats.kaplan_meier", "analysis.derive.crs"} <= found
    assert rank("analysis.stats.kaplan_meier") > rank("analysis.derive.crs") > rank("analysis.export.ingest") > BASE
