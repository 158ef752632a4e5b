"""Errors about the output folder that are the machine's state, not a defect: one line for the user."""

from __future__ import annotations

import errno
from pathlib import Path

USER_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file exceeds the size limit",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "a folder stands where an output file goes",
    errno.ENOTDIR: "a file stands where a folder goes",
    errno.ENAMETOOLONG: "a file name is too long",
    errno.ELOOP: "too many levels of symbolic links",
}
"""OS errors that are the machine's state, not a defect: a step reports them in one line (OutputError)."""


class OutputError(RuntimeError):
    """A user-facing error about the output folder (in use, full, read-only, not permitted) or its mode settings.

    The message is one line; the command-line tool prints it without a traceback.
    """


class OutputBusyError(OutputError):
    """Another run holds the output folder's lock."""


def is_user_os_error(exc: BaseException) -> bool:
    """True for an OSError that is the machine's state (disk full, permission, read-only), not a defect."""
    return isinstance(exc, OSError) and not isinstance(exc, BlockingIOError) and exc.errno in USER_ERRNOS


def output_error(out_dir: Path, step: str, exc: OSError, unchanged: bool = True) -> OutputError:
    """One line for an OS error of :data:`USER_ERRNOS` met while a step used ``out_dir``.

    ``unchanged``: the folder still holds the previous run whole (else the step is recomputed by the next run).
    """
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    after = (
        "the previous outputs there are unchanged"
        if unchanged
        else f"the {step} step will be recomputed by the next run"
    )
    return OutputError(
        f"the {step} step cannot write to the output folder {out_dir}: {USER_ERRNOS[exc.errno]}{where}; {after}"
    )
