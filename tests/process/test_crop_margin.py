"""The crop around the ROI only saves work: ``crop.margin_mm`` never changes a feature.

Round 16 found that a small margin (0 or 0.5 mm) with interpolation cut the interpolated ROI
at the crop border (STS_002 PET at 2 mm: 6466 voxels instead of 6777, mean SUV 7.155 instead
of 7.087) and truncated the 1 cm³ sphere of the local intensity peaks (STS_019 PET at 2 mm
margin: global peak 11.864 instead of 11.464), silently. The margin in force is now at least
what the interpolated mask and the peak sphere reach
(:func:`radiomix.process.pipeline.feature_margin_mm`), and a crop that still cuts either is
widened (:func:`radiomix.process.pipeline._clear_of_crop`).

The references are independent: the whole image resampled with
:func:`scipy.ndimage.map_coordinates` on the IBSI grid (centres aligned), and sphere means
by :func:`scipy.ndimage.convolve`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import radiomix
import radiomix.process.pipeline as pipeline
from _data import sts_files
from radiomix.errors import EmptyRoiError, SettingsError
from radiomix.features.extract import compute_features
from radiomix.process.pipeline import feature_margin_mm, process_arrays
from radiomix.settings import settings_from_dict

PEAK_RADIUS_MM = 10.0 * (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)


def _whole_image_reference(case: str, new: float) -> dict[str, float]:
    """Trilinear resampling of the whole PET to ``new`` mm (IBSI: grid centres aligned; a
    float32 spacing read as its shortest decimal),
    mask fraction >= 0.5, and the global intensity peak: the largest mean of the voxels
    within the 1 cm³ sphere around an ROI voxel (over the voxels inside the image)."""
    img_path, msk_path = sts_files(case, "pet")
    img = sitk.ReadImage(str(img_path))
    image = sitk.GetArrayFromImage(img).astype(np.float64)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(msk_path))).astype(np.float64)
    # the NIfTI header's float32 spacing taken as the decimal it stands for (3.27, not
    # 3.2699999809265137), as the IBSI grid of radiomix does (round 17)
    sp = np.array([float(str(np.float32(s))) for s in img.GetSpacing()[::-1]])
    n = np.array(image.shape)
    m = np.ceil(n * sp / new).astype(int)
    axes = [(np.arange(k) * new - (new * (k - 1) - s * (j - 1)) / 2.0) / s
            for k, s, j in zip(m, sp, n, strict=True)]
    grid = np.meshgrid(*axes, indexing="ij")
    values = ndimage.map_coordinates(image, grid, order=1, mode="nearest")
    roi = ndimage.map_coordinates(mask, grid, order=1, mode="constant", cval=0.0) >= 0.5
    half = math.floor(PEAK_RADIUS_MM / new)
    z, y, x = np.meshgrid(*[np.arange(-half, half + 1) * new] * 3, indexing="ij")
    ball = (z * z + y * y + x * x <= PEAK_RADIUS_MM**2).astype(np.float64)
    sums = ndimage.convolve(values, ball, mode="constant", cval=0.0)
    counts = ndimage.convolve(np.ones_like(values), ball, mode="constant", cval=0.0)
    return {
        "voxels": float(roi.sum()),
        "mean": float(values[roi].mean()),
        "peak_global": float((sums / counts)[roi].max()),
    }


def _extract(case: str, new: float, margin: float) -> dict[str, float]:
    img, msk = sts_files(case, "pet")
    row = radiomix.extract(
        img, msk, None, tag="pet", crop={"margin_mm": margin},
        interpolation={"spacing": [new] * 3, "method": "linear"},
        features={"families": ["morph", "stat", "loc"]},
    ).iloc[0]  # fmt: skip
    return {
        "voxels": row["pet.original.morph.volume_voxels"] / new**3,
        "mean": row["pet.original.stat.mean"],
        "peak_global": row["pet.original.loc.peak_global"],
    }


@pytest.mark.parametrize(("case", "margin"), [("STS_002", 0.0), ("STS_002", 0.5),
                                              ("STS_019", 2.0)])
def test_small_margin_gives_the_whole_image_values(case: str, margin: float) -> None:
    want = _whole_image_reference(case, 2.0)
    got = _extract(case, 2.0, margin)
    assert got["voxels"] == want["voxels"]
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert got["peak_global"] == pytest.approx(want["peak_global"], rel=1e-9)


def test_widening_catches_what_the_prior_margin_misses(monkeypatch) -> None:
    """With the derived margin switched off, the check alone still widens a crop that cuts
    the ROI or its peak spheres (the safety net behind :func:`feature_margin_mm`)."""
    want = _extract("STS_002", 2.0, 10_000.0)  # the whole image
    monkeypatch.setattr(pipeline, "feature_margin_mm", lambda *a: 0.0)
    got = _extract("STS_002", 2.0, 0.0)
    assert got["voxels"] == want["voxels"]
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert got["peak_global"] == pytest.approx(want["peak_global"], rel=1e-12)


def test_feature_margin_covers_mask_reach_and_peak_sphere() -> None:
    spacing = (5.0, 4.0, 4.0)
    base = {"features": {"families": ["stat"]}}
    assert feature_margin_mm(settings_from_dict(base), spacing) == 0.0
    interp = {**base, "interpolation": {"spacing": [2.0, 2.0, 2.0]}}
    assert feature_margin_mm(settings_from_dict(interp), spacing) == 5.0
    nearest = {**interp, "mask_interpolation": {"method": "nearest"}}
    assert feature_margin_mm(settings_from_dict(nearest), spacing) == 2.5
    loc = {"features": {"families": ["loc"]}}
    assert feature_margin_mm(settings_from_dict(loc), spacing) == pytest.approx(PEAK_RADIUS_MM)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    spacing=st.tuples(*[st.sampled_from([1.0, 2.5, 4.0, 5.5])] * 3),
    new=st.sampled_from([None, 1.0, 2.0, 3.0]),
    mask_method=st.sampled_from(["nearest", "linear"]),
    threshold=st.sampled_from([0.2, 0.5, 0.8]),
)
def test_margin_never_changes_features(seed, spacing, new, mask_method, threshold) -> None:
    """Property: margin 0 and a margin holding the whole image give the same ROI, the same
    intensities in it and the same local intensity peaks, for nearest and trilinear mask
    interpolation, any partial-volume threshold and anisotropic voxels (hypothesis also
    found grid points exactly halfway between two 5.5 mm voxels that nearest-neighbour
    interpolation sent to either voxel depending on the crop's offset:
    :data:`radiomix.process.interpolate.TIE_TOLERANCE`)."""
    rng = np.random.default_rng(seed)
    shape = (14, 16, 15)
    image = rng.normal(100.0, 20.0, shape)
    mask = np.zeros(shape, dtype=bool)
    c = [rng.integers(4, s - 4) for s in shape]
    r = [int(rng.integers(2, 4)) for _ in shape]
    mask[c[0] - r[0]:c[0] + r[0], c[1] - r[1]:c[1] + r[1], c[2] - r[2]:c[2] + r[2]] = True
    mask &= rng.random(shape) < 0.85
    mask[tuple(c)] = True

    def run(margin: float):
        s = settings_from_dict({
            "crop": {"margin_mm": margin},
            "interpolation": {"spacing": None if new is None else [new] * 3},
            # (read only with interpolation; the threshold only by a linear mask)
            "mask_interpolation": {} if new is None else {
                "method": mask_method,
                "partial_volume_threshold": threshold if mask_method == "linear" else 0.5},
            "discretisation": {"method": "fbn", "bins": 8},
            "features": {"families": ["loc", "stat"]},
        })  # fmt: skip
        try:
            ctx, _, start, _ = process_arrays(image, mask, spacing, s)
        except (EmptyRoiError, SettingsError):  # a ROI that interpolation empties
            return None
        return ctx, start, compute_features(ctx, s)

    small, whole = run(0.0), run(10_000.0)
    if whole is None:
        assert small is None
        return
    (a, sa, loc_a), (b, sb, loc_b) = small, whole
    # the same ROI voxels, at the same positions of the new grid
    ia = np.argwhere(a.morph_mask) + np.asarray(sa)
    ib = np.argwhere(b.morph_mask) + np.asarray(sb)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(a.image[a.int_mask], b.image[b.int_mask], rtol=1e-12)
    for key, value in loc_b.items():
        assert loc_a[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key


def test_nearest_neighbour_ties_do_not_depend_on_the_crop() -> None:
    """A 2 mm grid on 5.5 mm voxels has points exactly halfway between two voxels
    ((2k - 1.75) / 5.5 = j + 1/2 for k = 5, j = 1); from any crop offset they fall on the
    upper voxel, and elsewhere nearest neighbour agrees with scipy's order 0."""
    from radiomix.process.interpolate import Grid, aligned_grid, resample

    values = np.arange(16, dtype=np.float64)[None, :, None] * np.ones((1, 16, 1))
    g = aligned_grid(16, 5.5, 2.0)
    whole = resample(values, (Grid(1, 0.0, 1.0), g, Grid(1, 0.0, 1.0)), order=0)[0, :, 0]
    assert whole[5] == 2.0  # position 1.5 (to rounding): the upper voxel
    reference = ndimage.affine_transform(values[0, :, 0], matrix=[g.step], offset=[g.start],
                                         output_shape=(g.size,), order=0, mode="nearest")
    off_tie = np.abs((g.start + g.step * np.arange(g.size)) % 1.0 - 0.5) > 1e-6
    np.testing.assert_array_equal(whole[off_tie], reference[off_tie])
    for cut, first in ((0, 3), (1, 12), (2, 14), (3, 23), (4, 24)):
        # ranges whose first point moves the rounding of a tie (points 5, 16, 27) below it
        # without the tolerance; each crop keeps every voxel its points need
        sub = Grid(g.size, g.start - cut, g.step)
        part = resample(values[:, cut:, :], (Grid(1, 0.0, 1.0), sub, Grid(1, 0.0, 1.0)),
                        order=0, index_range=((0, 1), (first, g.size), (0, 1)))[0, :, 0]
        np.testing.assert_array_equal(part, whole[first:])
