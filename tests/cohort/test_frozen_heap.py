"""A serial run keeps the process's objects out of garbage collections while it runs
(``radiomix.cohort._frozen_heap``), and gives them back when it ends.

Oracle: :func:`gc.get_freeze_count` seen from inside each case and after the run.
"""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from radiomix import cohort


@pytest.fixture
def nothing_frozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_serial_cases_run_with_the_heap_frozen_and_it_is_given_back(monkeypatch, nothing_frozen):
    seen: list[int] = []
    made: list[object] = []

    def fake_case(task):
        seen.append(gc.get_freeze_count())
        made.append([[i] for i in range(1000)])  # objects of the case (lists: tracked)
        return {"case": task.case_id}

    monkeypatch.setattr(cohort, "run_case", fake_case)
    tasks = [SimpleNamespace(case_id=f"c{i}") for i in range(3)]
    records = list(cohort._run_serial(tasks))
    assert [r["case"] for r in records] == ["c0", "c1", "c2"]
    assert seen[0] > 1000  # the imports (numpy, radiomix, pytest) are frozen
    assert seen[1] >= seen[0] + 1000  # and, after the first case, what it made
    assert gc.get_freeze_count() == 0  # given back


def test_a_run_stopped_early_gives_the_heap_back(monkeypatch, nothing_frozen):
    monkeypatch.setattr(cohort, "run_case", lambda task: {"case": task.case_id})
    stream = cohort._run_serial([SimpleNamespace(case_id="a"), SimpleNamespace(case_id="b")])
    assert next(stream) == {"case": "a"}
    assert gc.get_freeze_count() > 0
    stream.close()
    assert gc.get_freeze_count() == 0


def test_a_callers_frozen_objects_are_left_as_they_are(monkeypatch, nothing_frozen):
    seen: list[int] = []
    monkeypatch.setattr(cohort, "run_case",
                        lambda task: seen.append(gc.get_freeze_count()) or {"case": task.case_id})
    gc.freeze()
    before = gc.get_freeze_count()
    assert list(cohort._run_serial([SimpleNamespace(case_id="a")])) == [{"case": "a"}]
    assert seen == [before]
    assert gc.get_freeze_count() == before
