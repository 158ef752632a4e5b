"""Write docs/processed-tables.md and docs/derived-tables.md from the output schemas.

``python -m analysis.schemas.docs`` rewrites both pages; ``--check`` writes nothing and exits 1 when
a committed page differs from what would be written. Each table's section is its model's
docstring, a row per column (name, written Parquet type, req/extra, meaning, rule: the field's
description and metadata) and the table's notes; the text around the sections is below.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from analysis.schemas import ALL_TABLES, OutputTable
from analysis.schemas.base import markdown_cell, written_type

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "python -m analysis.schemas.docs"

GENERATED = f"<!-- Generated from analysis/schemas by `{REGENERATE}`: edit the schemas, not this page. -->"

PROCESSED_INTRO = """# Processed tables: the columns every derivation reads

`spec/outputs.md` is the contract for the outputs; this page pins down the tables that ingest
writes and every derivation reads, so that derivations can be built and tested on small hand-made
frames with exactly these columns. Each column's type is the Parquet (Arrow) type written
(`large_string` is text from Arrow-backed pandas strings); "null" means a value can actually be
missing; **req** marks a column `outputs.md` requires, **extra** one the pipeline adds."""

DERIVED_INTRO = """# Derived tables: grain, key and every column

This page describes the tables that the `derive` and `analyze` steps write beside
`participants.parquet` and `events.parquet` (those two are in `docs/processed-tables.md`). For each
table it gives the grain, the key, every column the table really has, the rule each column
implements, and whether `outputs.md` requires the column (**req**) or the pipeline adds it
(**extra**; outputs.md: "Columns named here are required; more are welcome").
The page is generated from the schemas in `analysis/schemas/`, which also validate every table
before it is written. `tests/test_docs.py` builds the tables from the demo export and fails if a
column, a query `kind`, an ARD analysis family or an analysis-plan setting is missing from these pages.

Rule references: **G** = `spec/grading.md` (version 2.1) and **O** = `spec/outputs.md` (version 2),
each followed by the section heading, e.g. G "CRS, ASTCT 2019". The settings named in
`monospace` are fields of the analysis plan; `docs/settings.md` describes each one. The defaults
are used below.

Conventions that hold for every table:
- **Time.** Day 0 is the infusion. Columns ending in `_hours` are elapsed hours since the infusion.
  Columns ending in `_days` are hours / 24. Both are float and are never clock times (O). "Days
  a–b" includes both ends (G "Time").
- **What a derivation reads.** Every row used is before the data-cut instant. The clinical
  derivations (state, grades, anakinra, response, AEs, time-to-event) use only rows at or after
  the infusion. Earlier rows stay in `events.parquet`, but nothing carries them into day 0
  (G "Time"). A few columns read earlier rows on purpose, and each says so:
  - a `death` dated before the infusion counts at day 0 and raises a query;
  - `crs.crs_grade_reported_max`;
  - `adsl.withdrawn` and `adsl.death`;
  - the date queries and `anakinra_before_infusion`.
- **One derivation per concept.** A value that several tables show is derived once and read by
  all of them:
  - **death** — `analysis/participant_vars.py:derive_vars_death` (time, cause and the row used).
    **Tie rule:** the earliest `death` row by `event_time`; among death rows at the same instant,
    the first in the export (lowest `line`), whatever the other rows' causes. A death dated before
    the infusion counts at day 0. Read by `participants` (analysis sets), `crs_timeline`/`crs` (the
    horizon and grade 5), `icans` (grade 5), `adsl` (`death`, `death_cause`, `death_days`, the
    LKA cap), `adtte` (the death event) and the date queries;
  - **first fever** — `analysis/derive/key_times.py:derive_var_first_fever`: `crs.first_fever_hours`
    and `anakinra.first_fever_hours` are the same value (the event's own `hours_from_infusion`),
    and it starts the CRS onset and the masking of `crs_timeline`;
  - **last known alive** — `analysis/derive/key_times.py:derive_var_last_known_alive`: read by
    `adsl.last_known_alive_days` and the `adtte` censoring at LKA;
  - **age at infusion** (the PALS age) — `analysis/participant_vars.py:compute_age_at_infusion_years`,
    written by ingest into `participants.age_at_infusion_years` and read by `crs_timeline` and `icans`;
  - **the Penn rule** (the high-dose vasopressor table, the ≥ 3 h high-dose run, the level of a
    moment) — `analysis/derive/penn.py`;
  - **drug classes** (corticosteroids, IL-6 blockers, masking drugs, rescue drugs, vasopressors
    and their norepinephrine equivalents) — `analysis/export/vocabulary.py`; time units
    (hours per day, days per year) — `analysis/units.py`.
- **Types** are the Parquet (Arrow) types written: `string`, `double`, `int64`, `bool`
  (`large_string` is also text: it comes from Arrow-backed pandas strings). Every
  column is physically nullable. "null" below means a value can actually be missing.
- **Order.** Each table is sorted by its key (O), as listed in
  `analysis/derive/all_tables.py:TABLE_KEYS`.
- **Provenance.** Each file's Parquet metadata key `pacer` holds `analysis_plan` (the settings in
  force), `analysis_plan_sha256`, `data_cut`, `input_sha256`, `code_version` and
  `package_versions`. The analyze step's tables (`ard`, `map_prior_densities`, `comparison_plan`,
  `published_outcomes`, `km_curves`, `cif_curves`) add `historical_cohorts_sha256`.

