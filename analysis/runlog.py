"""The run log: two JSON lines per run, appended to ``runs.jsonl`` beside the output folders.

The audit trail a sponsor asks for: who ran what, when, on which input files (SHA-256) and data
cut, with which settings (hash) and code version, into which folder, writing which files (SHA-256),
and with which result. A run appends a ``started`` record before any work and an ``ended`` record
(``completed``; ``failed`` with its exit code; ``interrupted``) after, both with the run's id. A
run killed outright (SIGKILL, power loss) leaves a start without an end: the next run that opens
the log appends an ``interrupted`` end for it (:func:`close_interrupted_runs`), and
:func:`read_runs` shows it as interrupted. The file is only ever appended to (``O_APPEND``, under
``flock`` so that two runs writing at once write two whole lines); nothing rewrites or truncates it.

Where: ``$PACER_RUN_LOG`` when set; else, for the pipeline's own folders of runs, ``runs.jsonl``
beside the ``<data-cut>/`` folders (``data/processed/runs.jsonl`` by default, ``<out>/runs.jsonl``
for ``pacer serve --out``); for a folder named with ``--out DIR`` (or ``--processed DIR``) outside
them, ``DIR/runs.jsonl``, inside the folder the pipeline writes, never in a parent it does not own.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.store import code_version, file_sha256, output_file_mode, read_manifest
from analysis.store.run_commit import RUN_LOG_NAME

RUN_LOG_VARIABLE = "PACER_RUN_LOG"
RECORD_VERSION = 2
STARTED, ENDED = "started", "ended"


def run_log_path(folder: Path) -> Path:
    """``$PACER_RUN_LOG``, else ``folder/runs.jsonl`` (``folder``: the folder of the runs, or the output folder)."""
    configured = os.environ.get(RUN_LOG_VARIABLE, "").strip()
    return Path(configured) if configured else Path(folder) / RUN_LOG_NAME


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
    run_id: str = "",
    exit_code: int | None = 0,
) -> dict[str, Any]:
    """The ``ended`` record of a run.

    ``result``: ``completed``, ``failed`` or ``interrupted``; ``exit_code``: the command's (0, 1 a
    defect, 2 a user error; None for an interrupted run).

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
        "event": ENDED,
        "run_id": run_id,
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
        "exit_code": exit_code,
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


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat``); None when it is not running.

    With the pid it names one process: a later process that reuses the pid starts at another time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def new_run_id() -> str:
    """A new run's id."""
    return uuid.uuid4().hex


def started_record(
    *, run_id: str, command: str, parameters: dict[str, Any], started_at: str, out_dir: Path | None
) -> dict[str, Any]:
    """The ``started`` record of a run: who, where, what, before any work."""
    return {
        "record_version": RECORD_VERSION,
        "event": STARTED,
        "run_id": run_id,
        "user": who(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_started": process_start_ticks(os.getpid()),
        "started_at": started_at,
        "command": command,
        "parameters": {name: None if value is None else str(value) for name, value in parameters.items()},
        "code_version": code_version(),
        "out_dir": None if out_dir is None else str(Path(out_dir).resolve()),
    }


def is_alive(record: dict[str, Any]) -> bool:
    """True when the process of a ``started`` record is still running (on this host; another host's runs count as alive)."""
    if record.get("host") != socket.gethostname():
        return True
    ticks = process_start_ticks(int(record["pid"]))
    return ticks is not None and ticks == record.get("process_started")


def unended_runs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``started`` records without an ``ended`` record, oldest first."""
    ended = {record.get("run_id") for record in records if record.get("event") == ENDED}
    return [record for record in records if record.get("event") == STARTED and record["run_id"] not in ended]


def interrupted_record(started: dict[str, Any], noticed_by: str) -> dict[str, Any]:
    """The ``ended`` record of a run whose process died without writing one (killed), written by the run ``noticed_by``."""
    return {
        "record_version": RECORD_VERSION,
        "event": ENDED,
        "run_id": started["run_id"],
        "finished_at": None,
        "noticed_at": utc_now(),
        "noticed_by": noticed_by,
        "result": "interrupted",
        "exit_code": None,
        "message": f"the run (pid {started['pid']} on {started['host']}) ended without writing its end: it was killed",
    }


def close_interrupted_runs(path: Path, noticed_by: str) -> None:
    """Append an ``interrupted`` end for every run of the log that started here and whose process is gone."""
    if not Path(path).is_file():
        return
    for started in unended_runs(read_run_log(path)):
        if not is_alive(started):
            append_run_record(path, interrupted_record(started, noticed_by))


def read_runs(path: Path) -> list[dict[str, Any]]:
    """One record per run, oldest first: its start merged with its end.

    A run with a start and no end is ``interrupted`` when its process is gone, ``running`` while
    it is alive. Records of version 1 (one line per run, written when it ended) are runs as they are.
    """
    runs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for number, record in enumerate(read_run_log(path)):
        run_id = record.get("run_id") or f"line-{number}"
        if run_id not in runs:
            runs[run_id] = {}
            order.append(run_id)
        runs[run_id].update(
            {name: value for name, value in record.items() if value is not None or name not in runs[run_id]}
        )
    for run in runs.values():
        if "result" not in run:
            run["result"] = "running" if is_alive(run) else "interrupted"
        run.pop("event", None)
    return [runs[run_id] for run_id in order]
