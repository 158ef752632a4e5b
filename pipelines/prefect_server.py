"""Prefect's temporary local server: checked before it starts, and never outliving the run that started it.

A local run (no ``PREFECT_API_URL``) makes Prefect start its own API server, a uvicorn child
process. :func:`prefect_start_problem` checks first what it needs (a writable ``PREFECT_HOME``, a
loopback interface to listen on), so a run that cannot have one stops in one line.
:func:`guard_temporary_server` makes the server die with its run: it is started through
:mod:`pipelines.server_guard`, which holds the read end of a pipe whose write end only the run
holds, and stops the server when that pipe closes — which the kernel does when the run ends in
any way, SIGKILL included. :func:`start_temporary_server` starts it in a background thread as soon
as the command line knows the run has work to do, so that it comes up (in its own process, on
another core) while the run's own code is still loading; the flow waits for it
(:func:`wait_for_temporary_server`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any


def prefect_start_problem() -> str | None:
    """Why Prefect's temporary server could not start here, with the fix, in one line; None when it can (or is not needed)."""
    if os.environ.get("PREFECT_API_URL", "").strip():
        return None
    home = Path(os.environ.get("PREFECT_HOME", "").strip() or "~/.prefect").expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        return (
            f"PREFECT_HOME {home} is not writable ({exc.strerror or exc}): Prefect keeps its database there; "
            "set PREFECT_HOME to a folder you can write, e.g. PREFECT_HOME=$HOME/.prefect"
        )
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            probe.listen()
    except OSError as exc:
        return (
            f"cannot listen on the loopback interface 127.0.0.1 ({exc.strerror or exc}): Prefect's local server "
            "needs it; bring the loopback interface up, or set PREFECT_API_URL to a running Prefect server"
        )
    return None


_guard_pipes: list[int] = []
"""Write ends of the guard pipes: held open for the life of this process, closed by the kernel when it ends."""


def _guarded_uvicorn_command(server: Any) -> subprocess.Popen[Any]:
    """Prefect's ``SubprocessASGIServer._run_uvicorn_command``, started through :mod:`pipelines.server_guard`."""
    import prefect
    from prefect.settings import get_current_settings

    read_end, write_end = os.pipe()  # not inherited by other children: only this process holds the write end
    _guard_pipes.append(write_end)
    try:
        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "pipelines.server_guard",
                str(read_end),
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(server.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            pass_fds=(read_end,),
        )
    finally:
        os.close(read_end)


def guard_temporary_server() -> None:
    """Start Prefect's temporary server (when it starts one) so that it stops when this process ends, however it ends."""
    from prefect.server.api.server import SubprocessASGIServer

    SubprocessASGIServer._run_uvicorn_command = _guarded_uvicorn_command


_server_start: list[threading.Thread] = []
"""The thread starting the temporary server (at most one), until :func:`wait_for_temporary_server` joins it."""
_server_start_errors: list[BaseException] = []


def start_temporary_server() -> None:
    """Start Prefect's temporary server now, in a background thread, when the run will need one (no API URL given).

    Guarded (:func:`guard_temporary_server`). The flow's client finds the server already running
    (Prefect keeps one temporary server per process); :func:`wait_for_temporary_server` must be
    called before the first flow. Does nothing when a server is given (``PREFECT_API_URL``, or a
    test harness: then Prefect's server code is not even loaded here), when Prefect may not start
    one, or when the start is already under way.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if _server_start or PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    guard_temporary_server()
    from prefect.server.api.server import SubprocessASGIServer

    def start() -> None:
        try:
            SubprocessASGIServer().start()
        except BaseException as exc:
            _server_start_errors.append(exc)

    thread = threading.Thread(target=start, daemon=True, name="pacer-prefect-server-start")
    _server_start.append(thread)
    thread.start()


def wait_for_temporary_server() -> None:
    """Wait until the server :func:`start_temporary_server` started answers (nothing when none was started).

    Raises
    ------
    Exception
        whatever Prefect raised when the server did not come up (e.g. its start-up timeout).
    """
    while _server_start:
        _server_start.pop().join()
    if _server_start_errors:
        raise _server_start_errors.pop()


SERVER_TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
"""What `pacer server` always sets: Prefect's server makes no outbound analytics connection (whatever the shell says)."""


def offline_server_command(environ: dict[str, str], host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``prefect server start`` command of `pacer server` and its environment, telemetry off.

    Parameters
    ----------
    environ
        The caller's environment; :data:`SERVER_TELEMETRY_OFF` overrides it.
    host, port
        Where the server listens (default 127.0.0.1:4200: this machine only).

    Returns
    -------
    tuple[list[str], dict[str, str]]
        The argument vector (this environment's ``prefect``) and the environment to run it with.
    """
    prefect = str(Path(sys.executable).with_name("prefect"))
    return (
        [prefect, "server", "start", "--host", host, "--port", str(port)],
        {**environ, **SERVER_TELEMETRY_OFF},
    )
