"""IBSI 2 phase 1: every reference response map, reproduced through the public API.

A test passes when every voxel lies within 1 % of the reference map's range (max − min) of
the reference value, the criterion of the IBSI 2 study (reference data README).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.process.filters import (
    IBSI2_PHASE1_PHANTOMS,
    IBSI2_PHASE1_PRESETS,
    apply_filter,
)

REF_DIR = ("ibsi2", "reference_response_maps")


def _read(path) -> tuple[np.ndarray, tuple[float, float, float]]:
    img = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(img), tuple(reversed(img.GetSpacing()))  # type: ignore[return-value]


def test_every_reference_map_has_a_preset():
    folder = require_data(*REF_DIR)
    files = sorted(p.name for p in folder.glob("*-ValidCRM.nii"))
    ids = {f.removesuffix("-ValidCRM.nii").replace("_", ".") for f in files}
    assert len(files) == 33
    assert ids == set(IBSI2_PHASE1_PRESETS)
    assert set(IBSI2_PHASE1_PHANTOMS) == set(IBSI2_PHASE1_PRESETS)


@pytest.mark.parametrize("test_id", list(IBSI2_PHASE1_PRESETS))
def test_ibsi2_phase1_response_map(test_id: str):
    ref_path = require_data(*REF_DIR, f"{test_id.replace('.', '_')}-ValidCRM.nii")
    phantom_path = require_data(
        "ibsi2", "digital_phantom", IBSI2_PHASE1_PHANTOMS[test_id], "image.nii.gz"
    )
    reference, ref_spacing = _read(ref_path)
    image, spacing = _read(phantom_path)
    assert ref_spacing == spacing
    original = image.copy()

    response = apply_filter(image, spacing=spacing, settings=IBSI2_PHASE1_PRESETS[test_id])

    reference = reference.astype(np.float64)
    tolerance = 0.01 * (reference.max() - reference.min())
    assert response.shape == reference.shape
    assert response.dtype == np.float64
    worst = np.abs(response - reference).max()
    assert worst <= tolerance, f"{test_id}: max |diff| {worst:.4g} > tolerance {tolerance:.4g}"
    np.testing.assert_array_equal(image, original)  # the input is not modified
