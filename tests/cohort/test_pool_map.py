"""``radiomix.cohort.pool_map``: the local worker pool of ``extract_many``, ``stability`` and
the analysis engine (real worker processes forked from the fork server)."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from radiomix.analysis.engine import _run_tasks
from radiomix.cohort import pool_map
from radiomix.errors import InputError

_MARK = "RADIOMIX_TEST_POOL_SETUP"


def _setup() -> None:
    os.environ[_MARK] = "done"


def _square(x: int) -> tuple[int, int, str | None]:
    return x * x, os.getpid(), os.environ.get(_MARK)


def _frozen(x: int) -> int:
    import gc

    return gc.get_freeze_count()


FROZEN_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_pool_map import _frozen
from radiomix.cohort import pool_map
if __name__ == "__main__":
    print(json.dumps(sorted(v for _, v in pool_map(_frozen, [0, 1, 2], 2,
                                                   preload=("radiomix.analysis.engine",)))))
"""


def test_workers_start_with_the_servers_objects_frozen(tmp_path):
    """Every fork server freezes what its preload imported (``radiomix._fork_freeze``,
    added by ``worker_context``), whatever the pool: here the analysis engine's. (A fresh
    process: the fork server is started once per process.)"""
    import json
    import subprocess
    import sys
    from pathlib import Path

    probe = tmp_path / "frozen_probe.py"
    probe.write_text(FROZEN_PROBE)
    proc = subprocess.run([sys.executable, str(probe), str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=300, check=True)
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(counts) == 3
    assert min(counts) > 10_000  # the engine's imports: pandas, scikit-learn, ...


def _die_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)
    return x


def test_every_task_once_in_workers_after_setup():
    got = dict(pool_map(_square, list(range(7)), 2, preload=(), setup=_setup,
                        order=[6, 5, 4, 3, 2, 1, 0]))
    assert sorted(got) == list(range(7))
    assert all(got[i][0] == i * i for i in got)
    assert os.getpid() not in {pid for _, pid, _ in got.values()}
    assert {mark for _, _, mark in got.values()} == {"done"}  # setup ran in each worker
    assert os.environ.get(_MARK) is None  # ... and not here


def test_a_dead_worker_breaks_the_pool_and_says_so_per_task():
    got = dict(pool_map(_die_on_three, [3, 1, 2], 1, preload=()))
    assert sorted(got) == [0, 1, 2]
    assert isinstance(got[0], BrokenProcessPool)  # the task whose worker died
    # the others either finished before the death or are reported as broken, never lost
    assert all(got[i] == x or isinstance(got[i], BrokenProcessPool)
               for i, x in ((1, 1), (2, 2)))


def test_the_engine_turns_a_dead_worker_into_one_clear_error():
    with pytest.raises(InputError, match=r"worker process died.*--jobs 1"):
        _run_tasks(_die_on_three, [1, 3, 2], 2, done=lambda i: None)
    seen: list[int] = []
    assert _run_tasks(_die_on_three, [5, 4], 2, done=seen.append) == [5, 4]
    assert sorted(seen) == [0, 1]
