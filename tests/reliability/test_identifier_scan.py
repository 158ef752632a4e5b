"""No identifier in any output: tables, manifest, reports (HTML and PDF text), the run log, what the run logged.

Beyond the export's identifier-column guard (export-format.md), every output of the demo run is
scanned for identifier patterns: MRN-like numbers, e-mail addresses, phone numbers, SSNs; the
reports for calendar dates (study days only: the data cut, the export time and the run and
render times are the only dates allowed) and for the export's free text. A second run plants
identifiers in every free-text cell of the export (and in an extra participants column) and
pins where they may go: the four table columns that keep the export's free text by design, never
a report, the manifest, the run log or the logs.
"""

from __future__ import annotations

import csv
import html.parser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.export.identifiers import is_identifier_column, normalize_column_name
from analysis.settings import AnalysisPlan
from pipelines.paths import DEMO_EXPORT
from tests.reliability.conftest import DemoRun, run_demo_pipeline

MRN = re.compile(r"\bMRN\b|(?<![\w.])\d{7,10}(?![\w.])", re.IGNORECASE)
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w.])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[-.]\d{4}(?![\w])")
SSN = re.compile(r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w-])")
PATTERNS = {"MRN-like": MRN, "e-mail": EMAIL, "phone": PHONE, "SSN": SSN}
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
DATES = re.compile(
    rf"\b(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}/(?:19|20)?\d{{2}}\b|\b{MONTH} \d{{1,2}},? (?:19|20)\d{{2}}\b"
    rf"|\b\d{{1,2}} {MONTH} (?:19|20)\d{{2}}\b|\b(?:19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b"
)
PLANTED = {
    "name": "Janet Marlowe",
    "mrn": "MRN 84726153",
    "email": "janet.marlowe@example.org",
    "phone": "(312) 555-0142",
    "ssn": "512-44-6789",
}
FREE_TEXT_COLUMNS = {
    ("events.parquet", "detail"),
    ("events.parquet", "detail_text"),
    ("adsl.parquet", "withdrawal_reason"),
    ("ae.parquet", "term_text"),
}
"""Where the export's free text is kept, by design (new_therapy and withdrawal text, the adverse-event text)."""


def allowed_numbers() -> set[str]:
    """Long numbers that are settings (the operating-characteristics seed), not identifiers."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 1_000_000:
            found.add(str(value))

    walk(AnalysisPlan().model_dump(mode="json"))
    return found


class VisibleText(html.parser.HTMLParser):
    """The text a reader of the HTML sees (no style, script or SVG geometry), plus title and alt attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        self.parts.extend(value for name, value in attrs if name in ("title", "alt", "aria-label") and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(path: Path) -> str:
    parser = VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return "\n".join(parser.parts)


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def json_strings(value: object) -> list[str]:
    """Every string (keys included) of a JSON document: its text fields."""
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (str(key), *json_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in json_strings(item)]
    return [value] if isinstance(value, str) else []


def table_texts(out: Path) -> dict[str, list[str]]:
    """Every text cell of every table, and each table's metadata: "file:column" → values."""
    texts: dict[str, list[str]] = {}
    for path in sorted(out.rglob("*.parquet")):
        frame = pd.read_parquet(path)
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype).startswith("string"):
                texts[f"{path.name}:{column}"] = [str(v) for v in frame[column].dropna()]
        metadata = pq.read_schema(path).metadata or {}
        texts[f"{path.name}:metadata"] = json_strings({k.decode(): json.loads(v) for k, v in metadata.items()})
    return texts


def output_texts(run: DemoRun) -> dict[str, list[str]]:
    """Every output as text: tables, JSON documents, reports, the run log, the logs."""
    texts = table_texts(run.out)
    for path in sorted(run.out.glob("*.json")):
        texts[path.name] = json_strings(json.loads(path.read_text(encoding="utf-8")))
    texts.update(report_texts(run.out))
    texts["runs.jsonl"] = [
        s for line in run.run_log.read_text(encoding="utf-8").splitlines() for s in json_strings(json.loads(line))
    ]
    texts["logs"] = [run.log_text]
    return texts


def report_texts(out: Path) -> dict[str, list[str]]:
    texts = {}
    for path in sorted((out / "report").iterdir()):
        texts[f"report/{path.name}"] = [html_text(path) if path.suffix == ".html" else pdf_text(path)]
    assert len(texts) == 4
    return texts


def free_texts() -> set[str]:
    """The free text of the demo export: new_therapy and withdrawal text, and adverse-event text after the colon."""
    with (DEMO_EXPORT / "events.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    texts = {
        row["detail"].strip()
        for row in rows
        if row["event_type"] in ("new_therapy", "withdrawal") and row["detail"].strip()
    }
    texts |= {
        row["detail"].split(":", 1)[1].strip()
        for row in rows
        if row["event_type"] == "adverse_event" and ":" in row["detail"]
    }
    return texts


