"""Prefect's temporary local server: checked before it starts, and never outliving the run that started it.

A local run (no ``PREFECT_API_URL``) needs Prefect's API server, a uvicorn child process.
:func:`prefect_start_problem` checks first what it needs (a writable ``PREFECT_HOME``, a loopback
interface to listen on), so a run that cannot have one stops in one line.
:func:`start_temporary_server` starts it itself, as soon as the command line knows the run has work
to do and before Prefect is imported, on a socket it has bound (uvicorn ``--fd``), and points
Prefect at it (``PREFECT_API_URL``): the server comes up in its own process, on another core, while
the run's own code and Prefect are still loading, and the run never imports Prefect's server code;
the flow waits for it (:func:`wait_for_temporary_server`). The server dies with its run: it is
started through :mod:`pipelines.server_guard`, which holds the read end of a pipe whose write end
only the run holds, and stops the server when that pipe closes — which the kernel does when the
run ends in any way, SIGKILL included; a run that ends normally stops it and waits for it.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


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


@dataclass
class TemporaryServer:
    """Prefect's API server that this process started: its uvicorn process and where it answers."""

    process: subprocess.Popen[Any]
    api_url: str


_servers: list[TemporaryServer] = []
"""The temporary server this process started (at most one), until the process ends."""


def _prefect_settings_want_temporary_server() -> bool:
    """Prefect's own settings (environment, profile, a test harness): no API URL given and a temporary server allowed."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    return not PREFECT_API_URL.value() and bool(PREFECT_SERVER_EPHEMERAL_ENABLED.value())


def _server_environment() -> dict[str, str]:
    """The temporary server's environment: this process's, Prefect's settings made in this process (when Prefect is
    loaded), and what Prefect's own temporary server sets (no UI, ephemeral services only)."""
    environment = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    if "prefect.context" in sys.modules:
        from prefect.settings import get_current_settings

        environment.update(get_current_settings().to_environment_variables(exclude_unset=True))
    return environment


WARM_UP_PATH = "/api/admin/version"
"""What the server's guard asks the server for as soon as it accepts connections (:func:`pipelines.server_guard.warm_up`)."""


def _launch_guarded_server() -> TemporaryServer:
    """Start uvicorn with Prefect's API app on a socket this process has bound, through :mod:`pipelines.server_guard`.

    The socket is bound and listening before the server process starts, so its address is known at
    once and a client may connect while the server is still loading (its requests wait in the
    socket's backlog). The server loads Prefect's server code in its own process: this one never
    imports it.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()  # not inherited by other children: only this process holds the write end
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "pipelines.server_guard",
                str(read_end),
                str(port),
                WARM_UP_PATH,
                "--factory",
                "prefect.server.api.server:create_app",
                "--fd",
                str(listener.fileno()),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=_server_environment(),
            pass_fds=(read_end, listener.fileno()),
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
        listener.close()  # the server process holds its own copy
    _guard_pipes.append(write_end)
    return TemporaryServer(process, f"http://127.0.0.1:{port}/api")


def _stop_server(server: TemporaryServer) -> None:
    """Stop the temporary server and wait for it (5 s, then kill), as Prefect stops its own at exit."""
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def start_temporary_server() -> None:
    """Start Prefect's temporary server now, when the run will need one (no API URL given), and point Prefect at it.

    Guarded (:mod:`pipelines.server_guard`) and stopped at exit. It comes up in its own process while
    this one goes on loading Prefect and the steps' code; :func:`wait_for_temporary_server` must be
    called before the first flow. When Prefect is not loaded yet the server is started first and
    Prefect's settings are read after (a profile naming a server, or forbidding a temporary one,
    then stops it again): the server's start then overlaps Prefect's own import. Its address goes
    into ``PREFECT_API_URL`` of this process, so Prefect's clients (the flow's, its log and event
    workers) all use it. Does nothing when a server is given (``PREFECT_API_URL``, or a test
    harness), when Prefect may not start one, or when one is already started.
    """
    if _servers or os.environ.get("PREFECT_API_URL", "").strip():
        return
    if "prefect.context" in sys.modules and not _prefect_settings_want_temporary_server():
        return
    server = _launch_guarded_server()
    if not _prefect_settings_want_temporary_server():
        _stop_server(server)
        return
    _servers.append(server)
    atexit.register(_stop_server, server)
    from prefect.context import refresh_global_settings_context

    os.environ["PREFECT_API_URL"] = server.api_url
    refresh_global_settings_context()


def wait_for_temporary_server(meanwhile: Callable[[], object] | None = None) -> None:
    """Wait until the server :func:`start_temporary_server` started answers ``/health`` (nothing when none was started).

    ``meanwhile``: work to do first while the server starts (only when this process started one),
    e.g. loading code a later step needs.

    Raises
    ------
    RuntimeError
        when the server process ends first, or does not answer within Prefect's start-up timeout
        (``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``).
    """
    if not _servers:
        return
    import httpx
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    server = _servers[0]
    if meanwhile is not None:
        meanwhile()
    deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"Prefect's temporary server ended with exit code {server.process.returncode} before it answered"
                )
            try:
                if client.get(f"{server.api_url}/health", timeout=max(0.1, deadline - time.monotonic())).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError("Timed out while attempting to connect to the temporary Prefect API server")


@contextmanager
def flow_run_settings() -> Iterator[None]:
    """Prefect's settings for the flows a command runs: flow-run heartbeats off when the server is this run's own.

    A heartbeat tells a lasting server that a run is still alive, so it can mark a crashed one; the
    temporary server ends with the run, so nobody reads them, and Prefect's heartbeat thread, which
    sleeps a second at a time, makes every flow wait for it as it ends (0.5–1 s). Against a server
    given by its address (``pacer server``, a deployment's), Prefect's heartbeats are left as they are.
    """
    if not _servers:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


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
