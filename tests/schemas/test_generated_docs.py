"""docs/processed-tables.md and docs/derived-tables.md are exactly what the schemas generate."""

from __future__ import annotations

import pytest

from analysis.schemas import ALL_TABLES
from analysis.schemas.docs import REGENERATE, main, render_page, rendered_pages


@pytest.mark.parametrize("path", list(rendered_pages()), ids=lambda path: path.name)
def test_the_committed_page_is_what_the_schemas_generate(path) -> None:
    expected = rendered_pages()[path]
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.name} is out of date with analysis/schemas: regenerate it with `.venv/bin/{REGENERATE}` "
        "and commit the page (edit the schemas, never the page)"
    )


def test_every_column_of_every_schema_has_a_row_with_its_meaning() -> None:
    pages = {page: render_page(page) for page in ("processed", "derived")}
    for table in ALL_TABLES:
        section = pages[table.page].split(f"## `{table.file_name}`")[1].split("\n## ")[0]
        for name, column in table.model.to_schema().columns.items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
            assert (column.description or "").replace("|", "\\|") in row


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys) -> None:
    from analysis.schemas import docs

    monkeypatch.setattr(docs, "DOCS", tmp_path)
    assert main(["--check"]) == 1
    assert "regenerate it with `python -m analysis.schemas.docs`" in capsys.readouterr().err
    assert main([]) == 0
    assert main(["--check"]) == 0
    assert (tmp_path / "derived-tables.md").read_text(encoding="utf-8") == render_page("derived")
