"""Parallel runs give the serial table: a local process pool and a real Dask cluster (a
scheduler and two worker processes on loopback), with the tasks seen on both workers."""

from __future__ import annotations

import pandas as pd
import pytest
from cohort_helpers import FAST, SMALL, lesion, write_study

from radiomix.cohort import run_study
from radiomix.errors import SettingsError
from radiomix.table import read_provenance


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parallel")
    rows = [lesion(p, lung_mets=str(i % 2)) for i, p in enumerate(SMALL)]
    rows[5]["pet_mask"] = "nifti/STS_998/pet/mask.nii.gz"  # one failing case as well
    pet = {**FAST["pet"], "features": {"families": ["stat", "ih"]}}  # quick families
    return write_study(folder, rows, settings={"pet": pet}, columns={"labels": ["lung_mets"]})


@pytest.fixture(scope="module")
def serial(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial_out")
    result = run_study(study, out)
    assert (result.n_cases, result.n_failed) == (8, 1)
    return result


def _same_tables(a, b):
    pd.testing.assert_frame_equal(
        pd.read_parquet(a.features_path), pd.read_parquet(b.features_path)
    )
    pd.testing.assert_frame_equal(pd.read_parquet(a.errors_path), pd.read_parquet(b.errors_path))


def test_process_pool_equals_serial(study, serial, tmp_path):
    result = run_study(study, tmp_path / "out", jobs=2)
    _same_tables(result, serial)
    prov = read_provenance(result.features_path)
    assert prov["execution"]["mode"] == "process-pool"
    workers = {c["worker"] for c in prov["cases"]}
    assert read_provenance(serial.features_path)["cases"][0]["worker"] not in workers


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    ) as c:
        yield c


def test_dask_cluster_equals_serial_and_uses_both_workers(study, serial, cluster, tmp_path):
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    result = run_study(study, tmp_path / "out", scheduler=address)
    _same_tables(result, serial)
    prov = read_provenance(result.features_path)
    assert prov["execution"] == {"mode": "dask", "jobs": None, "scheduler": "remote",
                                 "workers": 2, "cases_run": len(prov["cases"]), "note": None}
    used = {c["worker"] for c in prov["cases"] if c["status"] == "ok"}
    assert used == {cluster.workers[w].worker_address for w in cluster.workers}
    assert len(used) == 2  # no silent serial fallback


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(study, serial, tmp_path):
    pytest.importorskip("distributed")
    result = run_study(study, tmp_path / "out", jobs=2, scheduler="local")
    _same_tables(result, serial)
    prov = read_provenance(result.features_path)
    assert {c["worker"].split(":")[0] for c in prov["cases"]} == {"tcp"}


def test_unreachable_scheduler_is_a_settings_error(study, tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(SettingsError, match="cannot connect to the Dask scheduler"),
    ):
        run_study(study, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}")


def test_a_port_where_no_dask_scheduler_listens_is_refused_in_time(study, tmp_path):
    """A web server (like the dashboard on 8787) accepts the connection and never answers
    Dask's handshake: the run hung with no limit (the client's own timeout does not end
    that wait). Now a settings error within the worker timeout."""
    pytest.importorskip("distributed")
    import http.server
    import threading
    import time

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # the refused handshake is not the test's output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t0 = time.monotonic()
        with pytest.raises(SettingsError, match=r"cannot connect to the Dask scheduler .*no "
                                                r"answer to Dask's handshake within 3 s"):
            run_study(study, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{server.server_port}",
                      worker_timeout_s=3)
        assert time.monotonic() - t0 < 30
    finally:
        server.shutdown()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "http://127.0.0.1:8786",
                                     "tcp://:8786", "tcp://host:port"])
def test_a_scheduler_address_without_a_port_or_with_another_scheme_is_refused(address):
    from radiomix.cohort import check_scheduler_address

    with pytest.raises(SettingsError, match=r"tcp://HOST:PORT"):
        check_scheduler_address(address)
    check_scheduler_address("tcp://10.0.0.5:8786")
    check_scheduler_address("local")


