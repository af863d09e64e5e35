"""Warm-up of a cohort's fork server: run a few cases once before the first fork.

A worker forked from the fork server of :func:`radiomix.cohort.worker_context` shares what
the server holds. Without a warm-up, every worker loads its compiled kernels from numba's
cache and builds the embedding network at its first case (about 1.3 s of CPU a worker on
the sarcoma study), and a run with two workers pays that twice where a serial run pays it
once. The server imports this module last among its preloads: it waits for the cases the
run hands it with :class:`Handoff` (the run plans its cases while the server imports), runs
each once (one per tag: the kernels and the network that tag needs), and only then forks,
so that every worker starts warm.

The warm-up cases are cases of the run, and their records are kept: every forked worker
inherits them, and the run collects them with :func:`kept_records` (a task like any other,
run by the first forked worker) instead of computing those cases again. A record does not
depend on the process that computed it (one BLAS and one ITK thread, as in a pool worker;
the same function :func:`radiomix.cohort.run_case`), and the server reports a case's
problems as a worker does (its log goes to the run's standard error). A case that raises
in the server (which :func:`~radiomix.cohort.run_case` never does for a problem of the
case) leaves the server as it was and has no kept record: the run computes it in a worker.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from radiomix._fork_signals import WARMUP_ENV

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
        self.token = str(self.path)
        """Names this handoff to :func:`kept_records`."""
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
            cases = list(pickle.load(fh))
        global TOKEN
        TOKEN = name
        return cases
    except (OSError, pickle.UnpicklingError, EOFError):
        return []
    finally:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


WARMED = 0
"""Cases this process ran as its warm-up (a forked worker inherits the server's count)."""

TOKEN: str | None = None
"""The handoff (:attr:`Handoff.token`) whose cases this server read, if any."""

KEPT: dict[str, dict[str, Any]] = {}
"""Records of the warm-up cases, by case key (inherited by every forked worker)."""


def warm_up(cases: Sequence[Any]) -> int:
    """Run ``cases`` once with :func:`radiomix.cohort.run_case`, keeping the records in
    :data:`KEPT` under each case's ``key``.

    Returns
    -------
    int
        The number of cases that ran to a record (also added to :data:`WARMED`).
    """
    global WARMED
    from radiomix.cohort import _init_pool_worker, run_case

    _init_pool_worker()  # one ITK thread, as in every pool worker
    done = 0
    for case in cases:
        try:
            record = run_case(case)
        except Exception:  # the case runs again in a worker, where it is reported
            continue
        KEPT[str(getattr(case, "key", ""))] = record
        done += 1
    WARMED += done
    return done


def kept_records(token: str) -> dict[str, dict[str, Any]]:
    """In a worker forked from the fork server: the records of the warm-up cases the
    server ran for the handoff ``token`` (:attr:`Handoff.token`), by case key; none for
    another handoff (a server left running by an earlier run in the same process)."""
    return dict(KEPT) if token == TOKEN else {}


warm_up(_take_cases())
