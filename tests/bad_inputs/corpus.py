"""The bad-input corpus: loading cases.yaml, writing the generated bundles, running one case.

``python -m tests.bad_inputs.corpus CASE BUNDLE`` runs one case in a fresh process and prints its
outcome as JSON with the peak resident memory above the baseline after imports (the memory bound of
the 50 MB line is measured this way, away from what other tests left in the test process).
"""

from __future__ import annotations

import json
import math
import resource
import struct
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.export.bundle import read_bundle
from analysis.export.errors import ExportError
from analysis.export.ingest import ingest_bundle
from analysis.export.schemas import ProcessedEvents, ProcessedParticipants

HERE = Path(__file__).resolve().parent
CONTROL = HERE / "zip_in_folder_ok.zip"
"""The valid bundle every case is a variant of (as a zip: participants.csv, events.csv, manifest.json)."""
EVENT_COLUMNS = ("participant_id", "event_type", "value", "unit", "detail", "detail_text", "time_flag", "hours_from_infusion")


def load_cases() -> list[dict[str, Any]]:
    """The cases of cases.yaml, in file order."""
    return yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))


def control_files() -> dict[str, bytes]:
    """The files of the valid bundle, by name."""
    with zipfile.ZipFile(CONTROL) as archive:
        return {Path(info.filename).name: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def bundle_path(case: dict[str, Any], tmp_path: Path) -> Path:
    """The committed bundle of a case, or the one its generator writes under ``tmp_path``."""
    if "generate" in case:
        return GENERATORS[case["generate"]](tmp_path)
    return HERE / case["bundle"]


# --- generated bundles (nothing big is committed) --------------------------------------------------

def fifty_megabyte_line(tmp_path: Path) -> Path:
    """The valid bundle with a 6th events.csv line of exactly 50 MiB (a runaway new_therapy text)."""
    folder = tmp_path / "fifty_megabyte_line"
    folder.mkdir()
    files = control_files()
    for name in ("participants.csv", "manifest.json"):
        (folder / name).write_bytes(files[name])
    prefix = b"P001,2026-02-20T10:00:00,,new_therapy,,,"
    with (folder / "events.csv").open("wb") as out:
        out.write(files["events.csv"])
        out.write(prefix)
        remaining = 50 * 1024**2 - len(prefix)
        chunk = b"x" * (1 << 20)
        while remaining > 0:
            out.write(chunk[:remaining])
            remaining -= len(chunk)
        out.write(b"\n")
    return folder


def _bomb(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.zip"
    files = control_files()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("participants.csv", files["participants.csv"])
        archive.writestr("manifest.json", files["manifest.json"])
        with archive.open("events.csv", "w") as member:
            member.write(files["events.csv"])
            chunk = b"0" * (1 << 20)
            written = len(files["events.csv"])
            while written < 16 * 1024**2:
                piece = chunk[: 16 * 1024**2 - written]
                member.write(piece)
                written += len(piece)
    return path


def zip_bomb(tmp_path: Path) -> Path:
    """events.csv expands to 16 MiB of '0' from about 16 kB."""
    return _bomb(tmp_path, "zip_bomb")


def zip_bomb_lying_size(tmp_path: Path) -> Path:
    """The same bomb with the declared uncompressed size of events.csv set to 1,000 bytes in both headers."""
    path = _bomb(tmp_path, "zip_bomb_lying_size")
    raw = bytearray(path.read_bytes())
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        position = raw.find(signature)
        while position != -1:
            length = struct.unpack_from("<H", raw, position + name_length_at)[0]
            if raw[position + name_at: position + name_at + length] == b"events.csv":
                struct.pack_into("<I", raw, position + size_at, 1000)
            position = raw.find(signature, position + 4)
    # a data descriptor (written when streaming) repeats the sizes: patch it too
    descriptor = raw.find(b"PK\x07\x08")
    while descriptor != -1:
        struct.pack_into("<I", raw, descriptor + 12, 1000)
        descriptor = raw.find(b"PK\x07\x08", descriptor + 4)
    path.write_bytes(bytes(raw))
    return path


GENERATORS = {"fifty_megabyte_line": fifty_megabyte_line, "zip_bomb": zip_bomb, "zip_bomb_lying_size": zip_bomb_lying_size}


# --- running a case --------------------------------------------------------------------------------

def run_case(case: dict[str, Any], path: Path) -> dict[str, Any]:
    """Read and ingest ``path`` as the case says; the outcome as plain data.

    Only ExportError is caught: any other exception is a defect and propagates with its traceback.
    """
    try:
        result = ingest_bundle(read_bundle(path, **case.get("read", {})))
    except ExportError as exc:
        return {"outcome": "refused", "message": str(exc)}
    # what the ingest step checks before writing: a failure here would crash a real run
    ProcessedParticipants.validate(result.participants, lazy=True)
    ProcessedEvents.validate(result.events, lazy=True)
    events = result.events
    outcome = {
        "outcome": "quarantined" if len(result.quarantine) else "kept",
        "quarantine": [{key: _plain(value) for key, value in row.items()} for row in result.quarantine.to_dict("records")],
        "counts": {name: dict(vars(counts)) for name, counts in result.counts.items()},
        "balanced": {name: counts.balanced() for name, counts in result.counts.items()},
        "events": {int(row["line"]): {c: _plain(row[c]) for c in EVENT_COLUMNS}
                   for row in events[["line", *EVENT_COLUMNS]].to_dict("records")},
    }
    if "date_query" in case:
        from analysis.derive.date_queries import derive_date_queries

        queries = derive_date_queries(result.participants, result.events)
        outcome["date_queries"] = queries[["participant_id", "kind"]].astype(str).to_dict("records")
    return outcome


def _plain(value: Any) -> Any:
    """JSON-friendly scalars: NA and NaN as None, numpy numbers as Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def main(argv: list[str]) -> None:
    """Run the case named ``argv[0]`` on the bundle at ``argv[1]``; print outcome, seconds and memory as JSON."""
    case = next(c for c in load_cases() if c["case"] == argv[0])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome = run_case(case, Path(argv[1]))
    outcome["seconds"] = time.perf_counter() - started
    outcome["peak_rss_above_baseline_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
