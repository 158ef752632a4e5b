"""pacer's memory policy: Arrow allocates through the C library and glibc keeps freed memory."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = (
    "from pipelines.memory_policy import keep_memory_for_the_run\n"
    "taken = keep_memory_for_the_run()\n"
    "import pyarrow\n"
    "print(taken, pyarrow.default_memory_pool().backend_name)\n"
)


def probe(extra_env: dict[str, str]) -> str:
    """Apply the policy in a fresh interpreter; return whether glibc took it and Arrow's pool."""
    env = {name: value for name, value in os.environ.items() if name != "ARROW_DEFAULT_MEMORY_POOL"}
    env.update(extra_env)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc settings are glibc's")
def test_arrow_uses_the_system_pool_and_glibc_takes_the_settings():
    assert probe({}) == "True system"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc settings are glibc's")
def test_a_pool_the_user_chose_wins():
    assert probe({"ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}) == "True jemalloc"


KEEPS_PROBE = (
    "import os, sys\n"
    "if sys.argv[1] == 'policy':\n"
    "    from pipelines.memory_policy import keep_memory_for_the_run\n"
    "    keep_memory_for_the_run()\n"
    "import numpy\n"
    "def resident_mb():\n"
    "    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 2**20\n"
    "column = numpy.ones(300 * 2**20 // 8)\n"
    "del column\n"
    "print(resident_mb())\n"
)


def resident_after_freeing_300_mb(mode: str) -> int:
    """Resident MB of a fresh interpreter that touched a 300 MB column and freed it."""
    done = subprocess.run([sys.executable, "-c", KEEPS_PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc settings are glibc's")
def test_freed_memory_stays_in_the_process_only_under_the_policy():
    assert resident_after_freeing_300_mb("policy") >= 300
    assert resident_after_freeing_300_mb("default") < 100