Who has rows:

| table | rows | demo export (cut 2026-11-01) |
|---|---|---|
| `crs_timeline` | infused participants × state intervals | 2457 rows |
| `crs`, `icans`, `anakinra` | one per infused participant (infused before the cut instant) | 40 |
| `ae` | one per `adverse_event` row at or after the infusion, infused participants | 97 |
| `adsl` | one per enrolled participant (enrolled on or before the cut) | 45 |
| `adtte` | infused participant × parameter (RFS: responders only) | 150 |
| `queries` | one per data query | 81 |
| `ard` | one per statistic | 707 |"""

DERIVED_OUTRO = """---

## Notes on the code against the rules

None open. Three were found while writing this page and fixed: the anakinra first fever now
compares temperatures after rounding to 0.01 °C as the CRS derivation does; `icans_grade_reported_max`
reads every reported row before the cut, as `crs_grade_reported_max` does; and the EFS
`evntdesc` for a missing day-28 assessment names the window setting instead of fixed days."""

PAGES = {
    "processed": ("processed-tables.md", PROCESSED_INTRO, "", ""),
    "derived": ("derived-tables.md", DERIVED_INTRO, "---\n\n", DERIVED_OUTRO),
}
"""Each page: its file, the text before the sections, what precedes each section, the text after them."""


def column_rows(table: OutputTable) -> list[str]:
    """The column table of one output table: name, written type, req/extra, meaning, rule."""
    rows = ["| column | type | | meaning | rule |", "|---|---|---|---|---|"]
    for name, column in table.model.to_schema().columns.items():
        written = str(written_type(column.dtype)) + (", null" if column.nullable else "")
        metadata = column.metadata or {}
        rows.append(
            f"| `{name}` | {written} | {metadata.get('requirement', '')} | {markdown_cell(column.description or '')} "
            f"| {markdown_cell(metadata.get('rule', ''))} |"
        )
    return rows


def table_checks(table: OutputTable) -> str:
    """What validation checks beyond each column: uniqueness of the key and the model's table checks."""
    lines = ["Checked before the table is written, beyond each column's type and values:"]
    unique = table.model.to_schema().unique
    if unique:
        lines.append(f"- unique on ({', '.join(f'`{name}`' for name in unique)});")
    for name, member in vars(table.model).items():
        if hasattr(member, "__dataframe_check_config__"):
            summary = inspect.getdoc(member.__func__).splitlines()[0].rstrip(".")
            lines.append(f"- `{name}`: {summary};")
    lines[-1] = lines[-1].removesuffix(";") + "."
    return "\n".join(lines)


def section(table: OutputTable) -> str:
    """A table's section: heading, the model's docstring, the column table, the table checks, the notes."""
    parts = [
        f"## `{table.file_name}` — {table.heading}",
        inspect.cleandoc(table.model.__doc__ or ""),
        "\n".join(column_rows(table)),
        table_checks(table),
    ]
    if table.notes:
        parts.append(table.notes)
    return "\n\n".join(parts) + "\n"


def render_page(page: str) -> str:
    """The whole markdown of ``page`` (``processed`` or ``derived``)."""
    _, intro, separator, outro = PAGES[page]
    sections = [separator + section(table) for table in ALL_TABLES if table.page == page]
    return "\n".join([GENERATED, "", intro, "", *sections]) + (f"\n{outro}\n" if outro else "")


def rendered_pages(docs: Path | None = None) -> dict[Path, str]:
    """Each generated page's path (in ``docs``, by default the repository's docs folder) and its text."""
    docs = docs or DOCS
    return {docs / file_name: render_page(page) for page, (file_name, *_) in PAGES.items()}


def main(argv: list[str] | None = None) -> int:
    """Write both pages, or with ``--check`` report the ones that are out of date (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    arguments = parser.parse_args(argv)
    stale = [path for path, text in rendered_pages().items() if not path.is_file() or path.read_text("utf-8") != text]
    if arguments.check:
        for path in stale:
            print(f"{path} is out of date with analysis/schemas; regenerate it with `{REGENERATE}`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered_pages().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
