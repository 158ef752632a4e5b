"""Prefect's environment for PACER: offline, quiet, patient on 2 cores. Import before Prefect.

A clinical pipeline makes no outbound connection, so analytics and telemetry are off by default
(``DO_NOT_TRACK=1``, ``PREFECT_SERVER_ANALYTICS_ENABLED=false``). The ephemeral server's start-up
timeout is raised from Prefect's 20 s, which is tight on 2 cores. A value the user set wins.
"""

from __future__ import annotations

import os
import warnings

OFFLINE_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_CLI_COLORS": "false",
}


def apply_offline_defaults() -> None:
    """Set PACER's Prefect defaults for every variable the user has not set."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)


apply_offline_defaults()
# An unwritable PREFECT_HOME is reported in one line before a run starts (pipelines.prefect_server), not as
# a warning when Prefect is imported.
warnings.filterwarnings("ignore", message="Failed to create the Prefect home directory")
