"""Errors that stop a run: a whole file cannot be used, or the run lacks a needed parameter."""


class ExportError(ValueError):
    """A user-facing error about the export bundle or the run's parameters.

    The message is one line that names the file (and column or value) and what is wrong; the
    command-line tool prints it without a traceback.
    """
