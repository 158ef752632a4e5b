"""Test-wide setup. Prefect's environment is fixed here, before anything imports Prefect.

- ``PREFECT_HOME`` and the result storage live in a temporary folder: tests never touch ~/.prefect.
- Analytics and telemetry are off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED``): no
  outbound connection.
- The ephemeral server gets a start-up timeout that 2 cores can meet.

Under pytest-xdist (`make test` runs ``-n auto --dist loadgroup``) the tests that share an expensive
session fixture (:data:`SHARED_SESSION_FIXTURES`: Prefect's test harness, the demo runs, the
rendered reports) are sent to one worker, which builds the fixture once instead of once per worker;
so are the tests of one module that share a module-scoped fixture. The groups known to take longest
(:data:`LONGEST_GROUPS_FIRST`) are handed out first, so that no long group starts last.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
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


LONGEST_GROUPS_FIRST = (
    "tests/reliability/test_run_commit.py",
    "prefect-harness",
    "reliability-demo-run",
    "tests/test_notebooks.py",
    "rendered-reports",
)
"""The xdist groups that take longest (a minute or more of one worker), longest first: they are scheduled before every
other test, so that the two workers finish together."""


def xdist_groups(items: list[pytest.Item]) -> dict[pytest.Item, str]:
    """The xdist group of each test that shares an expensive fixture.

    A test using a fixture of :data:`SHARED_SESSION_FIXTURES` belongs to that fixture's group. A test using a
    module-scoped fixture belongs to its module's group (the module's path), or to the session group of another
    test of its module that uses the same module fixture, so that the module fixture is built once.
    """
    groups: dict[pytest.Item, str] = {}
    module_fixture_users: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        group = next(
            (SHARED_SESSION_FIXTURES[name] for name in item.fixturenames if name in SHARED_SESSION_FIXTURES), None
        )
        if group is not None:
            groups[item] = group
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for name, fixture_definitions in definitions.items():
            if fixture_definitions and fixture_definitions[-1].scope == "module":
                module_fixture_users.setdefault((item.nodeid.split("::")[0], name), []).append(item)
    for (module, _), users in module_fixture_users.items():
        session_groups = sorted({groups[user] for user in users if user in groups})
        for user in users:
            groups.setdefault(user, session_groups[0] if session_groups else module)
    return groups


def schedule_rank(group: str | None) -> int:
    """Where a test of ``group`` is scheduled: the groups of :data:`LONGEST_GROUPS_FIRST` in their order, then the rest."""
    return LONGEST_GROUPS_FIRST.index(group) if group in LONGEST_GROUPS_FIRST else len(LONGEST_GROUPS_FIRST)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Mark each test that shares an expensive fixture with its ``xdist_group`` and put the longest groups first (a
    stable sort: the rest keep their order), before pytest-xdist reads the marks; after it, see that each grouped
    test's id carries its group (:func:`suffix_group_ids`)."""
    groups = xdist_groups(items)
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: schedule_rank(groups.get(item)))
    result = yield
    if getattr(config.option, "loadgroup", False):
        suffix_group_ids(items)
    return result


def suffix_group_ids(items: list[pytest.Item]) -> None:
    """Give each grouped test's id its ``@group`` suffix where pytest-xdist could not.

    pytest-xdist's workers append ``@group`` to the test id, which is how ``--dist loadgroup`` finds the groups;
    since pytest 9.2 keeps the id in ``Node._id`` (a ``NodeId``), its write to ``Node._nodeid`` is lost and every
    test is scheduled alone (each worker then builds every shared fixture). Ids that have the suffix are left alone.
    """
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if names and "@" not in item.nodeid.rpartition("]")[2]:
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")


def pytest_configure(config: pytest.Config) -> None:
    """Under ``--dist loadgroup``, hand the groups out in collection order (longest first, see
    :func:`pytest_collection_modifyitems`) instead of pytest-xdist's default, by number of tests."""
    if getattr(config.option, "dist", None) == "loadgroup":
        config.option.loadscopereorder = False


_harness: dict[str, object] = {}
"""The running harness of this test process: ``stack`` (closing it stops the server), ``waiting`` (the ids of the
tests using it that have not finished yet)."""


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness (temporary database, one ephemeral server) for every flow test of the session.

    Stopped as soon as the last test of the session that uses it has finished (:func:`pytest_runtest_teardown`):
    the harness's tests run first (:data:`LONGEST_GROUPS_FIRST`), and an idle server would otherwise take CPU
    until the end of the session.
    """
    from prefect.testing.utilities import prefect_test_harness

    with ExitStack() as stack:
        stack.enter_context(prefect_test_harness(server_startup_timeout=120))
        _harness["stack"] = stack
        yield
    _harness.pop("stack", None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the tests of the session that use Prefect's harness (each process runs some of them, or all)."""
    _harness["waiting"] = {item.nodeid for item in session.items if "prefect_harness" in item.fixturenames}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last test that uses Prefect's harness, stop the harness (its server) in this process.

    Under pytest-xdist the harness's tests share one group, so one worker runs them all and stops it after the
    last; a worker that runs only some of them keeps it to the end of the session, as pytest would.
    """
    result = yield
    waiting = _harness.get("waiting")
    if isinstance(waiting, set) and item.nodeid in waiting:
        waiting.discard(item.nodeid)
        stack = _harness.pop("stack", None) if not waiting else None
        if isinstance(stack, ExitStack):
            stack.close()
    return result


@pytest.fixture(scope="session")
def demo_processed_original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo through ingest → derive → analyze (no Prefect, no report), built once per test process.

    Read-only: a test that writes takes a copy (tests/demo_processed.py: ``copy_demo_processed``).
    """
    from tests.demo_processed import build_demo_processed

    return build_demo_processed(tmp_path_factory.mktemp("demo-processed") / "out")
