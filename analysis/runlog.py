"""The run log: one JSON line per run, appended to ``runs.jsonl`` beside the output folders.

The audit trail a sponsor asks for: who ran what, when, on which input files (SHA-256) and data
cut, with which settings (hash) and code version, into which folder, writing which files (SHA-256),
and with which result. The file is only ever appended to (``O_APPEND``, under ``flock`` so that
two runs finishing at once write two whole lines); nothing rewrites or truncates it.

Where: ``$PACER_RUN_LOG`` when set, else ``runs.jsonl`` in the parent of the output folder
(``data/processed/runs.jsonl`` for the default folders ``data/processed/<data-cut>/``).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.store import code_version, file_sha256, output_file_mode, read_manifest

RUN_LOG_NAME = "runs.jsonl"
RUN_LOG_VARIABLE = "PACER_RUN_LOG"
RECORD_VERSION = 1


def run_log_path(beside: Path) -> Path:
    """``$PACER_RUN_LOG``, else ``beside/runs.jsonl`` (``beside``: the parent of the output folder)."""
    configured = os.environ.get(RUN_LOG_VARIABLE, "").strip()
    return Path(configured) if configured else Path(beside) / RUN_LOG_NAME


def utc_now() -> str:
    """Now, in UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def who() -> str:
    """The user running the pipeline (login name, else the numeric uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def export_sha256(export: Path | None) -> dict[str, str]:
    """SHA-256 of an export as given (the .zip, or each file of the folder): for a run that stopped before its ingest did."""
    if export is None:
        return {}
    path = Path(export)
    try:
        if path.is_file():
            return {path.name: file_sha256(path)}
        if path.is_dir():
            return {
                child.name: file_sha256(child)
                for child in sorted(path.iterdir())
                if child.is_file() and not child.is_symlink()
            }
    except OSError:
        pass
    return {}


def step_files(out_dir: Path, step: str) -> dict[str, str]:
    """The files ``step`` last recorded in ``out_dir/manifest.json``: absolute path → SHA-256."""
    manifest = read_manifest(out_dir)
    names = manifest["steps"].get(step, {}).get("files", [])
    return {str(Path(out_dir).resolve() / name): manifest["files"].get(name, {}).get("sha256") for name in names}


def ingest_record(out_dir: Path | None) -> dict[str, Any]:
    """The ingest's record in ``out_dir/manifest.json`` (empty when there is none)."""
    return {} if out_dir is None else read_manifest(out_dir)["steps"].get("ingest", {})


def run_record(
    *,
    command: str,
    parameters: dict[str, Any],
    started_at: str,
    steps: list[dict[str, Any]],
    out_dir: Path | None,
    settings_hash: str | None,
    result: str,
    message: str | None,
    export: Path | None = None,
) -> dict[str, Any]:
    """One line of the run log.

    ``steps``: one dict per step that ran (``step``, ``out_dir``, ``reused``, ``seconds``), in order;
    the files written are those each non-reused step recorded in its folder's manifest. The input
    SHA-256s and the data cut come from the output folder's ingest record; for a run that stopped
    before it, from the export as given.
    """
    ingest = ingest_record(out_dir)
    inputs = {name: entry.get("sha256") for name, entry in ingest.get("inputs", {}).items()} or export_sha256(export)
    written: dict[str, str] = {}
    for step in steps:
        if not step["reused"]:
            written.update(step_files(Path(step["out_dir"]), step["step"]))
    return {
        "record_version": RECORD_VERSION,
        "user": who(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": started_at,
        "finished_at": utc_now(),
        "command": command,
        "parameters": {name: None if value is None else str(value) for name, value in parameters.items()},
        "steps": [{**step, "out_dir": str(Path(step["out_dir"]).resolve())} for step in steps],
        "input_sha256": inputs,
        "data_cut": ingest.get("data_cut")
        or (None if parameters.get("data_cut") is None else str(parameters["data_cut"])),
        "analysis_plan_sha256": settings_hash,
        "code_version": code_version(),
        "out_dir": None if out_dir is None else str(Path(out_dir).resolve()),
        "files_written": written,
        "result": result,
        "message": message,
    }


def append_run_record(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``path`` (created with the output file mode), under an exclusive flock."""
    line = (json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, output_file_mode())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_run_log(path: Path) -> list[dict[str, Any]]:
    """Every record of a run log, oldest first."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
