"""The same scan gives the same interpolation grid from a NIfTI file (float32 spacing in its
header) as from NRRD or DICOM (decimal text read as float64).

Round 17: 100 slices of 0.8 mm resampled to 1 mm gave 81 planes from NIfTI
(100 x 0.800000011920929 = 80.0000012, ceiling 81) and 80 from NRRD: the grids half a voxel
apart, the volume 1.7 % and the mean 3.3 % different, exit 0. And a 1.6 mm grid on 0.8 mm
voxels puts every point halfway between two voxels, where float32's error decides the
nearest voxel one way and float64 the other."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from radiomix.extraction import extract
from radiomix.process.interpolate import aligned_grid, decimal_spacing, grid_size


@settings(max_examples=500, deadline=None)
@given(n=st.integers(1, 600), digits=st.integers(1, 4000), scale=st.sampled_from([1e-3, 1e-2]),
       target=st.sampled_from([0.5, 1.0, 1.25, 1.5, 1.6, 2.0, 3.0]))
def test_a_float32_spacing_gives_the_grid_of_its_decimal(n, digits, scale, target):
    decimal = round(digits * scale, 6)
    stored = float(np.float32(decimal))
    assert decimal_spacing(stored) == decimal
    assert aligned_grid(n, stored, target) == aligned_grid(n, decimal, target)


def test_grid_size_is_ibsi_ceiling_away_from_rounding():
    assert grid_size(2.5) == 3
    assert grid_size(80.01) == 81
    assert grid_size(22.000000000000004) == 22  # 12 x 1.1 / 0.6
    assert grid_size(80.0000012) == 80  # 100 x float32(0.8) / 1
    assert grid_size(0.3) == 1
    # a ratio truly above an integer keeps the ceiling, however large
    assert grid_size(600.001) == 601


def _write_pair(tmp_path, spacing_zyx, shape=(100, 30, 30)):
    """The same voxels as NIfTI (float32 header) and NRRD (float64 text)."""
    rng = np.random.default_rng(3)
    z, y, x = np.indices(shape)
    c = [s / 2 for s in shape]
    sz, sy, sx = spacing_zyx
    r = np.sqrt(((z - c[0]) * sz) ** 2 + ((y - c[1]) * sy) ** 2 + ((x - c[2]) * sx) ** 2)
    image = (40.0 * np.exp(-r / 9.0) + rng.normal(0, 5, shape)).astype(np.int16)
    mask = (r < 8.0).astype(np.uint8)
    paths = {}
    for ext in ("nii.gz", "nrrd"):
        for name, arr in (("image", image), ("mask", mask)):
            img = sitk.GetImageFromArray(arr)
            img.SetSpacing((sx, sy, sz))
            path = tmp_path / f"{name}.{ext}"
            sitk.WriteImage(img, str(path))
            paths[(ext, name)] = path
    return image, mask, paths


@pytest.mark.parametrize(("spacing", "target", "mask_method"), [
    ((0.8, 0.7, 0.7), 1.0, "linear"),   # 100 x 0.8 / 1: the grid-size ceiling
    ((0.8, 0.8, 0.8), 1.6, "nearest"),  # every point halfway: nearest-neighbour ties
    ((0.8, 0.8, 0.8), 1.6, "linear"),   # mask fractions of exactly 0.5 on the border
])
def test_nifti_and_nrrd_of_one_scan_give_the_same_features(tmp_path, spacing, target,
                                                           mask_method):
    image, mask, paths = _write_pair(tmp_path, spacing)
    assert sitk.ReadImage(str(paths[("nii.gz", "image")])).GetSpacing()[2] != spacing[0]
    config = {"interpolation": {"spacing": [target] * 3, "method": "linear"},
              "mask_interpolation": {"method": mask_method, "partial_volume_threshold": 0.5},
              "discretisation": {"method": "fbs", "bin_width": 5.0},
              "features": {"families": ["morph", "stat", "glcm"]}}
    rows = {ext: extract(paths[(ext, "image")], paths[(ext, "mask")], settings=config).features
            for ext in ("nii.gz", "nrrd")}
    a, b = rows["nii.gz"], rows["nrrd"]
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float) and math.isfinite(a[key]):
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9), key
    # independent: the number of ROI voxels on IBSI's grid of the decimal spacing (points
    # centred on the original grid, ceil(n s / s') of them), from scipy
    axes = []
    for n, s in zip(image.shape, spacing, strict=True):
        size = math.ceil(round(n * s / target, 9))
        step = target / s
        axes.append((n - 1) / 2 - (size - 1) / 2 * step + step * np.arange(size))
    coords = np.meshgrid(*axes, indexing="ij")
    if mask_method == "nearest":
        idx = [np.clip(np.floor(c + 0.5 + 1e-9).astype(int), 0, n - 1)
               for c, n in zip(coords, image.shape, strict=True)]
        expected = int(mask[tuple(idx)].sum())
    else:
        frac = ndimage.map_coordinates(mask.astype(float), coords, order=1, mode="nearest")
        expected = int((np.round(frac, 6) >= 0.5).sum())
    voxels = [k for k in a if k.endswith("morph.volume_voxels")]
    assert voxels
    assert a[voxels[0]] == pytest.approx(expected * target**3, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(digits=st.integers(1, 4000), scale=st.sampled_from([1e-3, 1e-2]),
       kept=st.integers(9, 16))
def test_a_float32_spacing_cut_to_dicom_text_gives_its_decimal(digits, scale, kept):
    """Round 20 (tester Y): the IBSI CT phantom's DICOM says PixelSpacing
    0.97699999809265 (float32 0.977 in 16 characters), its NIfTI float32 0.977: 2 voxels of
    30 000 came out 1 HU apart after interpolation (ties), stat.mean 11.5300632 against
    11.5300998."""
    decimal = round(digits * scale, 6)
    text = float(f"{float(np.float32(decimal)):.{kept}g}")
    assert decimal_spacing(text) == decimal


def test_a_decimal_that_is_no_float32_text_is_kept():
    for spacing in (0.97656200000001, 0.9769999, 0.8000001, 1.0000000001):
        assert decimal_spacing(spacing) == spacing


def test_dicom_text_of_a_float32_spacing_gives_the_nifti_features(tmp_path):
    image, mask, paths = _write_pair(tmp_path, (0.8, 0.8, 0.8), shape=(40, 30, 30))
    cut = float(f"{float(np.float32(0.8)):.14g}")  # 0.80000001192093, as DICOM writes it
    assert cut not in (0.8, float(np.float32(0.8)))
    for name, arr in (("image", image), ("mask", mask)):
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing((cut, cut, cut))
        sitk.WriteImage(img, str(tmp_path / f"{name}_cut.nrrd"))
    assert sitk.ReadImage(str(tmp_path / "image_cut.nrrd")).GetSpacing()[0] == cut
    config = {"interpolation": {"spacing": [1.6] * 3, "method": "linear"},
              "mask_interpolation": {"method": "nearest"},
              "discretisation": {"method": "fbs", "bin_width": 5.0},
              "features": {"families": ["morph", "stat"]}}
    a = extract(paths[("nii.gz", "image")], paths[("nii.gz", "mask")], settings=config).features
    b = extract(tmp_path / "image_cut.nrrd", tmp_path / "mask_cut.nrrd",
                settings=config).features
    for key in a:
        if isinstance(a[key], float) and math.isfinite(a[key]):
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9), key
