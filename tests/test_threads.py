"""One BLAS thread inside radiomix's extraction (``radiomix._threads``).

Oracle: threadpoolctl's own report of the BLAS libraries' thread counts, read while the
extraction runs (from the feature stage) and after it returns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from threadpoolctl import threadpool_info, threadpool_limits

import radiomix.extraction as extraction


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def _write_case(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    image = rng.normal(40.0, 30.0, size=(14, 16, 18))
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[3:11, 4:12, 5:14] = 1
    paths = folder / "image.nii.gz", folder / "mask.nii.gz"
    for array, path in zip((image, mask), paths, strict=True):
        img = sitk.GetImageFromArray(array)
        img.SetSpacing((1.0, 1.2, 1.5))
        sitk.WriteImage(img, str(path))
    return paths


@pytest.fixture
def two_blas_threads():
    import scipy.linalg  # noqa: F401  (its BLAS, too)

    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads() or min(_blas_threads()) < 2:
            pytest.skip("this machine's BLAS cannot be given two threads")
        yield


def test_extract_runs_blas_on_one_thread_and_restores_the_callers_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_blas_threads: None
) -> None:
    seen: list[list[int]] = []
    compute = extraction.compute_features

    def probe(*args, **kwargs):
        seen.append(_blas_threads())
        return compute(*args, **kwargs)

    monkeypatch.setattr(extraction, "compute_features", probe)
    image, mask = _write_case(tmp_path)
    result = extraction.extract(image, mask, settings="ibsi-C")
    assert result.features  # the extraction ran through the probe
    assert seen
    assert all(n == 1 for threads in seen for n in threads), seen
    assert min(_blas_threads()) == 2  # the caller's limit is back


def test_worker_thread_environment_sets_only_what_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from radiomix._threads import WORKER_THREAD_ENV, worker_thread_environment

    for key in WORKER_THREAD_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's choice is kept
    with worker_thread_environment():
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["MKL_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert "MKL_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "3"


POOL_MAP_PROBE = """
import json, os

def probe(_):
    from threadpoolctl import threadpool_info
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]

if __name__ == "__main__":
    from radiomix.cohort import pool_map
    seen = [r for _, r in pool_map(probe, [0, 1, 2, 3], 2)]
    print(json.dumps({"workers": seen, "parent_env": "OPENBLAS_NUM_THREADS" in os.environ}))
"""


def test_pool_map_workers_start_with_one_blas_thread(tmp_path: Path) -> None:
    """A worker of :func:`radiomix.cohort.pool_map` loads its BLAS libraries with one
    thread (OpenBLAS would start one per core, and spin each for its time-out), without
    the caller having set a variable, and the caller's environment is left as it was.
    Oracle: threadpoolctl's report of the thread count each library was started with,
    read in the worker outside any limit (two or more on a machine with two cores or
    more, without the worker environment)."""
    import json
    import os
    import subprocess
    import sys

    from radiomix._threads import WORKER_THREAD_ENV

    script = tmp_path / "probe.py"
    script.write_text(POOL_MAP_PROBE)
    env = {k: v for k, v in os.environ.items() if k not in WORKER_THREAD_ENV}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True, timeout=300, env=env)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(seen["workers"]) == 4
    assert all(threads and set(threads) == {1} for threads in seen["workers"]), seen
    assert seen["parent_env"] is False
