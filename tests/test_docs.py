"""The reference documentation keeps up with the code.

``docs/derived-tables.md`` must name every column of every derived table the demo export
produces (in that table's own section), every query ``kind`` the demo raises, every ARD analysis
family and every ``adtte`` parameter; ``docs/settings.md`` must name every analysis-plan setting,
nested ones as ``group.field``. The tables are built in-process (no Prefect), once per module.
The two table pages are generated from ``analysis/schemas`` (``python -m analysis.schemas.docs``;
``tests/schemas/test_generated_docs.py`` keeps them in step), so a column missing here is missing
from its schema, which validation would refuse anyway.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from analysis.derive.all_tables import derive_all_tables
from analysis.export.bundle import read_bundle
from analysis.export.ingest import ingest_bundle
from analysis.reference.cohorts import load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.results import analyze_trial
from pipelines.paths import DEMO_EXPORT

DOCS = Path(__file__).resolve().parent.parent / "docs"
DERIVED_TABLES_MD = DOCS / "derived-tables.md"
SETTINGS_MD = DOCS / "settings.md"

DERIVED_TABLES = (
    "crs_timeline",
    "crs",
    "icans",
    "anakinra",
    "ae",
    "adsl",
    "adtte",
    "queries",
    "ard",
    "comparison_plan",
    "published_outcomes",
    "km_curves",
    "cif_curves",
)


@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pd.DataFrame]:
    """Every derived table of the demo export with the default plan, ``ard`` and the tables beside it included."""
    result = ingest_bundle(read_bundle(DEMO_EXPORT))
    plan = AnalysisPlan()
    tables = derive_all_tables(result.participants, result.events, plan)
    return {**tables, **analyze_trial(tables, load_cohorts().cohorts, plan).tables}


def table_sections(text: str) -> dict[str, str]:
    """``{table: text of its section}`` for every ``## `name.parquet` …`` heading."""
    sections: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=## )", text):
        heading = re.match(r"## `([a-z_]+)\.parquet`", block)
        if heading:
            sections[heading.group(1)] = block
    return sections


def plan_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field name of a settings model, nested models as ``group.field``."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += plan_fields(annotation, f"{prefix}{name}.")
        else:
            names.append(f"{prefix}{name}")
    return names


def missing_names(names, text: str) -> list[str]:
    return sorted({name for name in names if f"`{name}`" not in text})


def test_every_derived_table_has_a_section() -> None:
    sections = table_sections(DERIVED_TABLES_MD.read_text(encoding="utf-8"))
    assert sorted(set(DERIVED_TABLES) - set(sections)) == []


@pytest.mark.parametrize("table", DERIVED_TABLES)
def test_every_column_is_documented_in_its_table_section(demo_tables: dict[str, pd.DataFrame], table: str) -> None:
    section = table_sections(DERIVED_TABLES_MD.read_text(encoding="utf-8"))[table]
    assert missing_names(demo_tables[table].columns, section) == [], (
        f"columns of {table}.parquet missing from its section of docs/derived-tables.md"
    )


def test_every_query_kind_of_the_demo_is_documented(demo_tables: dict[str, pd.DataFrame]) -> None:
    section = table_sections(DERIVED_TABLES_MD.read_text(encoding="utf-8"))["queries"]
    kinds = demo_tables["queries"]["kind"].dropna().unique()
    assert len(kinds) > 0
    assert missing_names(kinds, section) == []


def test_every_query_source_ard_family_and_tte_parameter_is_documented(demo_tables: dict[str, pd.DataFrame]) -> None:
    sections = table_sections(DERIVED_TABLES_MD.read_text(encoding="utf-8"))
    assert missing_names(demo_tables["queries"]["source"].dropna().unique(), sections["queries"]) == []
    assert missing_names(demo_tables["ard"]["analysis"].unique(), sections["ard"]) == []
    assert missing_names(demo_tables["adtte"]["paramcd"].unique(), sections["adtte"]) == []


def test_every_setting_is_documented() -> None:
    fields = plan_fields(AnalysisPlan)
    assert "high_dose.norepinephrine" in fields and "primary.alpha" in fields
    assert missing_names(fields, SETTINGS_MD.read_text(encoding="utf-8")) == [], (
        "AnalysisPlan settings missing from docs/settings.md"
    )
