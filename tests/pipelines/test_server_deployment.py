"""A real Prefect server on 127.0.0.1: deploy with `pacer serve`, trigger a run through the API, check outputs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: healthy(env["PREFECT_API_URL"]), 180, "the Prefect server")
        yield env
    finally:
        stop(server)


def test_deploy_trigger_and_complete_on_a_real_server(prefect_server: dict[str, str], tmp_path: Path) -> None:
    from pipelines.paths import DEMO_EXPORT

    out = tmp_path / "out"
    log = open(tmp_path / "serve.log", "w")
    serve = subprocess.Popen(
        [str(BIN / "pacer"), "serve", "--name", "ci", "--export", str(DEMO_EXPORT), "--out", str(out)],
        env=prefect_server,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def deployed() -> bool:
            listing = subprocess.run(
                [str(BIN / "prefect"), "deployment", "ls"], env=prefect_server, capture_output=True, text=True
            )
            return "pacer-run/ci" in listing.stdout

        wait_for(deployed, 120, "the deployment pacer-run/ci")
        triggered = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "pacer-run/ci", "--watch", "--watch-timeout", "300"],
            env=prefect_server,
            capture_output=True,
            text=True,
            timeout=360,
        )
        assert triggered.returncode == 0, triggered.stdout + triggered.stderr
        assert "Completed" in triggered.stdout + triggered.stderr
    finally:
        stop(serve)
        log.close()
    assert len(pd.read_parquet(out / "2026-11-01" / "ard.parquet")) > 0
    assert len(pd.read_parquet(out / "2026-11-01" / "participants.parquet")) == 45