def allowed_dates(out: Path) -> set[str]:
    """The data cut, the export time, the run time and the render time (dates only)."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    ingest = manifest["steps"]["ingest"]
    moments = [
        ingest["data_cut"],
        ingest["exported_at"],
        ingest["run_time"],
        manifest["steps"]["report"]["rendered_at"],
    ]
    return {moment[:10] for moment in moments} | {moment[:10].replace("-", "") for moment in moments}


def test_no_identifier_pattern_in_any_output(demo_run: DemoRun) -> None:
    allowed = allowed_numbers()
    found = []
    for source, values in output_texts(demo_run).items():
        for value in values:
            for kind, pattern in PATTERNS.items():
                found += [(source, kind, m) for m in pattern.findall(value) if m not in allowed]
    assert found == []


def test_no_table_column_is_named_like_an_identifier(demo_run: DemoRun) -> None:
    columns = {
        f"{path.name}:{column}" for path in demo_run.out.glob("*.parquet") for column in pq.read_schema(path).names
    }
    assert [c for c in sorted(columns) if is_identifier_column(normalize_column_name(c.split(":")[1]))] == []


def test_the_reports_show_study_days_never_participant_dates(demo_run: DemoRun) -> None:
    allowed = allowed_dates(demo_run.out) | allowed_numbers()
    for source, [text] in report_texts(demo_run.out).items():
        assert sorted(set(DATES.findall(text)) - allowed) == [], source
    assert "2026-11-01" in allowed


def test_the_reports_carry_none_of_the_export_free_text(demo_run: DemoRun) -> None:
    texts = free_texts()
    assert len(texts) >= 8
    for source, [text] in report_texts(demo_run.out).items():
        flat = " ".join(text.split()).lower()
        assert [t for t in sorted(texts) if t.lower() in flat] == [], source


def test_planted_identifiers_in_free_text_stay_in_the_free_text_columns(tmp_path: Path) -> None:
    """Identifiers typed into free-text cells (and an extra participants column) reach no report, manifest, log or other column."""
    from pipelines.audit import RunLog

    bundle = plant_identifiers(tmp_path / "bundle")
    out = tmp_path / "out"
    log = RunLog("run", {"export": bundle, "out_dir": out}, out, bundle)
    log.finish(run_demo_pipeline(out, export=bundle), AnalysisPlan())
    run = DemoRun(out=out, run_log=out / "runs.jsonl", log_text="")

    texts = output_texts(run)
    carriers = {
        source
        for source, values in texts.items()
        if any(planted in value for value in values for planted in PLANTED.values())
    }
    assert carriers == {f"{table}:{column}" for table, column in FREE_TEXT_COLUMNS}
    detected = {
        kind
        for source in carriers
        for value in texts[source]
        for kind, pattern in PATTERNS.items()
        if pattern.search(value)
    }
    assert detected == set(PATTERNS), "the scan finds every planted kind where it is"


def test_the_patterns_catch_what_they_are_for() -> None:
    assert MRN.findall("MRN 84726153, id 1234567") == ["MRN", "84726153", "1234567"]
    assert MRN.findall("p 0.0123456, sha 3f1234567a, 12345") == []
    assert EMAIL.findall("write to janet.marlowe@example.org") == ["janet.marlowe@example.org"]
    assert PHONE.findall("(312) 555-0142, 312-555-0142, 312.555.0142; not 149.3558 or 2026-11-01") == [
        "(312) 555-0142",
        "312-555-0142",
        "312.555.0142",
    ]
    assert SSN.findall("512-44-6789; not 2026-11-01") == ["512-44-6789"]
    assert DATES.findall("2024-12-12, 12/12/2024, Dec 12, 2024, 12 December 2024, 20241212; not day 12 or 2024") == [
        "2024-12-12",
        "12/12/2024",
        "Dec 12, 2024",
        "12 December 2024",
        "20241212",
    ]


def plant_identifiers(bundle: Path) -> Path:
    shutil.copytree(DEMO_EXPORT, bundle)
    planted = " ".join(PLANTED.values())
    with (bundle / "events.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    count = 0
    for row in rows[1:]:
        if row[3] in ("new_therapy", "withdrawal") or (row[3] == "adverse_event" and ":" in row[6]):
            row[6] = f"{row[6]} per {planted}"
            count += 1
    assert count >= 10
    with (bundle / "events.csv").open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    with (bundle / "participants.csv").open(encoding="utf-8") as stream:
        participants = list(csv.reader(stream))
    participants[0].append("notes")
    for row in participants[1:]:
        row.append(f"guardian {planted}")
    with (bundle / "participants.csv").open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(participants)
    return bundle
