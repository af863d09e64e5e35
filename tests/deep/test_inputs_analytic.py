"""Network inputs against closed-form values (no torch).

The image is a linear ramp ``I(z, y, x) = 1000 z + 10 y + x`` (voxel indices), which
linear interpolation reproduces exactly, so every sampled pixel has a value computed here
from the documented geometry: pixel ``k`` of ``n`` sits at
``centre + ((k + 0.5) / n - 0.5) * side / spacing`` (voxel index units) with
``side = max(extents) + 2 * margin`` in mm.
"""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.deep.inputs import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    parse_intensity,
    sample_lesion,
    to_network_input,
)

SHAPE = (30, 60, 50)
SPACING = (3.0, 0.5, 0.8)
N = 32
MARGIN = 2.0
WIDE = (0.0, 1.0e6)  # window (level, width) that never clips the ramp


def ramp(z, y, x):
    return 1000.0 * z + 10.0 * y + x


def wide(v):
    return (v - (WIDE[0] - WIDE[1] / 2)) / WIDE[1]


@pytest.fixture
def volume():
    z, y, x = np.meshgrid(*(np.arange(s, dtype=float) for s in SHAPE), indexing="ij")
    image = ramp(z, y, x)
    mask = np.zeros(SHAPE, bool)
    mask[10:14, 20:30, 15:23] = True  # bbox z 10..13, y 20..29, x 15..22
    mask[12, 21:29, 16:22] = True  # already inside; slice 12 made the largest below
    mask[11, 20:30, 15:23] = False
    mask[11, 24:26, 18:20] = True
    mask[13, 20:30, 15:23] = False
    mask[13, 22, 17] = True
    mask[10, 20:25, 15:23] = False
    return image, mask


def positions(centre, side, spacing, n=N):
    k = (np.arange(n) + 0.5) / n - 0.5
    return centre + k * side / spacing


def test_slices_follow_the_documented_geometry(volume):
    image, mask = volume
    crops, zs = sample_lesion(
        image,
        mask,
        SPACING,
        mode="slices",
        size=N,
        margin_mm=MARGIN,
        intensity=WIDE,
        mask_background=False,
    )
    assert zs == [10, 11, 12, 13]
    side = max(10 * 0.5, 8 * 0.8) + 2 * MARGIN  # y extent 5 mm, x extent 6.4 mm
    ys = positions(24.5, side, 0.5)
    xs = positions(18.5, side, 0.8)
    for i, z in enumerate(zs):
        expected = wide(ramp(z, ys[:, None], xs[None, :]))
        np.testing.assert_allclose(crops[i], expected, rtol=0, atol=1e-12)


def test_max_slice_is_the_largest_slice(volume):
    image, mask = volume
    areas = mask.sum(axis=(1, 2))
    assert int(np.argmax(areas)) == 12
    crops, zs = sample_lesion(
        image,
        mask,
        SPACING,
        mode="max_slice",
        size=N,
        margin_mm=MARGIN,
        intensity=WIDE,
        mask_background=False,
    )
    assert zs == [12]
    assert crops.shape == (1, N, N)


def test_max_slice_tie_takes_the_lowest_index():
    image = np.zeros((5, 8, 8))
    mask = np.zeros((5, 8, 8), bool)
    mask[1, 2:4, 2:4] = True
    mask[3, 4:6, 4:6] = True
    _, zs = sample_lesion(
        image,
        mask,
        (1.0, 1.0, 1.0),
        mode="max_slice",
        size=32,
        margin_mm=0.0,
        intensity="minmax",
        mask_background=False,
    )
    assert zs == [1]


def test_two_and_a_half_d_planes(volume):
    image, mask = volume
    crops, zs = sample_lesion(
        image,
        mask,
        SPACING,
        mode="2.5d",
        size=N,
        margin_mm=MARGIN,
        intensity=WIDE,
        mask_background=False,
    )
    assert zs is None
    assert crops.shape == (3, N, N)
    side = max(4 * 3.0, 10 * 0.5, 8 * 0.8) + 2 * MARGIN  # 16 mm: the z extent dominates
    zc, yc, xc = 11.5, 24.5, 18.5
    zn, yn, xn = 11, 24, 18  # (lo + hi) // 2: the planes' positions along their normals
    zs_, ys, xs = positions(zc, side, 3.0), positions(yc, side, 0.5), positions(xc, side, 0.8)
    axial = wide(ramp(zn, ys[:, None], xs[None, :]))
    coronal = wide(ramp(zs_[:, None], yn, xs[None, :]))
    sagittal = wide(ramp(zs_[:, None], ys[None, :], xn))
    np.testing.assert_allclose(crops[0], axial, atol=1e-12)
    np.testing.assert_allclose(crops[1], coronal, atol=1e-12)
    np.testing.assert_allclose(crops[2], sagittal, atol=1e-12)


def test_three_d_cube(volume):
    image, mask = volume
    crops, _ = sample_lesion(
        image,
        mask,
        SPACING,
        mode="3d",
        size=N,
        margin_mm=MARGIN,
        intensity=WIDE,
        mask_background=False,
    )
    side = 16.0
    z = positions(11.5, side, 3.0)[:, None, None]
    y = positions(24.5, side, 0.5)[None, :, None]
    x = positions(18.5, side, 0.8)[None, None, :]
    np.testing.assert_allclose(crops, wide(ramp(z, y, x)), atol=1e-12)


