"""Files of the output folder, each written atomically: Parquet (zstd) with provenance, JSON, bytes.

A file is written beside its destination and renamed over it, so a failure never leaves a
half-written file where a good one was; it gets the output file mode (:mod:`analysis.store.permissions`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.store.permissions import output_file_mode

PROVENANCE_KEY = b"pacer"
"""The key of a table's Parquet key-value metadata that holds its provenance (JSON)."""


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, give it the output mode, rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: Path, provenance_record: dict[str, Any]) -> str:
    """Write ``frame`` to ``path`` as Parquet (zstd) with ``provenance_record`` under :data:`PROVENANCE_KEY`; return its SHA-256."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata_json = json.dumps(provenance_record, sort_keys=True, separators=(",", ":")).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), PROVENANCE_KEY: metadata_json})
    _write_atomically(path, lambda temporary: pq.write_table(table, temporary, compression="zstd"))
    return file_sha256(path)


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write JSON atomically (sorted keys, indented, one final newline)."""
    text = json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"
    _write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_bytes(content: bytes, path: Path) -> None:
    """Write ``content`` to ``path`` atomically."""
    _write_atomically(path, lambda temporary: temporary.write_bytes(content))


def read_provenance(path: Path) -> dict[str, Any]:
    """The ``pacer`` provenance of a Parquet file written by :func:`write_table`."""
    return json.loads(pq.read_schema(path).metadata[PROVENANCE_KEY])


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
