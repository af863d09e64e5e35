"""Invariants of the filters: rotation invariance, linearity, constant images, input safety."""

from __future__ import annotations

import numpy as np
import pytest
from _rotation_oracle import rotate, unrotate

from radiomix.process.filters import FilterSettings, apply_filter
from radiomix.process.filters._convolve import rotations

ISO = (1.0, 1.0, 1.0)

ROTATION_INVARIANT = [
    FilterSettings(
        kind="laws",
        laws_kernel="E3L3S3",
        rotation_invariant=True,
        pooling="max",
        padding="periodic",
    ),
    FilterSettings(
        kind="laws",
        laws_kernel="E3S3",
        rotation_invariant=True,
        pooling="average",
        dimensionality="2d",
        padding="mirror",
        energy_distance=1,
    ),
    FilterSettings(
        kind="wavelet",
        wavelet="db2",
        subband="HLH",
        level=1,
        padding="constant",
        rotation_invariant=True,
        pooling="average",
    ),
    FilterSettings(
        kind="wavelet",
        wavelet="haar",
        subband="HL",
        level=2,
        padding="mirror",
        rotation_invariant=True,
        pooling="min",
        dimensionality="2d",
    ),
    FilterSettings(
        kind="gabor",
        sigma_mm=1.5,
        wavelength_mm=3.0,
        gamma=1.0,
        theta_deg=0,
        theta_step_deg=90,
        rotation_invariant=True,
        pooling="average",
        padding="nearest",
        truncation=2.0,
    ),
]


@pytest.mark.parametrize("settings", ROTATION_INVARIANT, ids=lambda s: s.tag)
def test_rotation_invariant_filters_commute_with_right_angle_rotations(settings):
    img = np.random.default_rng(7).normal(size=(8, 8, 8))
    base = apply_filter(img, spacing=ISO, settings=settings)
    for rot in rotations(settings.ndim)[1:]:
        rotated = apply_filter(
            np.ascontiguousarray(rotate(img, rot)), spacing=ISO, settings=settings
        )
        np.testing.assert_allclose(unrotate(rotated, rot), base, atol=1e-9)


def test_rotate_unrotate_roundtrip():
    img = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    for ndim in (2, 3):
        for rot in rotations(ndim):
            np.testing.assert_array_equal(unrotate(rotate(img, rot), rot), img)


LINEAR = [
    FilterSettings(kind="mean", support=3),
    FilterSettings(kind="log", sigma_mm=1.0, padding="nearest"),
    FilterSettings(kind="laws", laws_kernel="R5W5E5", padding="periodic"),
    FilterSettings(kind="wavelet", wavelet="coif2", subband="LHH", level=2, padding="constant"),
    FilterSettings(kind="simoncelli", level=2, padding="mirror"),
    FilterSettings(kind="log", sigma_mm=1.0, riesz_order_xyz=(1, 1, 0)),
]


@pytest.mark.parametrize("settings", LINEAR, ids=lambda s: s.tag)
def test_linear_filters_are_linear(settings):
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(2, 7, 8, 9))
    a_before = a.copy()
    fa = apply_filter(a, spacing=ISO, settings=settings)
    np.testing.assert_array_equal(a, a_before)  # float64 input is not modified in place
    fb = apply_filter(b, spacing=ISO, settings=settings)
    fab = apply_filter(2.0 * a - 3.0 * b, spacing=ISO, settings=settings)
    np.testing.assert_allclose(fab, 2.0 * fa - 3.0 * fb, atol=1e-9)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (FilterSettings(kind="mean", support=5, padding="mirror"), 7.0),
        (FilterSettings(kind="gaussian", sigma_mm=2.0), 7.0),
        (FilterSettings(kind="laws", laws_kernel="E5L5L5"), 0.0),  # E5 is zero-mean
        (FilterSettings(kind="wavelet", wavelet="db3", subband="LLL", level=2), 7.0 * 2**3),
        (FilterSettings(kind="wavelet", wavelet="db3", subband="LLH", level=1), 0.0),
        (FilterSettings(kind="simoncelli", level=1, padding="nearest"), 0.0),
    ],
    ids=lambda v: v.tag if isinstance(v, FilterSettings) else str(v),
)
def test_constant_image_response(settings, expected):
    img = np.full((6, 7, 8), 7.0)
    out = apply_filter(img, spacing=ISO, settings=settings)
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_input_is_not_modified_and_dtype_accepted():
    img = np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7)
    before = img.copy()
    out = apply_filter(img, spacing=ISO, settings=FilterSettings(kind="mean", support=3))
    np.testing.assert_allclose(out, apply_filter(img.astype(float), spacing=ISO,
                                                 settings=FilterSettings(kind="mean", support=3)),
                               rtol=0, atol=0)
    np.testing.assert_array_equal(img, before)
    assert out.dtype == np.float64


def test_2d_filter_never_mixes_slices():
    img = np.zeros((5, 9, 9))
    img[2, 4, 4] = 1.0
    for s in (
        FilterSettings(kind="log", sigma_mm=1.0, dimensionality="2d"),
        FilterSettings(
            kind="gabor", sigma_mm=1.0, wavelength_mm=2.0, gamma=1.0, dimensionality="2d"
        ),
        FilterSettings(kind="wavelet", wavelet="db2", subband="HH", level=1, dimensionality="2d"),
        FilterSettings(kind="simoncelli", level=1, dimensionality="2d"),
        FilterSettings(kind="log", sigma_mm=1.0, dimensionality="2d", riesz_order_xyz=(1, 0)),
        FilterSettings(kind="laws", laws_kernel="E3E3", dimensionality="2d", energy_distance=1),
        FilterSettings(kind="mean", support=3, dimensionality="2d"),
    ):
        out = apply_filter(img, spacing=(5.0, 1.0, 1.0), settings=s)
        assert np.abs(out[[0, 1, 3, 4]]).max() == 0.0, s.tag
        assert np.abs(out[2]).max() > 0.0
