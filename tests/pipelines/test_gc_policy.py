"""Python's garbage collector in a pacer command: off while the code loads, then on with the loaded code frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.gc_policy import collector_paused_while_loading, freeze_loaded_code, pause_while_loading


@pytest.fixture
def collector_restored() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_no_pass_while_loading_then_the_loaded_objects_frozen_and_the_collector_on(collector_restored: None):
    gc.unfreeze()
    pause_while_loading()
    assert not gc.isenabled()
    loaded = [object() for _ in range(3)]  # stands for the code a command loads
    tracked_before = len(gc.get_objects())
    freeze_loaded_code()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= tracked_before  # every object tracked then is out of the generations
    assert not any(item is loaded for item in gc.get_objects())  # and out of every later pass
    garbage = []
    garbage.append(garbage)  # a reference cycle made after the freeze is collected as ever
    del garbage
    assert gc.collect() >= 1


def test_a_command_that_stops_before_its_flow_leaves_the_collector_on():
    with pytest.raises(SystemExit), collector_paused_while_loading():
        assert not gc.isenabled()
        raise SystemExit(2)  # a user error before the flow
    assert gc.isenabled()


def test_the_run_command_ending_on_a_user_error_leaves_the_collector_on(tmp_path: Path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["run", "--export", str(tmp_path / "missing")])  # no --out: no server started
    assert result.exit_code == 2
    assert gc.isenabled()
