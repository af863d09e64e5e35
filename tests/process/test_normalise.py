"""Intensity normalisation: hand-computed values, invariances and errors."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.normalise import (
    fit_histogram_standardisation,
    histogram_standardise,
    minmax_normalise,
    zscore_normalise,
)


def _arr(values) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(1, 1, -1)


def test_minmax_hand_computed():
    out = minmax_normalise(_arr([10, 20, 30, 50]))
    np.testing.assert_allclose(out.ravel(), [0.0, 0.25, 0.5, 1.0])
    out = minmax_normalise(_arr([10, 20, 30, 50]), out_range=(-1.0, 1.0))
    np.testing.assert_allclose(out.ravel(), [-1.0, -0.5, 0.0, 1.0])


def test_minmax_in_region_extrapolates_outside():
    img = _arr([0, 10, 20, 40])
    region = _arr([0, 1, 1, 0]).astype(bool)
    np.testing.assert_allclose(minmax_normalise(img, region).ravel(), [-1.0, 0.0, 1.0, 3.0])


def test_zscore_hand_computed_in_reference_region():
    img = _arr([100, 2, 4, 6, 8])
    ref = _arr([0, 1, 1, 1, 1]).astype(bool)
    # reference values 2, 4, 6, 8: mean 5, population SD sqrt(5)
    expected = (np.array([100, 2, 4, 6, 8]) - 5.0) / np.sqrt(5.0)
    np.testing.assert_allclose(zscore_normalise(img, ref).ravel(), expected)


def test_normalisation_does_not_modify_input():
    img = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    before = img.copy()
    zscore_normalise(img)
    minmax_normalise(img)
    np.testing.assert_array_equal(img, before)


@pytest.mark.parametrize("func", [minmax_normalise, zscore_normalise])
def test_normalisation_errors(func):
    img = _arr([1, 2, 3])
    with pytest.raises(InputError, match="region is constant"):
        func(_arr([4, 4, 4]))
    with pytest.raises(EmptyRoiError, match="mask holds no voxel"):
        func(img, np.zeros(img.shape, bool))
    with pytest.raises(GeometryMismatchError, match="mask shape"):
        func(img, np.ones((1, 1, 2), bool))


def test_minmax_bad_range():
    with pytest.raises(SettingsError, match="lower < upper"):
        minmax_normalise(_arr([1, 2]), out_range=(1.0, 0.0))


@pytest.fixture(scope="module")
def mr_images():
    out = []
    for case in ("STS_002", "STS_003"):
        path = require_data("sts", "nifti", case, "mr_t1", "image.nii.gz")
        out.append(sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(float))
    return out


def test_histogram_standardisation_removes_scanner_scaling(mr_images):
    a, b = mr_images
    landmarks = fit_histogram_standardisation([a, b], [a > 0, b > 0])
    # the same patient scanned at another centre: affine intensity change
    other_centre = 2.7 * a + 130.0
    np.testing.assert_allclose(
        histogram_standardise(other_centre, landmarks, other_centre > 130.0),
        histogram_standardise(a, landmarks, a > 0),
        atol=1e-9,
    )


def test_histogram_standardisation_maps_landmarks_onto_standard(mr_images):
    a, b = mr_images
    landmarks = fit_histogram_standardisation([a, b], [a > 0, b > 0], standard_range=(0, 100))
    assert landmarks.standard[0] == 0.0
    assert landmarks.standard[-1] == 100.0
    assert all(y > x for x, y in zip(landmarks.standard, landmarks.standard[1:], strict=False))
    # a nonlinear monotone distortion (another scanner's response) is undone at the landmarks
    distorted = 40.0 + 3.0 * b**1.3
    out = histogram_standardise(distorted, landmarks, b > 0)
    marks = np.percentile(out[b > 0], landmarks.percentiles)
    np.testing.assert_allclose(marks, landmarks.standard, atol=0.05)
    # the mapping is increasing
    order = np.argsort(distorted.ravel())
    assert np.all(np.diff(out.ravel()[order]) >= -1e-9)


def test_single_training_image_is_mapped_exactly():
    rng = np.random.default_rng(1)
    img = rng.gamma(3.0, 50.0, size=(5, 20, 20))
    lm = fit_histogram_standardisation([img], landmarks=(25, 50, 75))
    marks = np.percentile(img, lm.percentiles)
    expected = lm.standard[0] + (marks - marks[0]) * 100.0 / (marks[-1] - marks[0])
    np.testing.assert_allclose(lm.standard, expected)
    np.testing.assert_allclose(histogram_standardise(img, lm), minmax_like(img, marks, lm))


def minmax_like(img, marks, lm):
    """Independent piecewise-linear map through (marks -> standard), extrapolated at the ends."""
    x = img.ravel()
    out = np.empty_like(x)
    std = np.asarray(lm.standard)
    seg = np.clip(np.searchsorted(marks, x, side="right") - 1, 0, len(marks) - 2)
    out = std[seg] + (x - marks[seg]) * (std[seg + 1] - std[seg]) / (marks[seg + 1] - marks[seg])
    return out.reshape(img.shape)


def test_histogram_standardisation_errors():
    img = np.random.default_rng(0).normal(size=(3, 10, 10))
    with pytest.raises(SettingsError, match="at least one training image"):
        fit_histogram_standardisation([])
    with pytest.raises(SettingsError, match="percentiles must increase strictly"):
        fit_histogram_standardisation([img], landmarks=(50, 40))
    with pytest.raises(SettingsError, match="standard_range must be increasing"):
        fit_histogram_standardisation([img], standard_range=(1, 1))
    with pytest.raises(InputError, match="got 1 images but 2 masks"):
        fit_histogram_standardisation([img], [None, None])
    flat = np.zeros((3, 10, 10))
    flat[0, 0, 0] = 1.0
    with pytest.raises(InputError, match="not strictly increasing"):
        fit_histogram_standardisation([flat])