POOL_PROBE = """
import json, os, sys
from types import SimpleNamespace
sys.path[:0] = [sys.argv[2], os.path.dirname(sys.argv[2])]
from cohort_helpers import modules_at_call
from radiomix.cohort import _run_pool
deep = sys.argv[1] == "deep"
tasks = [SimpleNamespace(case_id=f"c{i}", deep=object() if deep else None, image=None, mask=None)
         for i in range(4)]
from radiomix._threads import WORKER_THREAD_ENV
seen = list(_run_pool(tasks, 2, fn=modules_at_call))
env = sorted(k for k in WORKER_THREAD_ENV if k in os.environ)
print(json.dumps([{**r, "parent": os.getpid(), "parent_env": env} for r in seen]))
"""


@pytest.mark.parametrize("deep", [False, True])
def test_pool_workers_start_preloaded(deep):
    """Workers are forked from a server that imported the extraction stack (and torch when
    deep features are asked for): the first case of a worker does not import it again,
    and the server's objects are out of the worker's garbage collections (frozen: tens of
    thousands of objects, hundreds of thousands with torch). (A fresh process each: the
    fork server is started once per process.)"""
    import json
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.run(
        [sys.executable, "-c", POOL_PROBE, "deep" if deep else "radiomics",
         str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=300, check=True, env=_without_thread_env(),
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(r["case_id"] for r in seen) == ["c0", "c1", "c2", "c3"]
    assert all(r["extraction"] for r in seen), seen
    assert all(r["torch"] == deep for r in seen), seen
    assert all(r["pid"] != r["parent"] for r in seen)
    assert all(r["frozen"] > (100_000 if deep else 10_000) for r in seen), seen
    _assert_one_blas_thread(seen)


def _without_thread_env() -> dict[str, str]:
    """This environment without the BLAS/OpenMP thread variables (a user's default)."""
    import os

    from radiomix._threads import WORKER_THREAD_ENV

    return {k: v for k, v in os.environ.items() if k not in WORKER_THREAD_ENV}


def _assert_one_blas_thread(seen: list[dict]) -> None:
    """Every worker's BLAS libraries were started with one thread (where the machine has
    more than one core, they would start one per core without the worker environment) and
    the run's own environment is as it was (the probes print it as ``parent_env``)."""
    assert all(r["blas_threads"] and set(r["blas_threads"]) == {1} for r in seen), seen
    assert all(r["parent_env"] == [] for r in seen), seen


BRIDGE_PROBE = """
import json, os, sys
from types import SimpleNamespace
sys.path[:0] = [sys.argv[1], os.path.dirname(sys.argv[1])]
from cohort_helpers import timed_modules_at_call
from radiomix.cohort import _run_pool
tasks = [SimpleNamespace(case_id=f"c{i}", deep=object() if i % 3 == 0 else None, image=None,
                         mask=None) for i in range(12)]
if __name__ == "__main__":
    from radiomix._threads import WORKER_THREAD_ENV
    seen = list(_run_pool(tasks, 2, fn=timed_modules_at_call))
    env = sorted(k for k in WORKER_THREAD_ENV if k in os.environ)
    print(json.dumps([{**r, "parent": os.getpid(), "parent_env": env} for r in seen]))
    again = list(_run_pool(tasks, 2, fn=timed_modules_at_call))  # the server is up now
    print(json.dumps([{**r, "parent": os.getpid()} for r in again]))
"""


def test_bridge_workers_run_radiomics_cases_while_the_server_imports_torch(tmp_path):
    """With deep features, the fork server imports torch and MONAI for seconds; meanwhile a
    spawned bridge worker (extraction stack only) runs the cases without deep features.
    Every case runs once, deep cases only on the torch-loaded workers, and never more than
    ``jobs`` cases at once; a second run finds the server up and spawns no bridge. (A fresh
    process: the fork server is started once per process.)"""
    import json
    import subprocess
    import sys
    from pathlib import Path

    probe = tmp_path / "bridge_probe.py"
    probe.write_text(BRIDGE_PROBE)
    proc = subprocess.run([sys.executable, str(probe), str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=300, check=True,
                          env=_without_thread_env())
    seen, again = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    _assert_one_blas_thread(seen)  # the spawned bridge worker's and the forked ones'
    assert sorted(r["case_id"] for r in seen) == sorted(f"c{i}" for i in range(12))
    deep = {f"c{i}" for i in range(0, 12, 3)}
    assert all(r["torch"] for r in seen if r["case_id"] in deep), seen
    assert all(r["extraction"] for r in seen), seen
    bridged = [r for r in seen if r["ppid"] == r["parent"]]  # spawned by the run itself
    assert bridged, "no case ran on a bridge worker"
    assert not any(r["torch"] or r["case_id"] in deep for r in bridged), bridged
    assert len({r["pid"] for r in bridged}) == 1  # jobs - 1 bridge workers
    first_deep = min(r["start"] for r in seen if r["case_id"] in deep)
    assert min(r["start"] for r in bridged) < first_deep  # it ran while the server imported
    events = sorted([(r["start"], 1) for r in seen] + [(r["end"], -1) for r in seen])
    running = [sum(step for _, step in events[: i + 1]) for i in range(len(events))]
    assert max(running) <= 2
    # a second run in the same process finds the server up: no bridge is spawned
    assert sorted(r["case_id"] for r in again) == sorted(f"c{i}" for i in range(12))
    assert all(r["ppid"] != r["parent"] and r["torch"] for r in again), again


_SERVER_PROBE = r"""
import os, sys
from pathlib import Path

import radiomix.cohort as cohort


def fork_server_children():
    # processes whose parent is this one and whose command line is the fork server's
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"forkserver" in cmd:
            found.append(int(stat.parent.name))
    return found


seen = []
plan = cohort.plan_cases


def spy(*args, **kwargs):
    seen.append(len(fork_server_children()))
    return plan(*args, **kwargs)


cohort.plan_cases = spy
if __name__ == "__main__":
    assert fork_server_children() == []
    result = cohort.run_study(sys.argv[1], sys.argv[2], jobs=int(sys.argv[3]))
    print("servers while planning:", seen, "cases:", result.n_cases)
"""


def _probe_run(study, out, jobs, tmp_path):
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(_SERVER_PROBE)
    done = subprocess.run(
        [sys.executable, str(probe), str(study), str(out), str(jobs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize(("jobs", "servers"), [(2, 1), (1, 0)])
def test_fork_server_starts_before_planning(study, tmp_path, jobs, servers):
    """With workers, their fork server is already importing while a first run plans and
    hashes the cases (it is not waited for at the first task); a serial run starts none."""
    out = _probe_run(study, tmp_path / "out", jobs, tmp_path)
    assert f"servers while planning: [{servers}] cases: 8" in out


def test_rerun_starts_no_fork_server_before_planning(study, tmp_path):
    """A re-run (its cases mostly current) does not start workers it may not need."""
    _probe_run(study, tmp_path / "out", 2, tmp_path)
    out = _probe_run(study, tmp_path / "out", 2, tmp_path)
    assert "servers while planning: [0] cases: 8" in out


def test_input_bytes_orders_cases_by_their_files(tmp_path):
    """The pool's cost proxy: a file's size, a DICOM folder's files added up, 0 when
    missing (the case then fails on its own, whatever its place in the queue)."""
    from types import SimpleNamespace

    from radiomix.cohort import _input_bytes

    series = tmp_path / "series"
    series.mkdir()
    for i, n in enumerate((100, 250, 50)):
        (series / f"{i}.dcm").write_bytes(b"x" * n)
    (series / "sub").mkdir()  # not a file of the series
    mask = tmp_path / "mask.nii.gz"
    mask.write_bytes(b"m" * 30)

    def task(image, mask_path):
        return SimpleNamespace(image=image, mask=mask_path)

    assert _input_bytes(task(str(series), str(mask))) == 430
    assert _input_bytes(task(str(mask), None)) == 30
    assert _input_bytes(task(str(tmp_path / "missing.nii.gz"), str(mask))) == 30
    assert _input_bytes(task(None, None)) == 0


WARM_PROBE = """
import json, os, sys
sys.path[:0] = [sys.argv[2], os.path.dirname(sys.argv[2])]
from cohort_helpers import warm_state_at_call
from radiomix import cohort
from radiomix.settings.study import load_study
if __name__ == "__main__":
    _, tasks = cohort.plan_cases(load_study(sys.argv[1]))
    handoff = cohort.start_fork_server(cohort._case_preload(False))
    if sys.argv[3] == "send":
        handoff.send(cohort.warmup_cases(tasks))
    else:
        handoff.send([])
    seen = list(cohort._run_pool(tasks[:4], 2, fn=warm_state_at_call))
    print(json.dumps({"tags": sorted({t.tag for t in tasks}), "seen": seen}))
"""


@pytest.mark.parametrize("send", [True, False])
def test_fork_server_warms_up_on_the_cases_it_is_handed(study, tmp_path, send):
    """The fork server runs the handed warm-up cases (one per tag) before its first fork:
    a worker's first case finds the compiled kernels loaded; with no cases handed, it
    does not. (A fresh process each: the fork server is started once per process.)"""
    import json
    import subprocess
    import sys
    from pathlib import Path

    probe = tmp_path / "warm_probe.py"
    probe.write_text(WARM_PROBE)
    proc = subprocess.run(
        [sys.executable, str(probe), str(study), str(Path(__file__).parent),
         "send" if send else "none"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out["seen"]) == 4
    for row in out["seen"]:
        assert row["warmed"] == (len(out["tags"]) if send else 0), out
        assert row["kernel_loaded"] is send, out


KEPT_PROBE = """
import json, os, sys
from multiprocessing import forkserver
from radiomix import cohort
from radiomix.settings.study import load_study
if __name__ == "__main__":
    _, tasks = cohort.plan_cases(load_study(sys.argv[1]))
    handoff = cohort.start_fork_server(cohort._case_preload(False))
    warm = [t.key for t in cohort.warmup_cases(tasks, jobs=2)]
    records = list(cohort._run_pool(tasks, 2, handoff=handoff))
    print(json.dumps({"warm": warm, "server": forkserver._forkserver._forkserver_pid,
                      "keys": [t.key for t in tasks],
                      "ran": {r["key"]: r["run"]["worker"] for r in records},
                      "count": len(records)}))
"""


def test_the_warm_up_cases_are_not_computed_again(study, serial, tmp_path):
    """The fork server's warm-up cases are cases of the run: their records come from the
    server (collected by the first forked worker), every other case from a worker, and each
    case is computed once. (A fresh process: the fork server is started once per process.)"""
    import json
    import subprocess
    import sys

    probe = tmp_path / "kept_probe.py"
    probe.write_text(KEPT_PROBE)
    proc = subprocess.run([sys.executable, str(probe), str(study)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["count"] == len(out["keys"]) == len(out["ran"])  # each case once
    assert set(out["ran"]) == set(out["keys"])
    assert len(out["warm"]) == 1  # the study's one tag (PET), eight cases
    server = f"process-{out['server']}"
    assert {k for k, w in out["ran"].items() if w == server} == set(out["warm"])


def test_warmup_cases_are_the_smallest_case_of_each_tag(tmp_path):
    """One case per tag with more cases than workers, the one with the smallest input files;
    a case with a known problem (an empty manifest cell, a missing file) is never a warm-up
    case."""
    from types import SimpleNamespace

    from radiomix.cohort import warmup_cases

    def case(name, tag, size, problem=None):
        path = tmp_path / f"{name}.nii.gz"
        path.write_bytes(b"x" * size)
        return SimpleNamespace(case_id=name, tag=tag, image=str(path), mask=None,
                               problem=problem)

    tasks = [case("a", "ct", 300), case("b", "ct", 100), case("c", "pet", 50, ("input", "E", "m")),
             case("d", "pet", 400), case("e", "mr", 10)]
    assert [t.case_id for t in warmup_cases(tasks)] == ["b", "d"]  # one MR case: none
    assert [t.case_id for t in warmup_cases(tasks, jobs=0)] == ["e", "b", "d"]
    assert [t.case_id for t in warmup_cases(tasks, jobs=2)] == []  # two workers, two cases
    assert warmup_cases([tasks[2], tasks[3]]) == [tasks[3]]
    assert warmup_cases([tasks[2], tasks[2]]) == []
