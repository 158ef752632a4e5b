"""The output folder: tables with provenance, the manifest, the step cache, the lock, permissions, staged commits.

outputs.md: every table is typed and sorted by its key; each file's key-value metadata carries,
under the key ``pacer``, run-invariant provenance (:mod:`analysis.store.provenance`), so the same
bundle, cut and settings give byte-identical tables (:mod:`analysis.store.tables`). Each module
does one thing:

- :mod:`~analysis.store.provenance`: what every table records about its inputs, code and settings;
- :mod:`~analysis.store.tables`: atomic writes of Parquet, JSON and bytes, and reading provenance back;
- :mod:`~analysis.store.manifest`: ``manifest.json``, each file's SHA-256 and each step's record;
- :mod:`~analysis.store.step_cache`: cache keys, and whether a step's outputs are current;
- :mod:`~analysis.store.lock`: one run per output folder;
- :mod:`~analysis.store.permissions`: the modes of output files and folders;
- :mod:`~analysis.store.errors`: disk-full and permission errors as one line;
- :mod:`~analysis.store.staging`: one step's files land together or not at all (:class:`StepWriter`).

Import from here; the names below are the package's surface.
"""

from analysis.store.errors import USER_ERRNOS, OutputBusyError, OutputError, is_user_os_error, output_error
from analysis.store.lock import LOCK_NAME, hold_output_locks, output_lock
from analysis.store.manifest import MANIFEST_NAME, read_manifest, update_manifest
from analysis.store.permissions import (
    DIR_MODE_VARIABLE,
    FILE_MODE_VARIABLE,
    OUTPUT_DIR_MODE,
    OUTPUT_FILE_MODE,
    ensure_output_dir,
    output_dir_mode,
    output_file_mode,
)
from analysis.store.provenance import code_version, package_versions, provenance
from analysis.store.staging import COMMIT_RECORD, STAGING_PREFIX, StepWriter, recover_killed_steps
from analysis.store.step_cache import cache_key, step_is_current
from analysis.store.tables import PROVENANCE_KEY, file_sha256, read_provenance, write_bytes, write_json, write_table

__all__ = [
    "COMMIT_RECORD",
    "DIR_MODE_VARIABLE",
    "FILE_MODE_VARIABLE",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "OUTPUT_DIR_MODE",
    "OUTPUT_FILE_MODE",
    "PROVENANCE_KEY",
    "STAGING_PREFIX",
    "USER_ERRNOS",
    "OutputBusyError",
    "OutputError",
    "StepWriter",
    "cache_key",
    "code_version",
    "ensure_output_dir",
    "file_sha256",
    "hold_output_locks",
    "is_user_os_error",
    "output_dir_mode",
    "output_error",
    "output_file_mode",
    "output_lock",
    "package_versions",
    "provenance",
    "read_manifest",
    "read_provenance",
    "recover_killed_steps",
    "step_is_current",
    "update_manifest",
    "write_bytes",
    "write_json",
    "write_table",
]
