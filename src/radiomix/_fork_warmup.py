"""Warm-up of a cohort's fork server: run a few cases once before the first fork.

A worker forked from the fork server of :func:`radiomix.cohort.worker_context` shares what
the server holds. Without a warm-up, every worker loads its compiled kernels from numba's
cache and builds the embedding network at its first case (about 1.3 s of CPU a worker on
the sarcoma study), and a run with two workers pays that twice where a serial run pays it
once. The server imports this module last among its preloads: it waits for the cases the
run hands it with :class:`Handoff` (the run plans its cases while the server imports), runs
each once (one per tag: the kernels and the network that tag needs) and discards the
records, so that every worker it forks starts warm.

The warm-up changes no value: a case's record is computed from its inputs and settings
only, whichever process ran a case before. It is silent (logging and warnings are off while
it runs: the run reports every case's problems) and best effort (an exception leaves the
server as it was, and the case runs again in a worker, where it is reported).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

WARMUP_ENV = "RADIOMIX_FORK_WARMUP"
"""Environment variable ``PID:PATH``: the process that starts a server and the file through
which it hands over the cases."""

WAIT_S = 600.0
"""Longest time a server waits for its cases (it stops waiting when the run ends)."""


class Handoff:
    """The file through which a run hands its warm-up cases to the fork server it starts.

    Create it, start the server inside :meth:`environment` (the server inherits the
    variable naming the file), then call :meth:`send` once the cases are planned; a second
    :meth:`send` does nothing, so a run calls it again on every way out (with no cases) to
    release a server still waiting. The file is removed by the server once read, or when
    this process ends.
    """

    def __init__(self) -> None:
        folder = tempfile.mkdtemp(prefix="radiomix-warmup-")
        self.path = Path(folder) / "cases.pickle"
        self.sent = False
        atexit.register(self._remove)

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Context in which :data:`WARMUP_ENV` names this handoff's file."""
        os.environ[WARMUP_ENV] = f"{os.getpid()}:{self.path}"
        try:
            yield
        finally:
            os.environ.pop(WARMUP_ENV, None)

    def send(self, cases: Sequence[Any]) -> None:
        """Write ``cases`` for the server (atomically: it never reads a partial file).

        If they cannot be written (a full or read-only temporary folder), the handoff's
        folder is removed instead, which also releases the server: it runs no warm-up.
        """
        if self.sent:
            return
        self.sent = True
        part = self.path.with_suffix(".part")
        try:
            with part.open("wb") as fh:
                pickle.dump(list(cases), fh)
            os.replace(part, self.path)
        except Exception:  # best effort (full disk, an object pickle refuses)
            self._remove()

    def _remove(self) -> None:
        for path in (self.path, self.path.with_suffix(".part")):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()


def _take_cases() -> list[Any]:
    """The cases of the handoff named by :data:`WARMUP_ENV` (waiting for them while the
    process that started this one is alive and the handoff's folder exists, at most
    :data:`WAIT_S`), or none. The handoff's file and folder are removed either way (the
    run that made them may have been killed)."""
    value = os.environ.pop(WARMUP_ENV, None)
    if not value or ":" not in value:
        return []
    pid, name = value.split(":", 1)
    path = Path(name)
    parent = int(pid) if pid.isdigit() else -1  # the run that started this server
    deadline = time.monotonic() + WAIT_S
    try:
        while not path.exists():
            if (os.getppid() != parent or not path.parent.exists()
                    or time.monotonic() > deadline):
                return []
            time.sleep(0.005)
        with path.open("rb") as fh:
            return list(pickle.load(fh))
    except (OSError, pickle.UnpicklingError, EOFError):
        return []
    finally:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


WARMED = 0
"""Cases this process ran as its warm-up (a forked worker inherits the server's count)."""


def warm_up(cases: Sequence[Any]) -> int:
    """Run ``cases`` once with :func:`radiomix.cohort.run_case`, discarding the records.

    Returns
    -------
    int
        The number of cases that ran to a record (also added to :data:`WARMED`).
    """
    global WARMED
    from radiomix.cohort import run_case

    done = 0
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for case in cases:
                try:
                    run_case(case)
                except Exception:  # best effort: the case runs again in a worker
                    continue
                done += 1
    finally:
        logging.disable(previous)
    WARMED += done
    return done


warm_up(_take_cases())
