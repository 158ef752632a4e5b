"""Hostile inputs at the edges of the ingest: identifier column names by meaning, one formula rule for
every text column, and paths that are not regular files or folders, each a one-line user error."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.export.identifiers import CONTRACT_COLUMNS, column_words, identifier_kind
from analysis.export.participants import REQUIRED_COLUMNS
from analysis.export.quarantine import neutralize_formulas, neutralize_text_columns
from analysis.export.text import TEXT
from pipelines.cli import app
from tests.export.bundle_builder import write_bundle

runner = CliRunner()

EXPORT_FORMAT_IDENTIFIERS = [
    "name",
    "first_name",
    "last_name",
    "patient_name",
    "mrn",
    "medical_record_number",
    "dob",
    "birth_date",
    "date_of_birth",
    "address",
    "street",
    "city",
    "zip",
    "zipcode",
    "postal_code",
    "phone",
    "telephone",
    "email",
    "e_mail",
    "ssn",
]
"""export-format.md, "What bad input gets": the names refused ..."""
EXPORT_FORMAT_FRAGMENTS = ("guardian_mrn", "ssn_last4", "parent_email", "home_phone", "birthplace")
"""... and names containing mrn, ssn, email, phone or birth."""


def test_column_words_undo_case_separators_and_camel_case() -> None:
    for spelling in ("patientName", "PatientName", "Patient Name", "patient-name", "PATIENT_NAME", " patient.name "):
        assert column_words(spelling) == ["patient", "name"], spelling
    assert column_words("MRNNumber") == ["mrn", "number"]
    assert column_words("IPAddress") == ["ip", "address"]
    assert column_words("date-of-birth") == ["date", "of", "birth"]
    assert column_words("cd19CellPct2") == ["cd19", "cell", "pct2"]


def test_every_identifier_export_format_names_is_refused_in_any_spelling() -> None:
    for name in EXPORT_FORMAT_IDENTIFIERS + list(EXPORT_FORMAT_FRAGMENTS):
        camel = "".join(word.capitalize() for word in name.split("_"))
        for spelling in (name, name.upper(), name.replace("_", " ").title(), name.replace("_", "-"), camel):
            assert identifier_kind(spelling) is not None, spelling


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("guardianName", "a name"),
        ("Surname", "a name"),
        ("Postcode", "a geographic subdivision smaller than a state"),
        ("county", "a geographic subdivision smaller than a state"),
        ("Latitude", "a geographic subdivision smaller than a state"),
        ("admit_date", "a date of an individual other than the year"),
        ("DischargeDateTime", "a date of an individual other than the year"),
        ("date_of_death", "a date of an individual other than the year"),
        ("visitDate", "a date of an individual other than the year"),
        ("mobile", "a telephone or fax number"),
        ("FAX", "a telephone or fax number"),
        ("eMail", "an e-mail address"),
        ("SocialSecurityNo", "a social security number"),
        ("chart-number", "a medical record number"),
        ("medicaid_id", "a health plan beneficiary number"),
        ("health plan id", "a health plan beneficiary number"),
        ("accountNumber", "an account number"),
        ("drivers_license", "a certificate or licence number"),
        ("VIN", "a vehicle identifier"),
        ("license_plate", "a certificate or licence number"),
        ("deviceID", "a device identifier or serial number"),
        ("homepage", "a URL"),
        ("ip_addr", "an IP address"),
        ("fingerprint_hash", "a biometric identifier"),
        ("photo", "a photograph"),
        ("patientID", "another unique identifying number"),
        ("NHS number", "another unique identifying number"),
    ],
)
def test_the_safe_harbor_kinds_are_recognised_by_meaning(name: str, kind: str) -> None:
    assert identifier_kind(name) == kind


def test_the_contract_columns_and_harmless_names_pass() -> None:
    for name in sorted(CONTRACT_COLUMNS):
        camel = name.split("_")[0] + "".join(word.capitalize() for word in name.split("_")[1:])
        for spelling in (name, name.upper(), name.replace("_", " ").title(), camel):
            assert identifier_kind(spelling) is None, spelling
    harmless = ("ethnicity", "toxicity", "capacity", "temperature_site", "cd19_cell_pct", "site_name", "record_id")
    harmless += ("redcap_event_name", "study_name", "stat_name", "notes", "height_cm", "enrollment_year", "age_years")
    assert [name for name in harmless if identifier_kind(name) is not None] == []


def test_the_contract_columns_are_the_files_columns() -> None:
    from analysis.export import events

    participants_optional = ("site_id", "infusion_datetime", "cns_status", "car_t_dose_per_kg")
    contract = {*REQUIRED_COLUMNS, *participants_optional, *events.REQUIRED_COLUMNS, *events.OPTIONAL_COLUMNS}
    assert contract == CONTRACT_COLUMNS


def test_neutralization_is_one_rule_that_keeps_dtype_and_every_other_value() -> None:
    text = pd.Series(["=1+1", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "-80", "- 3.5", "plain", None], dtype=TEXT)
    assert neutralize_formulas(text).tolist() == [
        "'=1+1",
        "'+A1",
        "'-A1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "-80",
        "- 3.5",
        "plain",
        pd.NA,
    ]
    assert neutralize_formulas(text).dtype == TEXT
    frame = pd.DataFrame({"a": pd.Series(["ok"], dtype=object), "b": [1.0]})
    assert neutralize_text_columns(frame) is frame
    mixed = pd.DataFrame({"a": pd.Series(["=x", None], dtype=object), "b": [1.0, 2.0]})
    neutral = neutralize_text_columns(mixed)
    assert neutral["a"].tolist() == ["'=x", None] and neutral["a"].dtype == object


def _one_line_refusal(arguments: list[str], expected: str) -> None:
    started = time.perf_counter()
    result = runner.invoke(app, arguments)
    assert time.perf_counter() - started < 10
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [result.output.strip()], result.output
    assert result.output.startswith("error: ") and expected in result.output, result.output
    assert "Traceback" not in result.output


def test_an_export_path_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "export.zip")
    _one_line_refusal(
        ["ingest", "--export", str(tmp_path / "export.zip"), "--out", str(tmp_path / "out")],
        "export.zip: a FIFO, not a regular file or folder; refused",
    )
    assert not (tmp_path / "out").exists()


def test_a_settings_path_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "plan.toml")
    _one_line_refusal(
        ["run", "--export", str(write_bundle(tmp_path / "b")), "--settings", str(tmp_path / "plan.toml")],
        "plan.toml: a FIFO, not a regular file or folder; refused",
    )


def test_an_export_path_too_long_or_looping_is_one_line(tmp_path: Path) -> None:
    _one_line_refusal(["ingest", "--export", str(tmp_path / ("n" * 300))], "(File name too long, ENAMETOOLONG)")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    _one_line_refusal(["ingest", "--export", str(tmp_path / "loop")], "(Too many levels of symbolic links, ELOOP)")


@pytest.mark.parametrize("kind", ["file", "fifo", "under_a_file", "too_long"])
def test_an_output_path_that_cannot_be_a_folder_is_one_line(tmp_path: Path, kind: str) -> None:
    bundle = write_bundle(tmp_path / "b")
    if kind == "file":
        out, expected = tmp_path / "out", "out: not a folder; it cannot be the output folder"
        out.write_text("x")
    elif kind == "fifo":
        out, expected = tmp_path / "out", "out: not a folder; it cannot be the output folder"
        os.mkfifo(out)
    elif kind == "under_a_file":
        (tmp_path / "file").write_text("x")
        out, expected = tmp_path / "file" / "out", "cannot be the output folder (Not a directory, ENOTDIR)"
    else:
        out, expected = tmp_path / ("o" * 300), "cannot be the output folder (File name too long, ENAMETOOLONG)"
    _one_line_refusal(["run", "--export", str(bundle), "--out", str(out)], expected)
    _one_line_refusal(["report", "--processed", str(out)], expected)


def test_a_user_error_message_with_a_line_break_stays_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from pipelines.cli import fail

    with pytest.raises(typer.Exit):
        fail("/data/two\nlines\r: required file participants.csv is missing from the bundle")
    assert capsys.readouterr().err == (
        "error: /data/two\\nlines\\r: required file participants.csv is missing from the bundle\n"
    )


def test_a_folder_where_an_output_file_goes_is_a_one_line_output_error(tmp_path: Path) -> None:
    from analysis.settings import AnalysisPlan
    from analysis.store import OutputError
    from pipelines.ingest import run_ingest

    out = tmp_path / "out"
    (out / "participants.parquet").mkdir(parents=True)
    with pytest.raises(OutputError) as refused:
        run_ingest(write_bundle(tmp_path / "b"), data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())
    assert str(refused.value) == (
        f"the ingest step cannot write to the output folder {out}: a folder stands where an output file goes "
        f"({out / 'participants.parquet'}); the previous outputs there are unchanged"
    )
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == ["participants.parquet"]
