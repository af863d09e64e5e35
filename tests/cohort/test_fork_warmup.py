"""The handoff between a run and the fork server it starts (:mod:`radiomix._fork_warmup`):
the cases arrive whole, the file is removed once read, and a server whose run cannot write
its cases (or gives up on them) stops waiting at once instead of blocking the first fork."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

from radiomix import _fork_warmup as fw


def _as_server(monkeypatch, handoff: fw.Handoff) -> None:
    """Make this process read ``handoff`` as a server started by its parent would."""
    monkeypatch.setenv(fw.WARMUP_ENV, f"{os.getppid()}:{handoff.path}")


def test_sent_cases_arrive_and_the_file_is_removed(monkeypatch):
    handoff = fw.Handoff()
    _as_server(monkeypatch, handoff)
    handoff.send([{"case": 1}, {"case": 2}])
    handoff.send([{"case": 3}])  # a second send does nothing
    assert fw._take_cases() == [{"case": 1}, {"case": 2}]
    assert not handoff.path.exists()
    assert fw.WARMUP_ENV not in os.environ  # a forked worker never reads it again


def test_a_handoff_that_cannot_be_written_releases_the_server(monkeypatch):
    handoff = fw.Handoff()
    _as_server(monkeypatch, handoff)
    handoff.send([lambda: None])  # cannot be pickled: nothing is written
    assert not handoff.path.parent.exists()
    start = time.monotonic()
    assert fw._take_cases() == []
    assert time.monotonic() - start < 1.0


def test_a_server_of_another_run_does_not_wait(monkeypatch):
    handoff = fw.Handoff()
    monkeypatch.setenv(fw.WARMUP_ENV, f"1:{handoff.path}")  # its parent is not that run
    start = time.monotonic()
    assert fw._take_cases() == []
    assert time.monotonic() - start < 1.0


def test_warm_up_is_best_effort_and_counts_what_ran(monkeypatch):
    import radiomix.cohort as cohort

    ran = []

    def run_case(case):
        if case == "bad":
            raise ValueError("a case that fails in the server runs again in a worker")
        ran.append(case)
        return {}

    monkeypatch.setattr(cohort, "run_case", run_case)
    before = fw.WARMED
    assert fw.warm_up(["a", "bad", "b"]) == 2
    assert ran == ["a", "b"]
    assert before + 2 == fw.WARMED


def test_kept_records_are_those_of_the_handoff_the_server_read(monkeypatch):
    import radiomix.cohort as cohort

    monkeypatch.setattr(cohort, "run_case", lambda case: {"key": case.key, "status": "ok"})
    monkeypatch.setattr(fw, "KEPT", {})
    handoff = fw.Handoff()
    _as_server(monkeypatch, handoff)
    case = SimpleNamespace(key="k1")
    handoff.send([case])
    fw.warm_up(fw._take_cases())
    assert fw.kept_records(handoff.token) == {"k1": {"key": "k1", "status": "ok"}}
    assert fw.kept_records(fw.Handoff().token) == {}  # another run's handoff: nothing
