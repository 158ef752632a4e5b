"""The modes of output files and folders: a machine setting (``PACER_OUTPUT_MODE``, ``PACER_DIR_MODE``), never a result."""

from __future__ import annotations

import os
from pathlib import Path

from analysis.store.errors import OutputError

OUTPUT_FILE_MODE = 0o640
"""Default mode of output files: readable by the owner's group, not by other users of the machine."""
OUTPUT_DIR_MODE = 0o750
"""Default mode of output folders: open to the owner's group, closed to other users."""
FILE_MODE_VARIABLE = "PACER_OUTPUT_MODE"
DIR_MODE_VARIABLE = "PACER_DIR_MODE"


def _mode_setting(variable: str, default: int, owner_bits: int, what: str) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777 or mode & owner_bits != owner_bits:
        raise OutputError(
            f"{variable}={text!r} is not an octal {what} mode such as {default:04o} "
            f"(at most 0777, and the owner keeps {owner_bits:04o})"
        )
    return mode


def output_file_mode() -> int:
    """Mode of every output file: ``PACER_OUTPUT_MODE`` (octal, e.g. ``0640``), default 0640."""
    return _mode_setting(FILE_MODE_VARIABLE, OUTPUT_FILE_MODE, 0o600, "file")


def output_dir_mode() -> int:
    """Mode of every output folder: ``PACER_DIR_MODE`` (octal, e.g. ``0750``), default 0750."""
    return _mode_setting(DIR_MODE_VARIABLE, OUTPUT_DIR_MODE, 0o700, "folder")


def ensure_output_dir(path: Path) -> bool:
    """Create the folder ``path`` when missing, with the output folder mode; True when it was created.

    Parents are created with the default mode; only the output folder itself (and the folders a
    step writes inside it) get :func:`output_dir_mode`. A folder that already exists keeps its
    mode: ``--out`` may name a folder whose mode its owner chose (never chmod ``--out /tmp``).
    """
    mode = output_dir_mode()
    if path.is_dir():
        return False
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        return False
    os.chmod(path, mode)  # mkdir's mode is masked by the umask
    return True
