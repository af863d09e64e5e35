"""The C heap between cases: kept for reuse inside extraction, returned between stages.

glibc's ``malloc`` (Linux) is tuned at the first case of a process (:func:`keep_freed_heap`)
and its free pages handed back between the stages of a command (:func:`release_free_heap`).

Keeping the freed heap. By default glibc serves blocks above a threshold (128 KiB, raised
each time such a block is freed, up to 32 MiB) from fresh ``mmap`` pages and returns the
top of the heap to the system whenever more than twice that threshold is free. An
extraction frees and allocates the same few-MiB arrays (the cropped float images, the
Moran/Geary FFT fields, the texture matrices) case after case, so each case faulted them
in again page by page, the kernel zeroing every page: 570 page faults per STS_002 case,
3 500 per STS_048 case, 3 900 per IBSI CT phantom case, and 11 %, 17 % and 23 % of their CPU
time (``benchmarks/bench_steps.py``; the faults counted with ``getrusage``). With blocks up to
16 MiB served from the heap and up to 64 MiB of free heap kept, the next case reuses the
pages: no faults on those cases, and the process keeps at most 64 MiB it does not use.
Larger blocks (a whole CT's float copy) still come from ``mmap`` and go back when freed.
Set ``RADIOMIX_KEEP_HEAP=0``, or any of glibc's own ``MALLOC_*_`` variables, to leave
``malloc`` as it is.

Returning the free heap. With either setting, after one extraction the case's arrays (the decoded
image, its float64 copy, the texture matrices) are served from the heap and, once freed,
stay in the process's resident set: 88 MiB on STS_020. Nothing reuses them when the
command goes on to import pandas and write its table, so the peak resident set of
``radiomix extract`` was that of the extraction plus the imports (345 MiB on STS_020
against 277 MiB for the extraction alone). ``malloc_trim(0)`` hands the free pages back;
it costs about 0.2 ms and is called between the stages of a command, not inside the
extraction (where the retained heap is reused by the next case).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

MMAP_THRESHOLD = 16 << 20
"""Blocks up to this size (bytes) are served from the heap (glibc ``M_MMAP_THRESHOLD``)."""

TRIM_THRESHOLD = 64 << 20
"""Free heap kept at its top before any is returned (glibc ``M_TRIM_THRESHOLD``)."""

_M_TRIM_THRESHOLD = -1  # mallopt parameters of glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018  (musl has neither malloc_trim nor mallopt's knobs)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def keep_freed_heap() -> bool:
    """Let ``malloc`` keep freed blocks for the next case instead of faulting them in again.

    Called by :func:`radiomix.case.load_case`, so once per process, before its first case.
    Sets glibc's ``M_MMAP_THRESHOLD`` to :data:`MMAP_THRESHOLD` and ``M_TRIM_THRESHOLD`` to
    :data:`TRIM_THRESHOLD` (see the module notes for why and what it costs).

    Returns
    -------
    bool
        True when the thresholds were set; False where ``malloc`` is not glibc's, or the
        environment says to leave it (``RADIOMIX_KEEP_HEAP=0``, glibc's ``MALLOC_*_``
        variables or malloc tunables in ``GLIBC_TUNABLES``: what a user or Dask's nanny
        chose is kept).
    """
    if os.environ.get("RADIOMIX_KEEP_HEAP", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    if any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ) or (
        "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "")
    ):
        return False
    libc = _glibc()
    if libc is None:
        return False
    # mallopt returns 1 on success; the trim threshold first, so that no trim runs with
    # the default one once the mmap threshold is fixed
    done = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return bool(done and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1)


def release_free_heap() -> bool:
    """Give the heap's free pages back to the operating system.

    Returns
    -------
    bool
        True when glibc's ``malloc_trim`` ran (Linux with glibc), False elsewhere (a no-op).
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
