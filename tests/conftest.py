"""Shared fixtures: the reference data folder ../shared/data beside the checkout.

Tests that need it use the ``shared_data`` fixture (or :func:`require_data`). They skip with
the reason when the folder is absent, and fail instead when ``RADIOMIX_REQUIRE_DATA=1``
(set by ``.ci/run``), so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_DIR = Path(
    os.environ.get("RADIOMIX_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def require_data(*parts: str) -> Path:
    """Return ``DATA_DIR / parts``; skip (or fail under RADIOMIX_REQUIRE_DATA=1) if absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        msg = f"reference data not found: {path} (the ../shared/data folder beside the checkout)"
        if os.environ.get("RADIOMIX_REQUIRE_DATA") == "1":
            pytest.fail(msg + "; RADIOMIX_REQUIRE_DATA=1 makes this a failure")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skips or fails when absent, see module docstring)."""
    return require_data()


def read_reference_rows(dataset: str, family_code: str | None = None) -> list[dict[str, str]]:
    """Rows of ibsi1/reference_values.csv for one data set (and optionally one family)."""
    import csv

    path = require_data("ibsi1", "reference_values.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        r
        for r in rows
        if r["dataset"] == dataset and (family_code is None or r["family_code"] == family_code)
    ]


@pytest.fixture(scope="session")
def digital_phantom_context():
    """RoiContext of the IBSI 1 digital phantom, unprocessed (grey levels used as is)."""
    import numpy as np
    import SimpleITK as sitk

    from radiomix.roi import IvhInput, RoiContext
    from radiomix.settings import FeatureSettings

    folder = require_data("ibsi1", "digital_phantom")
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "image.nii.gz"))).astype(float)
    img_mask = sitk.ReadImage(str(folder / "mask.nii.gz"))
    mask = sitk.GetArrayFromImage(img_mask) > 0
    spacing = tuple(reversed(img_mask.GetSpacing()))
    levels = np.where(mask, np.rint(image), 0).astype(np.int64)
    values = image[mask]
    return RoiContext(
        image,
        mask,
        mask,
        spacing,
        levels=levels,
        n_levels=int(levels.max()),
        ivh=IvhInput(values=values, lower=float(values.min()), upper=float(values.max()), step=1.0),
        settings=FeatureSettings(),
    )
