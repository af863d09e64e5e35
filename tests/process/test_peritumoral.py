"""Peritumoral rings: thickness by brute-force distances, no overlap, organ clipping."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.peritumoral import peritumoral_ring, peritumoral_rings, ring_name


def _brute_distance(mask: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) from each voxel centre to the nearest ROI voxel centre, by brute force."""
    roi = np.argwhere(mask) * np.asarray(spacing)
    grid = np.argwhere(np.ones(mask.shape, bool)) * np.asarray(spacing)
    d = np.sqrt(((grid[:, None, :] - roi[None, :, :]) ** 2).sum(-1)).min(axis=1)
    return d.reshape(mask.shape)


@pytest.fixture(scope="module")
def blob():
    rng = np.random.default_rng(5)
    mask = np.zeros((9, 14, 15), bool)
    mask[3:6, 5:9, 4:10] = True
    mask[4, 9, 6] = True
    mask[rng.random(mask.shape) > 0.995] = True  # a few isolated voxels
    return mask


@pytest.mark.parametrize(("inner", "outer"), [(0.0, 3.0), (2.0, 5.0), (0.0, 1.1)])
def test_ring_thickness_matches_brute_force_distances(blob, inner, outer):
    spacing = (2.5, 0.8, 1.1)
    ring = peritumoral_ring(blob, spacing=spacing, inner_mm=inner, outer_mm=outer)
    d = _brute_distance(blob, spacing)
    eps = 1e-6  # radii are inclusive up to rounding
    expected = (d > inner + eps) & (d <= outer + eps) & ~blob
    np.testing.assert_array_equal(ring, expected)
    assert not (ring & blob).any()
    assert ring.any()


def test_ring_2d_stays_in_tumour_slices(blob):
    spacing = (2.5, 0.8, 1.1)
    ring = peritumoral_ring(blob, spacing=spacing, outer_mm=2.0, dimensionality="2d")
    for z in range(blob.shape[0]):
        if not blob[z].any():
            assert not ring[z].any()
            continue
        d = _brute_distance(blob[z][None], (1.0, *spacing[1:]))[0]
        np.testing.assert_array_equal(ring[z], (d > 1e-6) & (d <= 2.0 + 1e-6) & ~blob[z])


def test_rings_are_disjoint_and_clipped_to_organ(blob):
    spacing = (1.0, 1.0, 1.0)
    organ = np.zeros(blob.shape, bool)
    organ[:, :, :8] = True
    rings = peritumoral_rings(blob, spacing=spacing, edges_mm=(0, 2, 4), organ_mask=organ)
    assert list(rings) == ["ring_0to2mm", "ring_2to4mm"]
    a, b = rings.values()
    assert not (a & b).any()
    assert not ((a | b) & ~organ).any()
    assert not ((a | b) & blob).any()
    full = peritumoral_ring(blob, spacing=spacing, outer_mm=4.0, organ_mask=organ)
    np.testing.assert_array_equal(a | b, full)


def test_ring_on_real_sts_mask_has_requested_thickness():
    path = require_data("sts", "nifti", "STS_002", "ct", "mask.nii.gz")
    img = sitk.ReadImage(str(path))
    mask = sitk.GetArrayFromImage(img) > 0
    spacing = tuple(reversed(img.GetSpacing()))
    ring = peritumoral_ring(mask, spacing=spacing, inner_mm=2.0, outer_mm=6.0)
    # independent check: SimpleITK's signed Maurer distance map (mm, from voxel centres)
    dist = sitk.GetArrayFromImage(
        sitk.SignedMaurerDistanceMap(
            sitk.Cast(img > 0, sitk.sitkUInt8),
            insideIsPositive=False,
            squaredDistance=False,
            useImageSpacing=True,
        )
    )
    # the Maurer map measures to the ROI boundary; outside voxels it equals the distance to
    # the nearest ROI voxel centre
    outside = ~mask
    np.testing.assert_allclose(
        np.where(ring, 1, 0)[outside],
        ((dist > 2.0) & (dist <= 6.0))[outside].astype(int),
    )
    assert not (ring & mask).any()
    assert ring.sum() > 0


def test_ring_name_and_border_warning(caplog):
    assert ring_name(0, 5) == "ring_0to5mm"
    assert ring_name(2.5, 7.5) == "ring_2p5to7p5mm"
    mask = np.zeros((3, 5, 5), bool)
    mask[1, 2, 2] = True
    with caplog.at_level(logging.WARNING, logger="radiomix.process.peritumoral"):
        peritumoral_ring(mask, spacing=(1, 1, 1), outer_mm=5.0)
    assert "reaches the edge of the image array" in caplog.text


def test_ring_errors(blob):
    sp = (1.0, 1.0, 1.0)
    with pytest.raises(EmptyRoiError, match="ROI mask holds no voxel"):
        peritumoral_ring(np.zeros((3, 3, 3), bool), spacing=sp, outer_mm=2.0)
    with pytest.raises(SettingsError, match="0 <= inner_mm < outer_mm"):
        peritumoral_ring(blob, spacing=sp, inner_mm=3.0, outer_mm=2.0)
    with pytest.raises(SettingsError, match="outer_mm must be a finite number"):
        peritumoral_ring(blob, spacing=sp, outer_mm=float("inf"))
    with pytest.raises(GeometryMismatchError, match="organ_mask shape"):
        peritumoral_ring(blob, spacing=sp, outer_mm=2.0, organ_mask=np.ones((2, 2, 2), bool))
    with pytest.raises(InputError, match="must be a 3D array"):
        peritumoral_ring(blob[0], spacing=sp, outer_mm=2.0)
    with pytest.raises(SettingsError, match="dimensionality must be 2d or 3d"):
        peritumoral_ring(blob, spacing=sp, outer_mm=2.0, dimensionality="4d")
    with pytest.raises(SettingsError, match="strictly increasing radii"):
        peritumoral_rings(blob, spacing=sp, edges_mm=(0, 5, 5))
