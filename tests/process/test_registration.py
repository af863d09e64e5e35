"""Rigid registration recovers known transforms of a real STS image (SimpleITK, Mattes MI)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import InputError, SettingsError
from radiomix.process.registration import register_images

CASE = "STS_002"  # smallest image of the cohort: 30 x 81 x 99 voxels


def _load(modality: str, what: str = "image") -> sitk.Image:
    path = require_data("sts", "nifti", CASE, modality, f"{what}.nii.gz")
    return sitk.ReadImage(str(path), sitk.sitkFloat32 if what == "image" else sitk.sitkUInt8)


def _roi_points(image: sitk.Image, mask: sitk.Image, step: int = 25) -> list[tuple[float, ...]]:
    idx = np.argwhere(sitk.GetArrayFromImage(mask) > 0)[::step]
    return [image.TransformIndexToPhysicalPoint((int(x), int(y), int(z))) for z, y, x in idx]


def _max_voxel_error(result, truth: sitk.Transform, points, spacing) -> np.ndarray:
    err = [
        (np.array(result.transform.TransformPoint(p)) - np.array(truth.TransformPoint(p)))
        / np.array(spacing)
        for p in points
    ]
    return np.abs(np.array(err)).max(axis=0)


def test_rigid_registration_recovers_known_rotation_and_shift():
    fixed = _load("mr_t1")
    known = sitk.Euler3DTransform()
    centre = fixed.TransformContinuousIndexToPhysicalPoint([(s - 1) / 2 for s in fixed.GetSize()])
    known.SetCenter(centre)
    known.SetRotation(np.deg2rad(3.0), np.deg2rad(-2.0), np.deg2rad(4.0))
    known.SetTranslation((4.3, -3.1, 5.2))
    # moving(x) = fixed(known(x)), so the registration must find known^-1
    moving = sitk.Resample(fixed, fixed, known, sitk.sitkLinear, 0.0)

    result = register_images(fixed, moving, transform="rigid", seed=1)

    points = _roi_points(fixed, _load("mr_t1", "mask"))
    err = _max_voxel_error(result, known.GetInverse(), points, fixed.GetSpacing())
    assert np.all(err < 1.0), f"max error per axis (x, y, z) in voxels: {err}"
    assert result.improved
    assert result.metric_after < result.metric_before
    assert result.resampled.GetSize() == fixed.GetSize()


def test_translation_registration_recovers_known_shift_on_ct():
    fixed = _load("ct")
    shift = (-3.7, 5.1, 4.0)  # mm, (x, y, z)
    known = sitk.TranslationTransform(3, shift)
    moving = sitk.Resample(fixed, fixed, known, sitk.sitkLinear, -1000.0)

    result = register_images(fixed, moving, transform="translation", seed=0)

    points = _roi_points(fixed, _load("ct", "mask"))
    err = _max_voxel_error(result, known.GetInverse(), points, fixed.GetSpacing())
    assert np.all(err < 1.0), f"max error per axis (x, y, z) in voxels: {err}"
    assert result.improved


def test_registration_is_reproducible():
    fixed = _load("mr_t1")
    moving = sitk.Resample(
        fixed, fixed, sitk.TranslationTransform(3, (2.0, 1.0, 0.0)), sitk.sitkLinear, 0.0
    )
    kwargs = {
        "transform": "translation",
        "shrink_factors": (2,),
        "smoothing_sigmas_mm": (1.0,),
        "iterations": 20,
        "seed": 3,
    }
    a = register_images(fixed, moving, **kwargs)
    b = register_images(fixed, moving, **kwargs)
    assert a.transform.GetParameters() == b.transform.GetParameters()


def test_registration_input_errors():
    img = sitk.Image([8, 8, 8], sitk.sitkFloat32)
    with pytest.raises(InputError, match=r"fixed must be a SimpleITK\.Image"):
        register_images(np.zeros((8, 8, 8)), img)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="moving must be a 3D image"):
        register_images(img, sitk.Image([8, 8], sitk.sitkFloat32))
    with pytest.raises(SettingsError, match="transform must be translation, rigid or affine"):
        register_images(img, img, transform="bspline")  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="sampling_fraction must be in"):
        register_images(img, img, sampling_fraction=0.0)
    with pytest.raises(SettingsError, match="one value per level"):
        register_images(img, img, shrink_factors=(2, 1), smoothing_sigmas_mm=(1.0,))
    with pytest.raises(InputError, match="fixed_mask must be a SimpleITK image on the fixed"):
        register_images(img, img, fixed_mask=sitk.Image([4, 4, 4], sitk.sitkUInt8))


def test_default_seed_is_reproducible():
    """Seed 0 (the default) once meant 'seed from the wall clock' in SimpleITK."""
    fixed = _load("mr_t1")
    moving = sitk.Resample(
        fixed, fixed, sitk.TranslationTransform(3, (2.0, -1.0, 1.0)), sitk.sitkLinear, 0.0
    )
    kwargs = {"transform": "rigid", "shrink_factors": (2,), "smoothing_sigmas_mm": (1.0,)}
    a = register_images(fixed, moving, **kwargs)
    b = register_images(fixed, moving, **kwargs)
    assert a.iterations == b.iterations
    assert a.transform.GetParameters() == b.transform.GetParameters()
    with pytest.raises(SettingsError, match="seed must be an integer >= 0"):
        register_images(fixed, moving, seed=-1)
