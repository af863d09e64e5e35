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
