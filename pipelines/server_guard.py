"""Run uvicorn (Prefect's temporary server) until the run that started it ends: ``python -m pipelines.server_guard FD ARGS``.

``FD`` is the read end of a pipe whose write end only the run holds; when the run ends (SIGKILL
included) the kernel closes it, the read returns end-of-file, and the server stops: SIGTERM to
itself, then an exit if it has not stopped within 5 s.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

STOP_GRACE_SECONDS = 5.0


def stop_when_closed(fd: int) -> None:
    """Block until the pipe ``fd`` reaches end-of-file; then stop this process."""
    while os.read(fd, 1):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(1)


def main() -> None:
    """Watch the pipe in a thread; run uvicorn with the remaining arguments in this one."""
    fd = int(sys.argv[1])
    threading.Thread(target=stop_when_closed, args=(fd,), daemon=True, name="pacer-server-guard").start()
    sys.argv = ["uvicorn", *sys.argv[2:]]
    from uvicorn.main import main as uvicorn_main

    uvicorn_main()


if __name__ == "__main__":
    main()
