"""The C heap: kept between cases inside extraction, handed back before the CLI writes its
table (issue 14: page faults per case, peak RSS)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from _data import require_data

CHILD = r"""
import numpy as np
from radiomix._memory import release_free_heap

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

# Blocks served from the heap stay resident after they are freed: glibc serves 4 MiB
# blocks from the heap once its mmap threshold is above them (it raises the threshold
# itself after freeing a larger mmapped block; set here so that no environment variable
# or earlier allocation decides), and free() trims only the top of the heap.
import ctypes
libc = ctypes.CDLL("libc.so.6")
libc.mallopt(-3, 64 << 20)   # M_MMAP_THRESHOLD
libc.mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD: no automatic trim of the top
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    ran, before, after = (int(v) for v in out)
    if not ran:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    # 96 MiB were freed but still resident; at least 64 MiB of them go back
    assert before - after >= 64 * 1024, (before, after)


def test_release_free_heap_is_a_no_op_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    import radiomix._memory as memory

    monkeypatch.setattr(memory.sys, "platform", "darwin")
    memory._glibc.cache_clear()
    memory.keep_freed_heap.cache_clear()
    try:
        assert memory.release_free_heap() is False
        assert memory.keep_freed_heap() is False
    finally:
        memory._glibc.cache_clear()
        memory.keep_freed_heap.cache_clear()


KEEP_CHILD = r"""
import sys
from radiomix._memory import keep_freed_heap
print(int(keep_freed_heap()))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k not in {"GLIBC_TUNABLES", "RADIOMIX_KEEP_HEAP"}}
    env.update(extra)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
@pytest.mark.parametrize(
    ("extra", "tuned"),
    [
        ({}, 1),
        ({"RADIOMIX_KEEP_HEAP": "0"}, 0),
        ({"RADIOMIX_KEEP_HEAP": "off"}, 0),
        ({"MALLOC_TRIM_THRESHOLD_": "65536"}, 0),  # what Dask's nanny sets for its workers
        ({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}, 0),
    ],
)
def test_keep_freed_heap_leaves_malloc_alone_when_the_environment_says(
    extra: dict[str, str], tuned: int
) -> None:
    out = subprocess.run([sys.executable, "-c", KEEP_CHILD], capture_output=True, text=True,
                         check=True, env=_clean_env(**extra)).stdout.split()
    if tuned and out == ["0"]:
        pytest.skip("this C library is not glibc (no mallopt thresholds)")
    assert out == [str(tuned)]


FAULT_CHILD = r"""
import resource, sys
from radiomix.extraction import extract
from radiomix.settings import load_preset
settings = load_preset("ibsi-C")
image, mask = sys.argv[1], sys.argv[2]
for _ in range(2):  # the heap's working set is built
    extract(image, mask, settings=settings)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    extract(image, mask, settings=settings)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_later_cases_reuse_the_heap_instead_of_faulting_pages_in_again() -> None:
    case = require_data("sts", "nifti", "STS_002", "ct")
    args = [sys.executable, "-c", FAULT_CHILD, str(case / "image.nii.gz"),
            str(case / "mask.nii.gz")]
    kept = float(subprocess.run(args, capture_output=True, text=True, check=True,
                                env=_clean_env()).stdout)
    default = float(subprocess.run(args, capture_output=True, text=True, check=True,
                                   env=_clean_env(RADIOMIX_KEEP_HEAP="0")).stdout)
    # glibc's defaults: about 570 minor faults a case on this 17 k-voxel ROI (its arrays
    # mapped and zeroed again each case); kept heap: next to none
    assert kept <= max(50.0, 0.1 * default), (kept, default)
