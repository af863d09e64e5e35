"""Image and mask perturbations (radiomix.process.perturb): hand-counted and invariant checks."""

from __future__ import annotations

import re

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import EmptyRoiError, InputError, SettingsError
from radiomix.process.perturb import (
    DEFAULT_PERTURBATIONS,
    estimate_noise_sigma,
    parse_perturbation,
    perturb_case,
)


def _pair(mask: np.ndarray, spacing_xyz=(1.0, 1.0, 1.0), image: np.ndarray | None = None):
    img = sitk.GetImageFromArray(
        (image if image is not None else np.zeros(mask.shape)).astype(np.float32)
    )
    img.SetSpacing(spacing_xyz)
    m = sitk.GetImageFromArray(mask.astype(np.uint8))
    m.CopyInformation(img)
    return img, m


def _roi(mask_image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(mask_image) != 0


def test_growth_by_one_mm_counts():
    """One voxel, spacing 1 x 1 mm in-plane and 2 mm between slices, grown by 1 mm.

    Voxel centres within 1 mm: the four in-plane face neighbours (1 mm); the slice
    neighbours (2 mm) and the diagonals (1.41 mm) are farther. 1 + 4 = 5 voxels.
    """
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    img, m = _pair(mask, spacing_xyz=(1.0, 1.0, 2.0))
    _, grown = perturb_case(img, m, "volume:+1")
    roi = _roi(grown)
    assert roi.sum() == 5
    assert roi[2, 1, 2]
    assert roi[2, 3, 2]
    assert roi[2, 2, 1]
    assert roi[2, 2, 3]
    # within 2 mm: in-plane offsets with dy^2 + dx^2 <= 4 (1 + 4 faces + 4 diagonals at 1.41
    # + 4 at 2 mm) and the two slice neighbours at 2 mm; (1, 2) offsets at 2.24 mm are out
    _, grown2 = perturb_case(img, m, "volume:+2")
    assert _roi(grown2).sum() == 13 + 2


def test_shrinkage_by_one_mm_counts():
    """A 5 x 5 x 5 cube shrunk by 1 mm.

    Isotropic 1 mm: the outer layer goes (every boundary voxel is 1 mm from background), 27
    voxels stay. With 2-mm slices the top and bottom slices are 2 mm from background and
    stay: 5 slices x 3 x 3 = 45.
    """
    mask = np.zeros((9, 9, 9), bool)
    mask[2:7, 2:7, 2:7] = True
    img, m = _pair(mask)
    assert _roi(perturb_case(img, m, "volume:-1")[1]).sum() == 27
    img2, m2 = _pair(mask, spacing_xyz=(1.0, 1.0, 2.0))
    assert _roi(perturb_case(img2, m2, "volume:-1")[1]).sum() == 45


def test_shrinkage_at_the_image_edge():
    """Voxels beyond the image edge count as background for shrinkage."""
    mask = np.zeros((3, 6, 6), bool)
    mask[:, :4, :4] = True  # touches the edge on three sides
    img, m = _pair(mask)
    assert _roi(perturb_case(img, m, "volume:-1")[1]).sum() == 1 * 2 * 2


def test_shrinkage_to_nothing_is_an_error():
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    img, m = _pair(mask)
    with pytest.raises(EmptyRoiError, match="empty ROI"):
        perturb_case(img, m, "volume:-1")


def test_noise_estimate_of_white_noise():
    """Known Gaussian noise (SD 12) on a smooth ramp: estimate within 5 %."""
    rng = np.random.default_rng(0)
    _z, y, x = np.mgrid[0:20, 0:64, 0:64]
    image = 3.0 * x + 2.0 * y + rng.normal(0, 12.0, x.shape)
    assert estimate_noise_sigma(image) == pytest.approx(12.0, rel=0.05)


def test_noise_perturbation_level_and_seed():
    """noise:2 adds noise of twice the estimated level; the same seed repeats the draw."""
    rng = np.random.default_rng(1)
    base = rng.normal(0, 5.0, (16, 48, 48))
    mask = np.zeros(base.shape, bool)
    mask[4:12, 10:30, 10:30] = True
    img, m = _pair(mask, image=base)
    a, am = perturb_case(img, m, "noise:2", seed=3, case="c1")
    b, _ = perturb_case(img, m, "noise:2", seed=3, case="c1")
    c, _ = perturb_case(img, m, "noise:2", seed=4, case="c1")
    added = sitk.GetArrayFromImage(a) - base
    assert added.std() == pytest.approx(2 * estimate_noise_sigma(base), rel=0.03)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))
    assert not np.array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(c))
    np.testing.assert_array_equal(_roi(am), mask)


def test_a_whole_voxel_translation_is_refused():
    """A one-voxel translation moves image and mask together onto the same voxel values:
    without interpolation the features are the original's, a perfect rater (every ICC 1;
    round 23, tester 23k). Translations are fractions of a voxel in (0, 1)."""
    from radiomix.process.perturb import parse_perturbation

    for spec in ("translation:1", "translation:-1", "translation:2"):
        with pytest.raises(SettingsError, match=r"the translation must be a voxel fraction "
                                                r"in \(0, 1\): a whole voxel"):
            parse_perturbation(spec)


