"""Preprocessing options of the extraction settings (issue 9 items 2 and 3): each option
changes what it should inside :func:`radiomix.process.pipeline.process_arrays`, checked
against independent computations on small synthetic arrays and one real STS MR crop."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from _data import require_data
from radiomix.errors import EmptyRoiError, SettingsError
from radiomix.features.extract import compute_features
from radiomix.process.bias_field import correct_bias_field
from radiomix.process.filters import gaussian_smooth
from radiomix.process.pipeline import process_arrays
from radiomix.process.preprocess import preprocess, preprocess_around_roi
from radiomix.settings import (
    ExtractionSettings,
    PreprocessSettings,
    settings_from_dict,
    settings_hash,
    settings_to_dict,
)

SPACING = (2.0, 1.0, 1.0)


@pytest.fixture(scope="module")
def case():
    """Noisy (40, 80, 80) image with a spherical tumour in the middle (seeded); large enough
    that preprocessing runs on a box around the ROI smaller than the image."""
    rng = np.random.default_rng(9)
    shape = (40, 80, 80)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    d2 = ((z - 20) * SPACING[0]) ** 2 + (y - 40) ** 2 + (x - 39) ** 2
    mask = d2 <= 6.0**2
    image = 100.0 + 40.0 * np.exp(-d2 / 80.0) + rng.normal(0.0, 10.0, shape)
    return image, mask


def _settings(**kw):
    base = {
        "crop": {"margin_mm": 2.0},
        "discretisation": {"method": "fbn", "bins": 8},
        "features": {"families": ["morph", "stat"]},
    }
    base.update(kw)
    return settings_from_dict(base)


def _crop(array, start, shape):
    """The part of an original-grid array under a context cropped at ``start`` (no
    interpolation: new grid = original grid)."""
    return array[tuple(slice(s, s + n) for s, n in zip(start, shape, strict=True))]


def test_defaults_change_nothing(case):
    image, mask = case
    img, roi = preprocess(image, mask, SPACING, PreprocessSettings())
    np.testing.assert_array_equal(img, image)
    np.testing.assert_array_equal(roi, mask)
    assert not PreprocessSettings().active
    plain = process_arrays(image, mask, SPACING, _settings())[0]
    explicit = process_arrays(image, mask, SPACING, _settings(preprocess={}))[0]
    np.testing.assert_array_equal(plain.image, explicit.image)
    np.testing.assert_array_equal(plain.levels, explicit.levels)


def test_zscore_in_roi_gives_mean_0_sd_1(case):
    image, mask = case
    ctx, _, start, _ = process_arrays(
        image, mask, SPACING, _settings(preprocess={"normalise": "zscore"})
    )
    values = ctx.image[ctx.morph_mask]
    assert values.size == mask.sum()
    assert values.mean() == pytest.approx(0.0, abs=1e-12)
    assert values.std() == pytest.approx(1.0, rel=1e-12)
    by_hand = (image - image[mask].mean()) / image[mask].std()
    np.testing.assert_allclose(ctx.image, _crop(by_hand, start, ctx.image.shape), rtol=1e-12)


def test_minmax_maps_the_region_to_unit_interval(case):
    image, mask = case
    ctx = process_arrays(image, mask, SPACING, _settings(preprocess={"normalise": "minmax"}))[0]
    values = ctx.image[ctx.morph_mask]
    assert values.min() == pytest.approx(0.0, abs=1e-12)
    assert values.max() == pytest.approx(1.0, abs=1e-12)
    # whole-image statistics: the crop lies inside [0, 1] and equals the mapping by hand
    ctx, _, start, _ = process_arrays(
        image,
        mask,
        SPACING,
        _settings(preprocess={"normalise": "minmax", "normalise_region": "image"}),
    )
    by_hand = (image - image.min()) / (image.max() - image.min())
    np.testing.assert_allclose(ctx.image, _crop(by_hand, start, ctx.image.shape), atol=1e-12)
    assert ctx.image[ctx.morph_mask].max() < 1.0 or image[mask].max() == image.max()


@pytest.mark.parametrize("dimensionality", ["3d", "2d"])
def test_smoothing_equals_gaussian_smooth_by_hand(case, dimensionality):
    """Smoothing inside the pipeline (run on a box around the ROI) equals smoothing the
    whole image by hand, after interpolation to a new grid too."""
    image, mask = case
    spacing = [None, 0.8, 0.8] if dimensionality == "2d" else [1.5, 0.8, 0.8]
    common = {
        "dimensionality": dimensionality,
        "interpolation": {"spacing": spacing, "method": "cubic"},
    }
    smoothed = process_arrays(
        image, mask, SPACING, _settings(**common, preprocess={"smoothing_sigma_mm": 1.5})
    )[0]
    by_hand = gaussian_smooth(image, spacing=SPACING, sigma_mm=1.5, dimensionality=dimensionality)
    reference = process_arrays(by_hand, mask, SPACING, _settings(**common))[0]
    np.testing.assert_allclose(smoothed.image, reference.image, rtol=0, atol=1e-9)
    raw = process_arrays(image, mask, SPACING, _settings(**common))[0]
    assert np.abs(smoothed.image - raw.image).max() > 1.0  # noise SD 10 is smoothed away


def test_box_preprocessing_is_exact_inside_and_untouched_outside(case):
    image, mask = case
    settings = PreprocessSettings(smoothing_sigma_mm=1.5)
    out, roi = preprocess_around_roi(image, mask, SPACING, settings, margin_mm=2.0, pad_voxels=3)
    by_hand = gaussian_smooth(image, spacing=SPACING, sigma_mm=1.5)
    inside = tuple(
        slice(b.start - 3, b.stop + 3) for b in ndimage.find_objects(mask.astype(int))[0]
    )
    np.testing.assert_allclose(out[inside], by_hand[inside], rtol=0, atol=1e-9)
    assert out[0, 0, 0] == image[0, 0, 0]  # far corner: outside the box, left as it was
    np.testing.assert_array_equal(roi, mask)


def test_smoothing_then_normalisation_order(case):
    image, mask = case
    s = _settings(preprocess={"smoothing_sigma_mm": 2.0, "normalise": "zscore"})
    ctx, _, start, _ = process_arrays(image, mask, SPACING, s)
    sm = gaussian_smooth(image, spacing=SPACING, sigma_mm=2.0)
    by_hand = (sm - sm[mask].mean()) / sm[mask].std()
    np.testing.assert_allclose(ctx.image, _crop(by_hand, start, ctx.image.shape), atol=1e-9)


def test_ring_roi_excludes_tumour_and_has_the_edt_volume(case):
    image, mask = case
    s = _settings(preprocess={"roi": "ring", "ring_inner_mm": 1.0, "ring_outer_mm": 4.0})
    ctx, new_spacing, start, _ = process_arrays(image, mask, SPACING, s)
    tumour = _crop(mask, start, ctx.morph_mask.shape)
    assert ctx.morph_mask.any()
    assert not (ctx.morph_mask & tumour).any()
    # independent ring: exact Euclidean distance (mm) to the tumour, in (1, 4] mm
    dist = ndimage.distance_transform_edt(~mask, sampling=SPACING)
    ring = (dist > 1.0 + 1e-9) & (dist <= 4.0 + 1e-9)
    assert ctx.morph_mask.sum() == ring.sum()
    np.testing.assert_array_equal(ctx.morph_mask, _crop(ring, start, ctx.morph_mask.shape))
    features = compute_features(ctx, s)
    voxel_volume = float(np.prod(SPACING))
    assert features["image.original.morph.volume_voxels"] == pytest.approx(
        ring.sum() * voxel_volume, rel=1e-12
    )
    assert features["image.original.stat.mean"] == pytest.approx(image[ring].mean(), rel=1e-12)
    assert new_spacing == SPACING


def test_ring_2d_grows_in_plane_only(case):
    image, mask = case
    s = _settings(dimensionality="2d", preprocess={"roi": "ring", "ring_outer_mm": 3.0})
    ctx, _, start, _ = process_arrays(image, mask, SPACING, s)
    slices = np.flatnonzero(ctx.morph_mask.any(axis=(1, 2))) + start[0]
    np.testing.assert_array_equal(slices, np.flatnonzero(mask.any(axis=(1, 2))))


def test_empty_ring_raises():
    mask = np.ones((3, 4, 4), bool)
    with pytest.raises(EmptyRoiError, match=r"peritumoral ring .* holds no voxel"):
        preprocess(
            np.ones(mask.shape),
            mask,
            SPACING,
            PreprocessSettings(roi="ring", ring_outer_mm=2.0),
        )


@pytest.fixture(scope="module")
def sts_crop():
    """STS_002 MR T1 cropped around the tumour (8 mm margin in-plane, 2 slices)."""
    img = sitk.ReadImage(str(require_data("sts", "nifti", "STS_002", "mr_t1", "image.nii.gz")))
    msk = sitk.ReadImage(str(require_data("sts", "nifti", "STS_002", "mr_t1", "mask.nii.gz")))
    image = sitk.GetArrayFromImage(img).astype(np.float64)
    mask = sitk.GetArrayFromImage(msk) > 0
    spacing = tuple(float(v) for v in reversed(img.GetSpacing()))
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    grow = (2, 8, 8)
    sl = tuple(
        slice(max(0, b.start - g), min(n, b.stop + g))
        for b, g, n in zip(box, grow, image.shape, strict=True)
    )
    return image[sl], mask[sl], spacing


def test_bias_field_option_on_real_sts_mr(sts_crop):
    image, mask, spacing = sts_crop
    settings = _settings(preprocess={"bias_field": True}, crop={"margin_mm": 0.0})
    ctx, _, start, _ = process_arrays(image, mask, spacing, settings)
    plain = process_arrays(image, mask, spacing, _settings(crop={"margin_mm": 0.0}))[0]
    np.testing.assert_array_equal(ctx.morph_mask, plain.morph_mask)
    rel = np.abs(ctx.image - plain.image)[ctx.morph_mask] / plain.image[ctx.morph_mask]
    assert rel.max() > 1e-3  # the correction changes the intensities
    # ROI-independent: N4 on the whole image (voxels > 0) by hand gives the same values
    by_hand = correct_bias_field(image, spacing=spacing).corrected
    np.testing.assert_allclose(ctx.image, _crop(by_hand, start, ctx.image.shape), rtol=1e-9)


def test_options_reach_the_settings_dict_and_hash():
    data = {
        "preprocess": {
            "bias_field": True,
            "smoothing_sigma_mm": 1,
            "normalise": "minmax",
            "normalise_region": "image",
            "roi": "ring",
            "ring_inner_mm": 1,
            "ring_outer_mm": 5,
            "ring_clip": "organ",
            "organ_label": 2,
            "organ_roi_name": None,
            "nyul_landmarks": None,
        }
    }
    s = settings_from_dict(data)
    assert s.preprocess == PreprocessSettings(
        bias_field=True,
        smoothing_sigma_mm=1.0,
        normalise="minmax",
        normalise_region="image",
        roi="ring",
        ring_inner_mm=1.0,
        ring_outer_mm=5.0,
        ring_clip="organ",
        organ_label=2,
    )
    d = settings_to_dict(s)
    assert d["preprocess"] == {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in data["preprocess"].items()
    }
    assert settings_from_dict(d) == s
    hashes = {settings_hash(ExtractionSettings())}
    for change in (
        {"bias_field": True},
        {"smoothing_sigma_mm": 1.0},
        {"normalise": "zscore"},
        {"normalise": "zscore", "normalise_region": "image"},
        {"roi": "ring", "ring_outer_mm": 5.0},
        {"roi": "ring", "ring_outer_mm": 5.0, "ring_clip": "organ"},
        {"normalise": "nyul", "nyul_landmarks": "landmarks.json"},
    ):
        hashes.add(settings_hash(settings_from_dict({"preprocess": change})))
    assert len(hashes) == 8
    assert settings_to_dict(ExtractionSettings())["preprocess"]["normalise"] == "none"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"smoothing_sigma_mm": 0}, r"smoothing_sigma_mm must be a finite number > 0 mm"),
        ({"smoothing_sigma_mm": float("inf")}, r"smoothing_sigma_mm must be a finite"),
        (
            {"normalise": "z-score"},
            r"normalise must be none, zscore, minmax or nyul; got 'z-score'",
        ),
        ({"normalise_region": "organ"}, r"normalise_region must be roi or image"),
        ({"roi": "shell"}, r"preprocess.roi must be tumour, ring or largest_slice, got 'shell'"),
        ({"roi": "ring"}, r"roi ring needs preprocess.ring_outer_mm"),
        ({"ring_inner_mm": -1}, r"ring_inner_mm must be a finite number >= 0 mm"),
        (
            {"roi": "ring", "ring_inner_mm": 5, "ring_outer_mm": 5},
            r"ring_outer_mm must be a finite number > ring_inner_mm \(5.0 mm\)",
        ),
        ({"bias_field": "yes"}, r"bias_field must be true or false"),
        ({"smoothing_sigm_mm": 1}, r"unknown setting 'preprocess.smoothing_sigm_mm'; did you mean"),
    ],
)
def test_settings_errors(data, match):
    with pytest.raises(SettingsError, match=match):
        settings_from_dict({"preprocess": data})


def test_normalisation_refuses_intensity_rounding():
    with pytest.raises(SettingsError, match="round_intensities would round them"):
        settings_from_dict(
            {
                "preprocess": {"normalise": "zscore"},
                "interpolation": {"spacing": [1, 1, 1], "round_intensities": True},
            }
        )
