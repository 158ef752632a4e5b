"""The bad-input corpus: loading cases.yaml, writing the generated bundles, running one case.

``python -m tests.bad_inputs.corpus CASE BUNDLE`` runs one case in a fresh process and prints its
outcome as JSON with the peak resident memory above the baseline after imports (the memory bound of
the 50 MB line is measured this way, away from what other tests left in the test process).
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import struct
import sys
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.export.bundle import read_bundle
from analysis.export.errors import ExportError
from analysis.export.ingest import ingest_bundle
from analysis.schemas.processed import ProcessedEvents, ProcessedParticipants

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


def _control_folder(folder: Path) -> Path:
    """The valid bundle as a folder."""
    folder.mkdir()
    for name, data in control_files().items():
        (folder / name).write_bytes(data)
    return folder


def fifo_export(tmp_path: Path) -> Path:
    """The export path is a named pipe (a FIFO) nobody writes to: opening it to read would block forever."""
    path = tmp_path / "fifo_export.zip"
    os.mkfifo(path)
    return path


def fifo_events_file(tmp_path: Path) -> Path:
    """A bundle folder whose events.csv is a FIFO."""
    folder = _control_folder(tmp_path / "fifo_events_file")
    (folder / "events.csv").unlink()
    os.mkfifo(folder / "events.csv")
    return folder


def device_participants_file(tmp_path: Path) -> Path:
    """A bundle folder whose participants.csv is a symbolic link to a character device (/dev/zero never ends)."""
    folder = _control_folder(tmp_path / "device_participants_file")
    (folder / "participants.csv").unlink()
    (folder / "participants.csv").symlink_to("/dev/zero")
    return folder


def folder_named_events_csv(tmp_path: Path) -> Path:
    """A bundle folder whose events.csv is itself a folder."""
    folder = _control_folder(tmp_path / "folder_named_events_csv")
    (folder / "events.csv").unlink()
    (folder / "events.csv").mkdir()
    return folder


def symlink_loop_export(tmp_path: Path) -> Path:
    """The export path is a symbolic link to itself (ELOOP)."""
    path = tmp_path / "symlink_loop_export"
    path.symlink_to(path)
    return path


def name_too_long_export(tmp_path: Path) -> Path:
    """The export path has a 300-character file name (ENAMETOOLONG; the limit is 255 bytes)."""
    return tmp_path / ("n" * 300 + ".zip")


def symlink_loop_events_file(tmp_path: Path) -> Path:
    """A bundle folder whose events.csv is a symbolic link to itself."""
    folder = _control_folder(tmp_path / "symlink_loop_events_file")
    (folder / "events.csv").unlink()
    (folder / "events.csv").symlink_to(folder / "events.csv")
    return folder


def _deflated_zeros(size_mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size_mib`` MiB of '0' and its CRC-32, built in a fraction of a second: one
    MiB compressed once and ended with a full flush (no reference crosses it), repeated, then a final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    mebibyte = b"0" * 1024**2
    piece = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size_mib):
        crc = zlib.crc32(mebibyte, crc)
    return piece * size_mib + compressor.flush(), crc


def _write_zip(path: Path, members: list[tuple[str, int, bytes, int, int]]) -> None:
    """A zip written field by field: (name, method, stored bytes, CRC-32, uncompressed size) per member."""
    local, central = bytearray(), bytearray()
    for name, method, data, crc, size in members:
        encoded = name.encode()
        sizes = (method, 0, 0, crc, len(data), size, len(encoded))
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, *sizes, 0, 0, 0, 0, 0, len(local)) + encoded
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, *sizes, 0) + encoded + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))


def zip_bomb_one_gib(tmp_path: Path) -> Path:
    """A zip of about 1 MB whose events.csv truly expands to 1 GiB of '0' (under the 4 GiB size limit)."""
    path = tmp_path / "zip_bomb_one_gib.zip"
    stored = [
        (name, zipfile.ZIP_STORED, data, zlib.crc32(data), len(data))
        for name, data in control_files().items()
        if name != "events.csv"
    ]
    bomb, crc = _deflated_zeros(1024)
    _write_zip(path, [*stored, ("events.csv", zipfile.ZIP_DEFLATED, bomb, crc, 1024**3)])
    return path


def zip_bomb_claiming_large_compressed_size(tmp_path: Path) -> Path:
    """The 16 MiB bomb whose central directory claims 4 MB compressed for events.csv: a ratio within bounds,
    but more compressed bytes than the whole zip holds."""
    path = _bomb(tmp_path, "zip_bomb_claiming_large_compressed_size")
    raw = bytearray(path.read_bytes())
    position = raw.find(b"PK\x01\x02")
    while position != -1:
        length = struct.unpack_from("<H", raw, position + 28)[0]
        if raw[position + 46 : position + 46 + length] == b"events.csv":
            struct.pack_into("<I", raw, position + 20, 4_000_000)
        position = raw.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(raw))
    return path


def wide_events_file(tmp_path: Path) -> Path:
    """events.csv of about 70 MB whose every line ends with 16,384 empty columns (a spreadsheet's whole width)."""
    folder = _control_folder(tmp_path / "wide_events_file")
    lines = control_files()["events.csv"].decode().splitlines()
    tail = "," * 16_384
    rows = "".join(line + tail + "\n" for line in lines[1:])
    with (folder / "events.csv").open("w", encoding="utf-8", newline="") as out:
        out.write(lines[0] + tail + "\n")
        for _ in range(70 * 1024**2 // len(rows)):
            out.write(rows)
    return folder


def wide_participants_header(tmp_path: Path) -> Path:
    """participants.csv with 2,000 named extra columns."""
    folder = _control_folder(tmp_path / "wide_participants_header")
    lines = control_files()["participants.csv"].decode().splitlines()
    extra = "".join(f",x{i}" for i in range(2_000))
    empty = "," * 2_000
    (folder / "participants.csv").write_text(
        "\n".join([lines[0] + extra, *(line + empty for line in lines[1:])]) + "\n", encoding="utf-8"
    )
    return folder


GENERATORS = {
    "fifty_megabyte_line": fifty_megabyte_line,
    "zip_bomb": zip_bomb,
    "zip_bomb_lying_size": zip_bomb_lying_size,
    "fifo_export": fifo_export,
    "fifo_events_file": fifo_events_file,
    "device_participants_file": device_participants_file,
    "folder_named_events_csv": folder_named_events_csv,
    "symlink_loop_export": symlink_loop_export,
    "symlink_loop_events_file": symlink_loop_events_file,
    "name_too_long_export": name_too_long_export,
    "zip_bomb_one_gib": zip_bomb_one_gib,
    "zip_bomb_claiming_large_compressed_size": zip_bomb_claiming_large_compressed_size,
    "wide_events_file": wide_events_file,
    "wide_participants_header": wide_participants_header,
}


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
    outcome["live_formulas"] = live_formulas(
        {"participants": result.participants, "events": result.events, "quarantine": result.quarantine}
    )
    if "date_query" in case:
        from analysis.derive.date_queries import derive_date_queries

        queries = derive_date_queries(result.participants, result.events)
        outcome["date_queries"] = queries[["participant_id", "kind"]].astype(str).to_dict("records")
    return outcome


LIVE_FORMULA = re.compile(r"^[=+\-@\t\r]")
"""A text cell a spreadsheet would run: starting with =, +, -, @, a tab or a carriage return ..."""
NEGATIVE_NUMBER = re.compile(r"^-\d+(?:\.\d+)?$")
"""... unless it is a plain negative number (a number to a spreadsheet, not a formula)."""


def live_formulas(tables: dict[str, pd.DataFrame]) -> list[list[str]]:
    """Every text cell of ``tables`` a spreadsheet would run as a formula, as [table, column, value]."""
    found = []
    for table, frame in tables.items():
        for column in frame.columns:
            for value in frame[column].dropna():
                if isinstance(value, str) and LIVE_FORMULA.match(value) and not NEGATIVE_NUMBER.match(value):
                    found.append([table, column, value])
    return found


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
