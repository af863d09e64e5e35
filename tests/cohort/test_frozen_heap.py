"""A cohort run keeps the process's objects out of garbage collections while it runs
(``radiomix.cohort._frozen_heap``), and gives them back when it ends.

Oracle: :func:`gc.get_freeze_count` seen from inside each case and after the run.
"""

from __future__ import annotations

import gc

import pytest
from cohort_helpers import SMALL, lesion, write_study

from radiomix import cohort


@pytest.fixture
def nothing_frozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_heap_is_frozen_inside_and_given_back(nothing_frozen):
    made: list[object] = []
    with cohort._frozen_heap() as refreeze:
        inside = gc.get_freeze_count()
        assert inside > 1000  # the imports (numpy, radiomix, pytest)
        made.append([[i] for i in range(1000)])  # lists: tracked by the collector
        refreeze()
        assert gc.get_freeze_count() >= inside + 1000  # what was made since joins
    assert gc.get_freeze_count() == 0


def test_an_error_inside_gives_the_heap_back(nothing_frozen):
    seen: list[int] = []

    def fail() -> None:
        with cohort._frozen_heap():
            seen.append(gc.get_freeze_count())
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        fail()
    assert seen[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_callers_frozen_objects_are_left_as_they_are(nothing_frozen):
    gc.freeze()
    before = gc.get_freeze_count()
    keep = [[i] for i in range(100)]
    with cohort._frozen_heap() as refreeze:
        refreeze()  # does nothing: the caller manages its frozen objects
        assert gc.get_freeze_count() == before
    assert gc.get_freeze_count() == before
    assert keep


def test_a_serial_run_computes_its_cases_with_the_heap_frozen(
    tmp_path, monkeypatch, nothing_frozen
):
    """Every case of a serial run sees the heap frozen, the cases after the first also what
    the first made (its kernels); the run gives it all back."""
    seen: list[int] = []
    run_case = cohort.run_case

    def counting(task):
        seen.append(gc.get_freeze_count())
        return run_case(task)

    monkeypatch.setattr(cohort, "run_case", counting)
    study = write_study(tmp_path, [lesion(p, tags=("ct",)) for p in SMALL[:3]], tags=("ct",))
    result = cohort.run_study(study, tmp_path / "out")
    assert result.ok
    assert len(seen) == 3
    assert seen[0] > 1000
    assert seen[1] > seen[0]
    assert gc.get_freeze_count() == 0
