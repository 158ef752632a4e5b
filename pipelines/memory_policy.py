"""How a pacer process treats memory: it keeps what it has taken until the process ends.

On a virtual machine whose memory the host backs lazily and takes back when the guest frees it
(free-page reporting, as on the project's machines), touching memory again after the process gave
it back costs system time in the host: measured 5-15 s per GB, against 0.2 s per GB for memory the
process still holds. The pipeline's steps allocate and free large columns all the time, so with the
allocators' defaults a 10,000-participant ingest spent 39 of its 71 s in the kernel. Two settings
keep memory in the process instead:

- Arrow allocates through the C library (``ARROW_DEFAULT_MEMORY_POOL=system``) instead of its
  bundled jemalloc, which hands freed memory back to the system within about a second;
- glibc's malloc takes large blocks from its heap rather than from fresh mappings, and never trims
  the heap (``mallopt``: no mmap, trim threshold and top pad raised), so a freed column's memory is
  reused by the next one; and every thread allocates from that one heap (one arena: a thread's own
  arena maps a block too large for it apart and unmaps it when freed, which Arrow's reader and
  writer threads did with whole columns).

The cost: a process's resident memory stays at its peak until it ends (with one arena the peak
itself fell: the 10,000-participant ingest from 3.7-3.8 to 3.1-3.3 GB). Memory is returned when
the process exits. A value the user set for ``ARROW_DEFAULT_MEMORY_POOL`` wins; the glibc settings apply only where the C library is glibc.
Dask workers started by a pacer process inherit only the Arrow setting (an environment variable):
their nannies judge memory by resident size and must see it fall.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt parameter numbers from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4
M_ARENA_MAX = -8

HEAP_TOP_PAD_BYTES = 256 * 1024 * 1024
NEVER_TRIM = -1  # glibc: "setting M_TRIM_THRESHOLD to -1 disables trimming completely"


def keep_memory_for_the_run() -> bool:
    """Apply the policy to this process; call it before pyarrow is imported.

    Returns
    -------
    bool
        Whether glibc's malloc took the settings (False on another C library).
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    settings = (
        (M_MMAP_MAX, 0),
        (M_TRIM_THRESHOLD, NEVER_TRIM),
        (M_TOP_PAD, HEAP_TOP_PAD_BYTES),
        (M_ARENA_MAX, 1),
    )
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
