"""Run uvicorn (Prefect's temporary server) until the run that started it ends: ``python -m pipelines.server_guard FD PORT PATH ARGS``.

``FD`` is the read end of a pipe whose write end only the run holds; when the run ends (SIGKILL
included) the kernel closes it, the read returns end-of-file, and the server stops: SIGTERM to
itself, then an exit if it has not stopped within 5 s.

``PORT`` and ``PATH``: a request of the server's API (on 127.0.0.1) that the guard makes as soon as the
server accepts connections (:func:`warm_up`). ``ARGS`` are uvicorn's.
"""

from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time

from pipelines.gc_policy import freeze_loaded_code, pause_while_loading

STOP_GRACE_SECONDS = 5.0
WARM_UP_TIMEOUT_SECONDS = 60.0


def stop_when_closed(fd: int) -> None:
    """Block until the pipe ``fd`` reaches end-of-file; then stop this process."""
    while os.read(fd, 1):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(1)


def warm_up(port: int, path: str) -> None:
    """GET ``path`` once from the server on ``127.0.0.1:port`` and read the answer, ignoring any error; then
    keep what the server loaded out of the garbage collector's passes and turn the collector on.

    Prefect's server loads part of its API on the first request it answers (≈ 0.4 s). Asked here, as
    soon as the server accepts connections (the request waits in the socket's backlog until then),
    that cost is paid while the run still loads its own code, not in the run's first flow. A direct
    connection: no proxy setting of the environment applies. The server loads with the collector
    off (:func:`main`; as `pacer run` does, :mod:`pipelines.gc_policy`): its passes took 0.4–0.5 s
    of the 3 s the server takes to load.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WARM_UP_TIMEOUT_SECONDS)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
    except OSError:
        pass
    finally:
        connection.close()
        freeze_loaded_code()


def main() -> None:
    """Watch the pipe and warm the server up in threads; run uvicorn with the remaining arguments in this one."""
    fd, port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    pause_while_loading()  # until the warm-up's answer
    threading.Thread(target=stop_when_closed, args=(fd,), daemon=True, name="pacer-server-guard").start()
    threading.Thread(target=warm_up, args=(port, path), daemon=True, name="pacer-server-warm-up").start()
    sys.argv = ["uvicorn", *sys.argv[4:]]
    from uvicorn.main import main as uvicorn_main

    uvicorn_main()


if __name__ == "__main__":
    main()
