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
    assert f"(revision {FEATURE_REVISION - 3}, case code ?)" in err["message"]
    assert "install the run's radiomix on every worker" in err["message"]


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as c:
        yield c


def test_a_worker_that_cannot_see_a_file_says_so(tmp_path, cluster):
    distributed = pytest.importorskip("distributed")
    from radiomix.cohort import identity

    task = _task(tmp_path, client=identity())
    with distributed.Client(cluster.scheduler_address) as client:
        record = client.submit(run_case, task, pure=False).result(timeout=120)
    message = record["error"]["message"]
    assert record["cacheable"] is False
    assert "on the Dask worker 127.0.0.1:" in message
    assert "cannot see this file: give every worker the data at the same paths" in message
    # the same task here, outside a worker: the message of a missing file alone
    local = run_case(task)["error"]["message"]
    assert "Dask worker" not in local


@pytest.mark.timeout(600)
@pytest.mark.parametrize("other", ["edited", "older"])
def test_a_run_refuses_dask_workers_of_other_radiomix_code(tmp_path, other):
    """Round 20 (tester Q): a worker of another tree with the same version and feature
    revision passed the check, then failed every case with "'CaseTask' object has no
    attribute 'client'". Workers here run a copy of radiomix: one feature module edited
    (same version, same revision: another case code), or one without ``identity`` (an
    older tree)."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    distributed = pytest.importorskip("distributed")
    from cohort_helpers import FAST, SMALL, lesion, write_study

    import radiomix
    from radiomix.cohort import case_code, run_study
    from radiomix.errors import UsageError

    copy = tmp_path / "other" / "radiomix"
    shutil.copytree(Path(radiomix.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    if other == "edited":
        stat = copy / "features" / "statistics.py"
        stat.write_text(stat.read_text() + "\n# another tree\n")
    else:
        cohort_py = copy / "cohort.py"
        cohort_py.write_text(cohort_py.read_text().replace("def identity(", "def _gone("))
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL[:1]], settings=FAST)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(copy.parent)}
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
             "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            with distributed.Client(address) as client:
                client.wait_for_workers(1, timeout=120)
                seen = client.run(lambda: __import__("radiomix").__file__)
            assert all(str(copy) in path for path in seen.values())
            want = (r"radiomix \S+, feature revision \d+, case code [0-9a-f]{16}"
                    if other == "edited"
                    else r"it cannot run radiomix\.cohort\.identity")
            with pytest.raises(UsageError, match=rf"the Dask worker .* runs another radiomix "
                                                 rf"than this run \({want}.*case code "
                                                 rf"{case_code()}\): install the run's"):
                run_study(study, out, scheduler=address, worker_timeout_s=30.0)
        finally:
            worker.kill()
            worker.wait(timeout=30)
    assert not list(out.glob("cases/*.json"))  # refused before any case


@pytest.mark.timeout(600)
def test_a_run_refuses_a_dask_scheduler_of_an_older_radiomix(tmp_path):
    """Round 20 (tester X): a scheduler started on an older radiomix unpickles the tasks
    with the older class, which drops their new fields: every case then failed on the
    worker with an AttributeError, though the worker itself was the run's."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    distributed = pytest.importorskip("distributed")
    from cohort_helpers import FAST, SMALL, lesion, write_study

    import radiomix
    from radiomix.cohort import run_study
    from radiomix.errors import UsageError

    copy = tmp_path / "other" / "radiomix"
    shutil.copytree(Path(radiomix.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    cohort_py = copy / "cohort.py"
    cohort_py.write_text(cohort_py.read_text().replace("def identity(", "def _gone("))
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL[:1]], settings=FAST)
    info = tmp_path / "scheduler.json"
    old_env = {**os.environ, "PYTHONPATH": str(copy.parent)}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(info)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=old_env)]
    try:
        deadline = time.monotonic() + 120
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
             "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # the run's radiomix
        with distributed.Client(address) as client:
            client.wait_for_workers(1, timeout=120)
        with pytest.raises(UsageError, match=r"the Dask scheduler runs another radiomix than "
                                             r"this run \(it cannot run radiomix\.cohort\."
                                             r"identity"):
            run_study(study, tmp_path / "out", scheduler=address, worker_timeout_s=30.0)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
