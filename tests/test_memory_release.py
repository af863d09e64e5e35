"""The CLI hands freed heap pages back before writing its table (issue 14, peak RSS)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = r"""
import numpy as np
from radiomix._memory import release_free_heap

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

# A freed 16 MiB block (under the 32 MiB cap) raises glibc's mmap threshold, so the
# blocks that follow come from the heap and stay resident after they are freed.
big = np.ones(2 << 20); del big
blocks, pins = [], []
for _ in range(24):  # 24 x 4 MiB, written (resident), each followed by a small block in use
    blocks.append(np.ones(1 << 19))
    pins.append(bytearray(4096))
del blocks  # holes inside the heap: free() cannot shrink it from the top
before = rss_kib()
ran = release_free_heap()
after = rss_kib()
print(int(ran), before, after)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux")
def test_release_free_heap_returns_freed_pages_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True).stdout.split()
    ran, before, after = (int(v) for v in out)
    if not ran:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    # 96 MiB were freed but still resident; at least 64 MiB of them go back
    assert before - after >= 64 * 1024, (before, after)


def test_release_free_heap_is_a_no_op_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    import radiomix._memory as memory

    monkeypatch.setattr(memory.sys, "platform", "darwin")
    memory._malloc_trim.cache_clear()
    try:
        assert memory.release_free_heap() is False
    finally:
        memory._malloc_trim.cache_clear()
