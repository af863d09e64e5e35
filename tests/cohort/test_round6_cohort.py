"""Sixth outside round, cohort runs: results remembered that were not the case's."""

from __future__ import annotations

import json
import os
import shutil

from cohort_helpers import SMALL, lesion, sts_root, write_study

from radiomix.cohort import InputHashes, run_study


def test_an_image_the_worker_cannot_see_is_not_remembered_as_the_cases_result(tmp_path):
    """A Dask worker without the data failed every case with "image not found", and the
    error was saved as the case's result: a re-run once the worker saw the data still
    reported the cases failed. Here the image disappears after the run has planned (the
    run saw it, the extraction does not), then comes back."""
    data = tmp_path / "data"
    shutil.copytree(sts_root() / "nifti" / SMALL[0], data / "nifti" / SMALL[0])
    row = lesion(SMALL[0])
    image = data / row["pet_image"]
    study = write_study(tmp_path / "s", [row], data_root=str(data))
    hidden = image.with_name("away.nii.gz")

    def hide(progress):
        if progress.event == "start":
            image.rename(hidden)

    first = run_study(study, tmp_path / "out", progress=hide)
    (err,) = first.errors
    assert (err["error_type"], err["stage"]) == ("InputNotFoundError", "load")
    assert "image not found" in err["message"]
    assert not list((tmp_path / "out" / "cases").glob("*.json"))  # not persisted
    hidden.rename(image)
    again = run_study(study, tmp_path / "out")
    assert (again.n_computed, again.n_failed, again.n_rows) == (1, 0, 1)


def test_a_file_edited_in_place_with_its_size_and_time_restored_is_hashed_again(tmp_path):
    """The remembered hash was reused while size and modification time were unchanged:
    an edit with both restored (``touch -r``) kept the old hash, the old case and the old
    SHA-256 in the provenance. The status-change time cannot be set back."""
    path = tmp_path / "mask.nii"
    path.write_bytes(b"\x00" * 64)
    hashes = InputHashes(tmp_path / "input_hashes.json")
    first, _ = hashes(path, "mask")
    stat = path.stat()
    path.write_bytes(b"\x01" + b"\x00" * 63)  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same modification time
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    second, _ = hashes(path, "mask")
    assert second != first


def test_the_remembered_hashes_name_no_folder(tmp_path):
    """``OUT/input_hashes.json`` kept absolute input paths, where folder names may identify
    patients; it keys each path by a hash of it now."""
    folder = tmp_path / "Doe_John_1970"
    folder.mkdir()
    (folder / "image.nii").write_bytes(b"\x00" * 8)
    hashes = InputHashes(tmp_path / "input_hashes.json")
    digest, _ = hashes(folder / "image.nii", "image")
    hashes.save()
    text = (tmp_path / "input_hashes.json").read_text(encoding="utf-8")
    assert "Doe_John" not in text
    assert str(tmp_path) not in text
    assert InputHashes(tmp_path / "input_hashes.json")(folder / "image.nii", "image")[0] == digest
    assert json.loads(text)


def test_a_scheduler_killed_mid_run_stops_the_run_in_one_line(tmp_path):
    """Killing the Dask scheduler mid-run printed Dask's tracebacks and reported every
    pending case as failed; it now stops as a run whose workers are all lost does (the
    cases done are kept), and a re-run resumes."""
    import signal
    import subprocess
    import sys
    import time

    import pytest

    from radiomix.errors import WorkersLostError

    pytest.importorskip("distributed")
    rows = [lesion(p) for p in SMALL]
    study = write_study(tmp_path / "s", rows)
    sched_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(sched_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        for _ in range(300):
            if sched_file.is_file() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
             "--nthreads", "1", "--dashboard-address", ":0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def kill_at_first_case(progress):
            if progress.event == "case" and scheduler.poll() is None:
                scheduler.send_signal(signal.SIGKILL)

        with pytest.raises(WorkersLostError, match=r"the Dask scheduler stopped answering with "
                                                   r"\d+ of 8 case\(s\) pending"):
            run_study(study, tmp_path / "out", scheduler=address, worker_timeout_s=10,
                      progress=kill_at_first_case)
    finally:
        for proc in (worker, scheduler):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    done = len(list((tmp_path / "out" / "cases").glob("*.json")))
    assert 1 <= done < 8
    again = run_study(study, tmp_path / "out")
    assert (again.n_cached, again.n_computed, again.n_rows) == (done, 8 - done, 8)
