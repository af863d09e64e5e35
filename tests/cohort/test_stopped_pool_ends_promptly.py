"""A stopped command does not wait for the cases its workers hold.

Before, a run or ``extract-many`` stopped by SIGTERM or Ctrl-C said "terminated" and then
waited for every case in flight and every case already handed to the workers' queue
(``shutdown(cancel_futures=True)`` cancels only the tasks no worker has taken): 14.5 s on
the sarcoma CT cohort with the IBSI 2 phase-3 preset, as long as a large case takes, while
a batch system follows SIGTERM with SIGKILL. The workers are now killed first.
"""

from __future__ import annotations

import time
from contextlib import closing

import psutil

from radiomix.cohort import pool_map

LONG_S = 120.0  # far longer than stopping may take


def _pool_workers() -> list[psutil.Process]:
    """The worker processes of this process's pools: children of its fork server."""
    servers = [p for p in psutil.Process().children()
               if "forkserver" in " ".join(p.cmdline())]
    return [w for s in servers for w in s.children()]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_closing_the_pool_early_ends_the_workers_holding_cases() -> None:
    # real worker processes, each sleeping as a long case computes
    made = pool_map(time.sleep, [0.0, LONG_S, LONG_S, LONG_S], 2)
    with closing(made):
        assert next(made) == (0, None)
        workers = _pool_workers()
        assert len(workers) == 2
        start = time.monotonic()
    took = time.monotonic() - start
    assert took < 30.0, f"closing the pool waited {took:.0f} s for its workers' cases"
    deadline = time.monotonic() + 10.0
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w.pid for w in workers if _alive(w)], "workers outlived the closed pool"


def test_a_finished_pool_returns_every_result() -> None:
    assert dict(pool_map(abs, [-3, -1, 2], 2)) == {0: 3, 1: 1, 2: 2}
