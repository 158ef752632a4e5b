"""The exploratory notebooks (notebooks/*.py, Jupytext percent format) run without error on the demo output.

The demo export goes through ingest → derive → analyze in-process (no Prefect) into a temporary
folder; each notebook is read with Jupytext and executed with nbclient on a kernel spec written to
a temporary folder that points at this Python (pipelines/notebooks.py), so no Jupyter kernel needs
to be installed for the user.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines.notebooks import NOTEBOOKS, NOTEBOOKS_DIR, execute_notebook, notebook_source
from tests.demo_processed import copy_demo_processed

CELL_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def demo(demo_processed_original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo's processed folder (`pacer notebooks` writes into it)."""
    return copy_demo_processed(demo_processed_original, tmp_path_factory.mktemp("notebooks") / "out")


def outputs_text(notebook) -> str:
    """Every text output of the executed notebook (streams, plain-text and HTML results, errors)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            data = output.get("data", {})
            parts.extend(str(data.get(kind, "")) for kind in ("text/plain", "text/html", "text/markdown"))
            parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def test_every_notebook_is_a_committed_percent_script_paired_with_ipynb() -> None:
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.py")) == sorted(NOTEBOOKS)
    assert 'formats = "ipynb,py:percent"' in (NOTEBOOKS_DIR / "jupytext.toml").read_text()
    for name in NOTEBOOKS:
        text = notebook_source(name).read_text(encoding="utf-8")
        assert "formats: ipynb,py:percent" in text and "# %%" in text, name
        assert "jupytext_version: " not in text, name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_demo_output(name: str, demo: Path, tmp_path: Path) -> None:
    executed = execute_notebook(
        notebook_source(name), processed=demo, output=tmp_path / f"{name}.ipynb", timeout=CELL_TIMEOUT_SECONDS
    )
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code)
    assert not [o for cell in code for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    text = outputs_text(executed)
    assert f"output folder: {demo.resolve()}" in text
    free_text = {t for t in pd.read_parquet(demo / "events.parquet")["detail_text"].dropna().astype(str) if len(t) >= 5}
    assert not [t for t in free_text if t in text], "a notebook printed participant free text"
    shown = set(re.findall(r"PACER-\d+", text))
    if name == "crs_timeline_explorer":
        assert len(shown) == 1  # the one participant it explores
    else:
        assert not shown, "an aggregate notebook printed participant ids"


def test_a_failing_cell_is_reported_with_its_error(tmp_path: Path) -> None:
    from pipelines.notebooks import NotebookError

    source = tmp_path / "broken.py"
    source.write_text("# %%\nx = 1\n\n# %%\nraise ValueError('planted')\n", encoding="utf-8")
    with pytest.raises(NotebookError, match="broken.py: ValueError: planted"):
        execute_notebook(source, output=tmp_path / "broken.ipynb", timeout=60)
    assert (tmp_path / "broken.ipynb").is_file()


def test_pacer_notebooks_without_any_run_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import analysis.explore
    from pipelines.cli import app

    monkeypatch.delenv("PACER_PROCESSED", raising=False)
    monkeypatch.setattr(analysis.explore, "PROCESSED_ROOT", tmp_path)
    result = CliRunner().invoke(app, ["notebooks"])
    assert result.exit_code == 2
    assert "run `pacer run`" in result.output


def test_pacer_notebooks_writes_beside_the_outputs_at_their_mode(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.delenv("PACER_OUTPUT_MODE", raising=False)
    monkeypatch.delenv("PACER_DIR_MODE", raising=False)
    in_source_tree = NOTEBOOKS_DIR / "survival_explorer.ipynb"
    before = in_source_tree.stat().st_mtime_ns if in_source_tree.exists() else None
    result = CliRunner().invoke(app, ["notebooks", "survival_explorer", "--processed", str(demo)])
    assert result.exit_code == 0, result.output
    written = demo / "notebooks" / "survival_explorer.ipynb"
    assert f"survival_explorer: written to {written}" in result.output
    assert written.stat().st_mode & 0o777 == 0o640
    assert (demo / "notebooks").stat().st_mode & 0o777 == 0o750
    assert not list((demo / "notebooks").glob(".*.tmp"))
    after = in_source_tree.stat().st_mtime_ns if in_source_tree.exists() else None
    assert after == before, "the executed notebook landed in the source tree"
