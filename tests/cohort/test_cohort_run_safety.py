"""Runs that go wrong end cleanly: workers die with their parent, one run per output folder,
lost Dask workers time out, a manifest pointing nowhere is refused before any worker starts.

Real processes throughout: ``python -m radiomix.cli_cohort`` killed with SIGKILL (its
children found with psutil), a lock held by this test process, and a Dask scheduler with one
``dask worker --no-nanny`` subprocess killed with SIGKILL mid-run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cohort_helpers import FAST, SMALL, lesion, write_study

from radiomix.cohort import LOCK_FILE, OutputLock, run_study
from radiomix.errors import OutputLockedError, SettingsError, WorkersLostError

psutil = pytest.importorskip("psutil")

SLOWER = {"pet": {**FAST["pet"], "interpolation": {"spacing": [2.0, 2.0, 2.0]}}}


def _cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "radiomix.cli_cohort", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def test_sigkill_of_a_pool_run_leaves_no_worker(tmp_path):
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL], settings=SLOWER)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "radiomix.cli_cohort", str(study), "--out", str(out), "-q", "-j2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    children: list = []
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            children = parent.children(recursive=True)
            workers = [c for c in children if "python" in c.name().lower()]
            if len(workers) >= 2 and any((out / "cases").glob("*.json")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        children = parent.children(recursive=True)
        assert len(children) >= 2
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    time.sleep(10)
    alive = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append((child.pid, child.name()))
        except psutil.NoSuchProcess:
            pass
    assert not alive, f"processes outlived the killed run: {alive}"


@pytest.fixture
def small_study(tmp_path):
    return write_study(tmp_path / "s", [lesion(p) for p in SMALL[:2]])


def test_second_run_on_a_locked_folder_exits_2_naming_the_holder(small_study, tmp_path):
    out = tmp_path / "out"
    with OutputLock(out):  # this process is the first run
        res = _cli(small_study, "--out", out, "-q")
        with pytest.raises(OutputLockedError, match=rf"process id {os.getpid()} on "):
            run_study(small_study, out)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"is in use by another radiomix run (process id {os.getpid()} on " in lines[0]
    assert "give another --out" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == []  # nothing written, lock file gone


def test_stale_lock_of_a_dead_run_is_recovered(small_study, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).write_text("pid 999999 on a-host-that-was-killed\n")  # no flock held
    result = run_study(small_study, out)
    assert result.ok
    assert not (out / LOCK_FILE).exists()


def test_lock_is_released_after_a_failed_run(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    out = tmp_path / "out"
    with OutputLock(out):
        pass
    assert not (out / LOCK_FILE).exists()
    run_study(study, out)
    run_study(study, out)  # the first run's lock does not block the second


def test_manifest_pointing_nowhere_is_refused_before_workers_start(tmp_path):
    study = write_study(
        tmp_path / "s", [lesion(p) for p in SMALL[:3]], data_root=str(tmp_path / "moved")
    )
    out = tmp_path / "out"
    with pytest.raises(
        SettingsError,
        match=r"none of the 3 image paths of manifest manifest\.csv exists .*the data folder "
        r".*moved does not exist",
    ):
        run_study(study, out, jobs=2)
    assert not out.exists()
    res = _cli(study, "--out", out, "-j", "2")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.timeout(600)
def test_dask_run_whose_only_worker_is_killed_ends_within_the_timeout(tmp_path):
    distributed = pytest.importorskip("distributed")
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL], settings=SLOWER)
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
             "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with distributed.Client(address) as client:
                client.wait_for_workers(1, timeout=120)

            def kill_after_first_case():
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    if any((out / "cases").glob("*.json")):
                        break
                    time.sleep(0.02)
                os.kill(worker.pid, signal.SIGKILL)

            killer = threading.Thread(target=kill_after_first_case, daemon=True)
            killer.start()
            t0 = time.monotonic()
            with pytest.raises(WorkersLostError, match=r"no worker for 3 s with \d+ of 8 case"):
                run_study(study, out, scheduler=address, worker_timeout_s=3.0)
            waited = time.monotonic() - t0
            killer.join()
        finally:
            worker.kill()
            worker.wait(timeout=30)
    assert waited < 240
    done = len(list((out / "cases").glob("*.json")))
    assert 1 <= done < 8
    resumed = run_study(study, out)  # a re-run resumes from the cases already done
    assert (resumed.n_cached, resumed.n_computed, resumed.n_failed) == (done, 8 - done, 0)


@pytest.mark.slow
def test_local_dask_run_is_quiet_without_verbose(small_study, tmp_path):
    pytest.importorskip("distributed")
    res = subprocess.run(
        [sys.executable, "-c", "from radiomix.cli import main; main()", "run", str(small_study),
         "--out", str(tmp_path / "out"), "--scheduler", "local", "-j", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert not [ln for ln in lines if "distributed." in ln], res.stderr
    assert len(lines) <= 4, res.stderr  # the summary, a line per case, the result line


def _started_until_a_case_is_done(cmd: list[str], out: Path) -> subprocess.Popen:
    """The run ``cmd`` started in its own session, once it has written a case to ``out``
    (or ended, or four minutes passed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any((out / "cases").glob("*.json")):
            break
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize(("how", "code", "said"), [
    ("ctrl-c", 130, "interrupted (Ctrl-C): nothing more is written"),
    ("sigterm", 143, "terminated (SIGTERM): nothing more is written"),
    ("sighup", 129, "terminated (SIGHUP): nothing more is written"),
])
def test_a_stopped_run_says_it_resumes_and_no_worker_prints_a_traceback(tmp_path, how, code,
                                                                          said):
    """Round 17: Ctrl-C (SIGINT to the whole process group, as a terminal sends it) ended a
    run with exit 130 and not a word, while the fork server printed a KeyboardInterrupt
    traceback. Round 21 (outside tester c): SIGTERM, as `timeout` or a batch system's time
    limit sends it to the run's process, ended a `--jobs 2` run with exit -15 and not a
    word, a "leaked semaphore" warning and the folder's lock left behind. The run now says
    what is kept; the workers end with the run; the lock is removed; the same command
    resumes."""
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL], settings=SLOWER)
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from radiomix.cli import main; main()", "run", str(study),
           "--out", str(out), "-j2"]
    proc = _started_until_a_case_is_done(cmd, out)
    parent = psutil.Process(proc.pid)
    assert proc.poll() is None, "the run ended before it could be stopped"
    children = parent.children(recursive=True)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:  # to the run's own process only, as `timeout` (or a closing terminal) does
        proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert said in err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert "leaked" not in err
    assert not (out / LOCK_FILE).exists()
    time.sleep(5)
    alive = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"processes outlived the stopped run: {alive}"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    done = int(again.stderr.split(" current (skipped)")[0].rsplit(" ", 1)[-1])
    assert done >= 1, again.stderr


def test_ctrl_c_under_the_local_dask_scheduler_prints_no_worker_traceback(tmp_path):
    """Round 19: with `--scheduler local`, Ctrl-C printed a KeyboardInterrupt traceback
    from each Dask worker process (6 of 9 tries). The workers start ignoring SIGINT; the
    run stops them and says what is kept."""
    pytest.importorskip("distributed")
    study = write_study(tmp_path / "s", [lesion(p) for p in SMALL], settings=SLOWER)
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from radiomix.cli import main; main()", "run", str(study),
           "--out", str(out), "-j2", "--scheduler", "local"]
    proc = _started_until_a_case_is_done(cmd, out)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted (Ctrl-C): nothing more is written" in err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