def test_minmax_over_the_statistics_region(volume):
    image, mask = volume
    crops, _ = sample_lesion(
        image,
        mask,
        SPACING,
        mode="max_slice",
        size=N,
        margin_mm=MARGIN,
        intensity="minmax",
        mask_background=False,
    )
    # bbox grown by ceil(2/3)=1, ceil(2/0.5)=4, ceil(2/0.8)=3 voxels: z 9..14, y 16..33, x 12..25
    lo, hi = ramp(9, 16, 12), ramp(14, 33, 25)
    side = 6.4 + 2 * MARGIN
    ys, xs = positions(24.5, side, 0.5), positions(18.5, side, 0.8)
    expected = np.clip((ramp(12, ys[:, None], xs[None, :]) - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(crops[0], expected, atol=1e-12)


def test_zscore_over_the_statistics_region(volume):
    image, mask = volume
    crops, _ = sample_lesion(
        image,
        mask,
        SPACING,
        mode="max_slice",
        size=N,
        margin_mm=MARGIN,
        intensity="zscore",
        mask_background=False,
    )
    region = image[9:15, 16:34, 12:26]
    mu, sd = region.mean(), region.std()
    side = 6.4 + 2 * MARGIN
    ys, xs = positions(24.5, side, 0.5), positions(18.5, side, 0.8)
    expected = (ramp(12, ys[:, None], xs[None, :]) - mu) / sd
    np.testing.assert_allclose(crops[0], expected, atol=1e-9)


@pytest.mark.parametrize(
    ("preset", "level", "width"),
    # common CT display windows in HU (level, width)
    [("ct_lung", -600.0, 1500.0), ("ct_soft_tissue", 40.0, 400.0), ("ct_liver", 30.0, 150.0)],
)
def test_window_presets(preset, level, width):
    assert parse_intensity(preset) == ("window", (level, width))
    image = np.full((4, 16, 16), level)
    image[0] = level - width  # far below the window
    image[3] = level + width / 4  # three quarters up the window
    mask = np.zeros(image.shape, bool)
    mask[1:3, 4:12, 4:12] = True
    crops, zs = sample_lesion(
        image,
        mask,
        (1.0, 1.0, 1.0),
        mode="slices",
        size=32,
        margin_mm=0.0,
        intensity=preset,
        mask_background=False,
    )
    assert zs == [1, 2]
    np.testing.assert_allclose(crops, 0.5, atol=1e-12)
    cube, _ = sample_lesion(
        image,
        mask,
        (1.0, 1.0, 1.0),
        mode="3d",
        size=32,
        margin_mm=1.0,
        intensity=preset,
        mask_background=False,
    )
    assert cube.min() == 0.0
    assert 0.5 < cube.max() <= 0.75


def test_outside_the_image_takes_the_lowest_value():
    image = np.full((6, 10, 10), 100.0)
    image[0, 0, 0] = -50.0
    mask = np.zeros(image.shape, bool)
    mask[0:2, 0:3, 0:3] = True  # lesion in the corner: the field of view leaves the image
    crops, _ = sample_lesion(
        image,
        mask,
        (1.0, 1.0, 1.0),
        mode="max_slice",
        size=32,
        margin_mm=5.0,
        intensity="minmax",
        mask_background=False,
    )
    # stats region holds -50 (min) and 100 (max): outside = 0, inside far from (0,0,0) = 1
    assert crops[0, 0, 0] == 0.0
    assert crops[0, -1, -1] == 1.0


def test_background_masking(volume):
    image, mask = volume
    plain, _ = sample_lesion(
        image,
        mask,
        SPACING,
        mode="max_slice",
        size=N,
        margin_mm=MARGIN,
        intensity="minmax",
        mask_background=False,
    )
    masked, _ = sample_lesion(
        image,
        mask,
        SPACING,
        mode="max_slice",
        size=N,
        margin_mm=MARGIN,
        intensity="minmax",
        mask_background=True,
    )
    side = 6.4 + 2 * MARGIN
    ys, xs = positions(24.5, side, 0.5), positions(18.5, side, 0.8)
    # slice 12 ROI: y 20..29, x 15..22 (voxel centres); inside by half a voxel: kept
    inside = ((ys[:, None] > 20.5) & (ys[:, None] < 28.5)) & ((xs[None] > 15.5) & (xs[None] < 21.5))
    outside = (ys[:, None] < 19.5) | (ys[:, None] > 29.5) | (xs[None] < 14.5) | (xs[None] > 22.5)
    assert inside.any()
    assert outside.any()
    np.testing.assert_array_equal(masked[0][inside], plain[0][inside])
    assert (masked[0][outside] == 0.0).all()


def test_inputs_are_not_modified(volume):
    image, mask = volume
    image.flags.writeable = False
    mask.flags.writeable = False
    before = image.copy()
    sample_lesion(
        image,
        mask,
        SPACING,
        mode="2.5d",
        size=N,
        margin_mm=MARGIN,
        intensity="zscore",
        mask_background=True,
    )
    np.testing.assert_array_equal(image, before)


def test_network_input_layout_and_imagenet_standardisation():
    crops = np.full((2, 8, 8), 0.5)
    batch = to_network_input(crops, mode="slices", intensity="minmax")
    assert batch.shape == (2, 3, 8, 8)
    assert batch.dtype == np.float32
    for c in range(3):
        expected = np.float32((0.5 - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
        assert np.all(batch[:, c] == expected)
    planes = np.stack([np.full((8, 8), v) for v in (0.1, 0.2, 0.3)])
    batch = to_network_input(planes, mode="2.5d", intensity="ct_lung")
    assert batch.shape == (1, 3, 8, 8)
    for c, v in enumerate((0.1, 0.2, 0.3)):
        assert np.allclose(batch[0, c], (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
    z = to_network_input(crops - 0.5, mode="max_slice", intensity="zscore")
    assert np.all(z == 0.0)  # z-scored inputs are passed as they are
    cube = to_network_input(np.full((8, 8, 8), 0.25), mode="3d", intensity="minmax")
    assert cube.shape == (1, 1, 8, 8, 8)
    assert np.all(cube == 0.25)
