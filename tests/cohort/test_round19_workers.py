"""Nineteenth outside round, runs on Dask workers.

- M2: a worker with another radiomix (an older install, feature revision 4 against the
  run's 6) computed cases that the run filed under its own keys: 24 to 41 columns a lesion
  differed from a local run, and later local runs reused them as current.
- M8: a worker that could not see the data said ``image not found: <ct image>`` for every
  case, naming neither the worker nor the fix.
"""

from __future__ import annotations

import dataclasses

import pytest

from radiomix.cohort import FEATURE_REVISION, CaseTask, run_case
from radiomix.settings import ExtractionSettings


def _task(tmp_path, **changes):
    base = CaseTask(key="k" * 32, patient_id="P1", lesion_id="1", tag="ct",
                    image=str(tmp_path / "missing.nii.gz"),
                    mask=str(tmp_path / "missing_mask.nii.gz"), label=None, roi_name=None,
                    resample_mask=False, settings=ExtractionSettings())
    return dataclasses.replace(base, **changes)


def test_a_task_of_another_radiomix_is_refused_by_the_worker(tmp_path):
    record = run_case(_task(tmp_path, client=("0.0.1", FEATURE_REVISION - 3)))
    assert record["status"] == "error"
    assert record["cacheable"] is False
    err = record["error"]
    assert err["error_type"] == "WorkerVersionError"
    assert f"(revision {FEATURE_REVISION - 3})" in err["message"]
    assert "install the run's radiomix on every worker" in err["message"]


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as c:
        yield c


def test_a_worker_that_cannot_see_a_file_says_so(tmp_path, cluster):
    distributed = pytest.importorskip("distributed")
    from radiomix.cohort import _own_version

    task = _task(tmp_path, client=(_own_version(), FEATURE_REVISION))
    with distributed.Client(cluster.scheduler_address) as client:
        record = client.submit(run_case, task, pure=False).result(timeout=120)
    message = record["error"]["message"]
    assert record["cacheable"] is False
    assert "on the Dask worker 127.0.0.1:" in message
    assert "cannot see this file: give every worker the data at the same paths" in message
    # the same task here, outside a worker: the message of a missing file alone
    local = run_case(task)["error"]["message"]
    assert "Dask worker" not in local
