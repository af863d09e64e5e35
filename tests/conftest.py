"""Shared fixtures: the reference data (see _data.py) and the digital phantom context."""

from __future__ import annotations

from pathlib import Path

import pytest

from _data import DATA_DIR, read_reference_rows, require_data

__all__ = ["DATA_DIR", "read_reference_rows", "require_data"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skips or fails when absent, see module docstring)."""
    return require_data()


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