@pytest.mark.parametrize("fraction", [0.25, 0.75, -0.25])
def test_a_sub_voxel_translation_keeps_the_volume(fraction):
    """A box of 4 x 4 x 7 voxels moved by a fraction of a voxel along every axis keeps its
    voxel count up to its corners: no interpolated value lies exactly on the 0.5 threshold.
    At 0.5 every boundary face did, and the box grew from 112 to 144 voxels (3 x 3 x 6
    whole voxels plus the faces with one factor of 0.5: 54 + 36 + 36 + 18)."""
    mask = np.zeros((10, 12, 12), bool)
    mask[3:7, 4:8, 2:9] = True
    img, m = _pair(mask, image=np.zeros(mask.shape))
    _, new_m = perturb_case(img, m, f"translation:{fraction}")
    # a corner keeps (3/4)^3 = 0.42 < 0.5 or gains (1/4)(3/4)^2 ... < 0.5: one voxel each way
    assert abs(int(_roi(new_m).sum()) - 112) <= 1


def test_a_half_voxel_translation_is_refused_with_the_reason():
    with pytest.raises(SettingsError, match=r"perturbation 'translation:0.5': a half-voxel shift "
                                            r"puts every boundary voxel .* exactly 0.5.*grow"):
        parse_perturbation("translation:0.5")
    with pytest.raises(SettingsError, match=r"translation:0\.25 or translation:0\.75"):
        parse_perturbation("translation:-0.5")
    assert "translation:0.25" in DEFAULT_PERTURBATIONS


def test_rotation_keeps_volume_and_intensities():
    """5 degrees about the slice axis: ROI volume within 3 %, and the mean intensity of a
    ROI on a smooth image within 1 % (image and mask rotate together)."""
    z, y, x = np.mgrid[0:12, 0:40, 0:40]
    image = 100.0 + 2.0 * x + y
    mask = (x - 20) ** 2 / 100 + (y - 20) ** 2 / 36 + (z - 6) ** 2 / 16 <= 1
    img, m = _pair(mask, image=image)
    new_img, new_m = perturb_case(img, m, "rotation:+5")
    roi = _roi(new_m)
    assert roi.sum() == pytest.approx(mask.sum(), rel=0.03)
    assert not np.array_equal(roi, mask)
    assert sitk.GetArrayFromImage(new_img)[roi].mean() == pytest.approx(
        image[mask].mean(), rel=0.01
    )


def test_contour_randomisation_is_seeded_and_close():
    """Supervoxel draws: reproducible per seed, different between draws, Dice >= 0.7."""
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[0:16, 0:48, 0:48]
    mask = (x - 24) ** 2 + (y - 24) ** 2 + (2 * (z - 8)) ** 2 <= 12**2
    image = np.where(mask, 60.0, 0.0) + rng.normal(0, 10, mask.shape)
    img, m = _pair(mask, image=image)
    one = _roi(perturb_case(img, m, "contour:1", seed=0, case="a")[1])
    again = _roi(perturb_case(img, m, "contour:1", seed=0, case="a")[1])
    two = _roi(perturb_case(img, m, "contour:2", seed=0, case="a")[1])
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, two)
    for new in (one, two):
        dice = 2 * (new & mask).sum() / (new.sum() + mask.sum())
        assert dice >= 0.7


def test_original_is_the_identity():
    mask = np.zeros((4, 6, 6), bool)
    mask[1:3, 2:4, 2:4] = True
    image = np.arange(mask.size, dtype=float).reshape(mask.shape)
    img, m = _pair(mask, image=image)
    new_img, new_m = perturb_case(img, m, "original")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(new_img), image.astype(np.float32))
    np.testing.assert_array_equal(_roi(new_m), mask)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("volum:1", "did you mean 'volume'"),
        ("volume", "needs a value"),
        ("volume:0", "identity"),
        ("contour:1.5", "integer >= 1"),
        ("noise:-1", "must be > 0"),
        ("translation:2", r"voxel fraction in \(0, 1\)"),
        ("original:1", "takes no value"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(SettingsError, match=match):
        parse_perturbation(spec)


def test_slugs_are_distinct():
    specs = ["original", "volume:-1", "volume:+1", "rotation:-5", "rotation:5", "noise:0.5"]
    slugs = [parse_perturbation(s).slug for s in specs]
    assert slugs == [
        "original",
        "volume_m1",
        "volume_p1",
        "rotation_m5",
        "rotation_p5",
        "noise_0p5",
    ]


@pytest.mark.parametrize("spec", ["volume:+1", "volume:-1"])
def test_a_volume_change_that_moves_no_voxel_is_refused(spec):
    m = np.zeros((10, 12, 12), dtype=np.uint8)
    m[3:7, 3:9, 3:9] = 1
    image, mask = _pair(m, spacing_xyz=(4.7, 4.7, 3.3))  # PET-like voxels, coarser than 1 mm
    pattern = rf"{re.escape(spec)} does not change the ROI.*4\.7 x 4\.7 x 3\.3"
    with pytest.raises(InputError, match=pattern):
        perturb_case(image, mask, spec)
    _, grown = perturb_case(image, mask, "volume:+3.3")  # the smallest spacing moves voxels
    assert _roi(grown).sum() > m.sum()
