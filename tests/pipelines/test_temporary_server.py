"""Prefect's temporary server as pacer starts it: on a socket bound before Prefect loads, Prefect's server code never
imported by the run, Prefect pointed at it, warmed up by its guard, and stopped when the run ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from pipelines import server_guard
from pipelines.prefect_server import WARM_UP_PATH

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import os, sys
from pipelines import prefect_env
from pipelines.prefect_server import _servers, start_temporary_server, wait_for_temporary_server

start_temporary_server()
loaded_meanwhile = []
wait_for_temporary_server(lambda: loaded_meanwhile.append("loaded"))
import httpx
from prefect.settings import PREFECT_API_URL

server = _servers[0]
print(server.process.pid)
print(os.environ["PREFECT_API_URL"] == PREFECT_API_URL.value() == server.api_url)
print(httpx.get(server.api_url + "/health").json())
print(loaded_meanwhile)
print("prefect.server.api.server" in sys.modules)
from prefect.settings import get_current_settings
from pipelines.prefect_server import flow_run_settings
with flow_run_settings():
    print(get_current_settings().flows.heartbeat_frequency)
print(get_current_settings().flows.heartbeat_frequency)
"""


@pytest.mark.server
def test_the_run_starts_the_server_without_loading_its_code_and_stops_it_at_exit(tmp_path: Path):
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    finished = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert finished.returncode == 0, finished.stderr
    pid, same_url, health, meanwhile, server_code_loaded, heartbeat_in_flows, heartbeat_after = (
        finished.stdout.splitlines()
    )
    assert (same_url, health, meanwhile, server_code_loaded) == ("True", "True", "['loaded']", "False")
    # The run's own server ends with it: its flows send no heartbeats; Prefect's default (180 s) outside them.
    assert (heartbeat_in_flows, heartbeat_after) == ("None", "180")
    with pytest.raises(ProcessLookupError):  # stopped and reaped when the process ended
        os.kill(int(pid), 0)


@pytest.mark.server
def test_a_server_given_by_its_address_is_used_and_none_started(tmp_path: Path):
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    script = (
        "from pipelines.prefect_server import _servers, start_temporary_server, wait_for_temporary_server\n"
        "start_temporary_server()\n"
        "wait_for_temporary_server(lambda: print('not called'))\n"
        "print(len(_servers))\n"
        "from prefect.settings import get_current_settings\n"
        "from pipelines.prefect_server import flow_run_settings\n"
        "with flow_run_settings():\n"
        "    print(get_current_settings().flows.heartbeat_frequency)\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert finished.stdout == "0\n180\n"  # a lasting server's runs keep Prefect's heartbeats


def test_the_guard_warms_the_server_up_with_one_request_then_turns_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
):
    asked: list[str] = []
    monkeypatch.setattr(server_guard, "freeze_loaded_code", lambda: asked.append("collector on"))

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'"3.9"')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    serving = threading.Thread(target=server.handle_request)
    serving.start()
    server_guard.warm_up(server.server_address[1], WARM_UP_PATH)
    serving.join(timeout=10)
    server.server_close()
    assert asked == ["/api/admin/version", "collector on"]


def test_a_warm_up_that_finds_no_server_is_no_error_and_turns_the_collector_on(monkeypatch: pytest.MonkeyPatch):
    turned_on: list[bool] = []
    monkeypatch.setattr(server_guard, "freeze_loaded_code", lambda: turned_on.append(True))
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    server_guard.warm_up(port, WARM_UP_PATH)
    assert turned_on == [True]
