"""Test-wide setup. Prefect's environment is fixed here, before anything imports Prefect.

- ``PREFECT_HOME`` and the result storage live in a temporary folder: tests never touch ~/.prefect.
- Analytics and telemetry are off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED``): no
  outbound connection.
- The ephemeral server gets a start-up timeout that 2 cores can meet.

Under pytest-xdist (`make test` runs ``-n auto --dist loadgroup``) the tests that share an expensive
session fixture (:data:`SHARED_SESSION_FIXTURES`: Prefect's test harness, the demo runs, the
rendered reports) are sent to one worker, which builds the fixture once instead of once per worker.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="pacer-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_PREFECT_HOME / "storage")
os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] = str(_PREFECT_HOME / "storage")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"


SHARED_SESSION_FIXTURES = {
    "prefect_harness": "prefect-harness",
    "demo_run": "reliability-demo-run",
    "typical": "rendered-reports",
    "none_infused": "rendered-reports",
    "all_12_months": "rendered-reports",
    "demo_processed": "cdisc-demo",
}
"""Session fixtures that take seconds to build (a Prefect server, a demo run, a report render), by the xdist group of
the tests that use them (directly or through another fixture)."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test that uses a fixture of :data:`SHARED_SESSION_FIXTURES` with that fixture's ``xdist_group``
    (before pytest-xdist reads the marks: ``--dist loadgroup`` then runs the group on one worker)."""
    for item in items:
        group = next(
            (SHARED_SESSION_FIXTURES[name] for name in item.fixturenames if name in SHARED_SESSION_FIXTURES), None
        )
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness (temporary database, one ephemeral server) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
