"""Interpolation grid (IBSI 1 §2.4) on small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.check import check_case
from radiomix.process.interpolate import aligned_grid
from radiomix.process.pipeline import process_case
from radiomix.settings import settings_from_dict


def _case(arr, spacing, mask=None):
    img = sitk.GetImageFromArray(arr.astype(float))
    img.SetSpacing(spacing)
    m = sitk.GetImageFromArray(
        np.ones(arr.shape, np.uint8) if mask is None else mask.astype(np.uint8)
    )
    m.CopyInformation(img)
    return check_case(img, m)


def _settings(spacing, method="linear", dim="2d", **extra):
    return settings_from_dict(
        {
            "dimensionality": dim,
            "interpolation": {"spacing": spacing, "method": method},
            "discretisation": {"method": "fbn", "bins": 8},
            "crop": {"margin_mm": 100.0},
            **extra,
        }
    )


def test_5x4_image_to_2mm_grid_size_and_centre():
    """A 5 (x) × 4 (y) image of 1 mm to 2 mm: ceil(2.5) = 3 by ceil(2) = 2 voxels whose
    centres sit at x = 0, 2, 4 and y = 0.5, 2.5 (original indices): the grid centre (2, 1.5)
    is the original centre. With f = 10·y + x, linear interpolation is exact there."""
    y, x = np.mgrid[0:4, 0:5]
    arr = (10.0 * y + x)[None]  # one slice
    case = _case(arr, (1.0, 1.0, 1.0))
    out = process_case(case, _settings([None, 2.0, 2.0]))
    img = out.context.image
    assert img.shape == (1, 2, 3)
    np.testing.assert_allclose(img[0], [[5.0, 7.0, 9.0], [25.0, 27.0, 29.0]])
    assert out.spacing == (1.0, 2.0, 2.0)
    np.testing.assert_allclose(out.origin, (0.0, 0.5, 0.0))


def test_grid_beyond_original_extrapolates_nearest_boundary():
    """5 voxels of 2 mm to 3 mm: ceil(10/3) = 4 points at −0.25, 1.25, 2.75, 4.25; the
    outer two lie beyond the original grid and take the boundary intensity."""
    g = aligned_grid(5, 2.0, 3.0)
    assert g.size == 4
    np.testing.assert_allclose(g.positions(), [-0.25, 1.25, 2.75, 4.25])
    arr = np.tile(np.arange(5.0) * 10, (1, 1, 1))
    out = process_case(_case(arr, (2.0, 2.0, 2.0)), _settings([None, 2.0, 3.0]))
    np.testing.assert_allclose(out.context.image[0, 0], [0.0, 12.5, 27.5, 40.0])


def test_3d_trilinear_and_rounding():
    z, y, x = np.mgrid[0:3, 0:3, 0:3]
    arr = (100.0 * z + 10.0 * y + x).astype(float)
    s = _settings([1.5, 1.5, 1.5], dim="3d")
    # 3 voxels of 1 mm to 1.5 mm: ceil(2) = 2 points at 0.25 and 1.75
    out = process_case(_case(arr, (1.0, 1.0, 1.0)), s)
    p = np.array([0.25, 1.75])
    expected = 100 * p[:, None, None] + 10 * p[None, :, None] + p[None, None, :]
    np.testing.assert_allclose(out.context.image, expected)
    rounded = settings_from_dict(
        {**_raw(s), "interpolation": {"spacing": [1.5, 1.5, 1.5], "round_intensities": True}}
    )
    out = process_case(_case(arr, (1.0, 1.0, 1.0)), rounded)
    np.testing.assert_array_equal(out.context.image, np.round(expected))


def _raw(s):
    from radiomix.settings import settings_to_dict

    d = settings_to_dict(s)
    d["features"]["families"] = list(d["features"]["families"])
    return d


@pytest.mark.parametrize(("threshold", "expected"), [(0.5, [0, 1, 1, 1]), (0.75, [0, 0, 1, 0])])
def test_mask_partial_volume_threshold(threshold, expected):
    """A 1-D ROI [0 0 0 1 1 1 1 0] sampled at half-voxel offsets gives fractions
    0, 0.5, 1, 0.5 at the new points; the threshold decides which join the ROI."""
    arr = np.zeros((1, 1, 8))
    mask = np.array([[[0, 0, 0, 1, 1, 1, 1, 0]]])
    s = _settings([None, 1.0, 2.0], mask_interpolation={"partial_volume_threshold": threshold})
    out = process_case(_case(arr, (1.0, 1.0, 1.0), mask), s)
    # 8 voxels of 1 mm to 2 mm: 4 points at 0.5, 2.5, 4.5, 6.5 → fractions 0, 0.5, 1, 0.5
    np.testing.assert_array_equal(out.context.morph_mask[0, 0].astype(int), expected)
