"""Test-wide setup. Prefect's environment is fixed here, before anything imports Prefect.

- ``PREFECT_HOME`` and the result storage live in a temporary folder: tests never touch ~/.prefect.
- Analytics and telemetry are off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED``): no
  outbound connection.
- The ephemeral server gets a start-up timeout that 2 cores can meet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="pacer-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_PREFECT_HOME / "storage")
os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] = str(_PREFECT_HOME / "storage")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
