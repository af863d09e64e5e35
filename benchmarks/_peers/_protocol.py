"""Worker side of the ``bench_ibsi.py`` protocol (standard library only).

Each tool runs in its own virtual environment, in one long-lived (warm) process started by
``benchmarks/bench_ibsi.py``. The driver writes one JSON object per line on the worker's
stdin and reads one JSON object per line back:

``{"op": "info"}``
    -> ``{"ok": true, "tool": ..., "version": ..., "python": ..., "notes": [...]}``.
    The first request; it also imports the tool, so import and JIT costs are never timed.
``{"op": "run", "image": PATH, "mask": PATH, "processing": {...}, "options": {...}}``
    -> ``{"ok": true, "seconds": s, "cpu_seconds": s, "n_features": n, "n_nonfinite": k,
    "notes": {...}}``. ``seconds`` is the wall time of one extraction call measured inside the
    worker: file loading, preprocessing and feature computation, nothing else (no JSON, no
    pipe). ``cpu_seconds`` is the process CPU time over the same call (all threads), so
    ``cpu_seconds / seconds`` well above 1 reveals a tool that ignored the one-thread setting.
``{"op": "quit"}``
    -> the worker exits.

A failed request answers ``{"ok": false, "error": "...", "traceback": "..."}`` and the worker
keeps serving. Libraries that print to stdout cannot corrupt the protocol: the protocol
writes to a private duplicate of the original stdout, and file descriptor 1 is pointed at
stderr before the tool is imported.

A worker module defines three functions and calls :func:`serve` with them:

``info() -> dict``
    Imports the tool; returns ``{"tool", "version", "notes"}``.
``prepare(processing, options) -> callable(image, mask) -> result``
    Builds the tool's configuration once (not timed); the returned callable is the timed call.
``summarise(result) -> (n_features, n_nonfinite, notes)``
    Counts the feature values of a result (not timed).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any


def _protocol_stream() -> Any:
    """Keep the real stdout for protocol lines and point fd 1 (library prints) at stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def count_values(values: Iterable[Any]) -> tuple[int, int]:
    """Number of feature values and how many of them are not finite numbers."""
    n = 0
    bad = 0
    for v in values:
        n += 1
        try:
            if not math.isfinite(float(v)):
                bad += 1
        except (TypeError, ValueError):
            bad += 1
    return n, bad


def serve(
    info: Callable[[], dict[str, Any]],
    prepare: Callable[[dict[str, Any], dict[str, Any]], Callable[[str, str], Any]],
    summarise: Callable[[Any], tuple[int, int, dict[str, Any]]],
) -> None:
    """Answer requests from stdin until ``quit`` or end of input (see the module docstring)."""
    proto = _protocol_stream()
    prepared: dict[str, Callable[[str, str], Any]] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                break
            if op == "info":
                reply: dict[str, Any] = {
                    "ok": True,
                    "python": sys.version.split()[0],
                    "executable": sys.executable,
                    **info(),
                }
            elif op == "run":
                processing = req.get("processing", {})
                options = req.get("options", {})
                key = json.dumps([processing, options], sort_keys=True)
                if key not in prepared:
                    prepared[key] = prepare(processing, options)
                call = prepared[key]
                c0 = time.process_time()
                t0 = time.perf_counter()
                result = call(req["image"], req["mask"])
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - c0
                n, bad, notes = summarise(result)
                reply = {
                    "ok": True,
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "n_features": n,
                    "n_nonfinite": bad,
                    "notes": notes,
                }
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as exc:  # report and keep serving: one bad case must not end the run
            reply = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        proto.write(json.dumps(reply, default=str) + "\n")
    proto.close()
