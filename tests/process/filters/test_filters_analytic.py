"""Filters against hand-computed values and independent implementations (scipy.ndimage)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage, signal

from radiomix.process.filters import FilterSettings, apply_filter, gaussian_smooth
from radiomix.process.filters._convolve import riesz_multiplier, rotations
from radiomix.process.filters.gabor import gabor_kernel
from radiomix.process.filters.laws import LAWS_1D
from radiomix.process.filters.log import log_kernel
from radiomix.process.filters.simoncelli import centred_frequency_radius, simoncelli_multiplier

SCIPY_MODE = {"constant": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
PADDINGS = list(SCIPY_MODE)
ISO = (1.0, 1.0, 1.0)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(42).normal(size=(9, 11, 13))


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_mean_filter_matches_scipy_uniform_filter(noise, padding, dims):
    s = FilterSettings(kind="mean", support=5, padding=padding, dimensionality=dims)
    size = (1, 5, 5) if dims == "2d" else 5
    expected = ndimage.uniform_filter(noise, size=size, mode=SCIPY_MODE[padding])
    np.testing.assert_allclose(apply_filter(noise, spacing=ISO, settings=s), expected, atol=1e-12)


def test_mean_filter_hand_computed_1d_row():
    img = np.array([[[1.0, 2.0, 4.0, 8.0]]])
    # support 3 along x only is not possible (the filter is isotropic); use a 1-voxel-thick
    # volume with zero padding: every output is (sum of the 3x3x3 box)/27.
    out = apply_filter(
        img, spacing=ISO, settings=FilterSettings(kind="mean", support=3, padding="constant")
    )
    np.testing.assert_allclose(out.ravel(), np.array([3.0, 7.0, 14.0, 12.0]) / 27.0)


@pytest.mark.parametrize("padding", PADDINGS)
def test_mean_filter_kernel_longer_than_image(padding):
    img = np.random.default_rng(0).normal(size=(3, 4, 5))
    s = FilterSettings(kind="mean", support=9, padding=padding)
    expected = ndimage.uniform_filter(img, size=9, mode=SCIPY_MODE[padding])
    np.testing.assert_allclose(apply_filter(img, spacing=ISO, settings=s), expected, atol=1e-12)


def test_log_kernel_centre_value_closed_form():
    sigma = 1.5
    k = log_kernel(sigma, 3)
    r = k.shape[0] // 2
    assert r == math.floor(4 * sigma + 0.5)
    expected = -1 / sigma**2 * (1 / (math.sqrt(2 * math.pi) * sigma)) ** 3 * 3
    assert k[r, r, r] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_log_separable_equals_dense_kernel(noise, padding, dims):
    s = FilterSettings(kind="log", sigma_mm=2.0, padding=padding, dimensionality=dims)
    spacing = (3.0, 2.0, 2.0) if dims == "2d" else (2.0, 2.0, 2.0)
    dense = log_kernel(1.0, 2)[np.newaxis] if dims == "2d" else log_kernel(1.0, 3)
    expected = ndimage.convolve(noise, dense, mode=SCIPY_MODE[padding])
    np.testing.assert_allclose(
        apply_filter(noise, spacing=spacing, settings=s), expected, atol=1e-12
    )


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_gaussian_smoothing_matches_scipy(noise, dims):
    spacing = (2.0, 0.8, 1.2)
    out = gaussian_smooth(
        noise, spacing=spacing, sigma_mm=1.5, dimensionality=dims, padding="nearest"
    )
    sigma = [1.5 / s for s in spacing]
    if dims == "2d":
        sigma[0] = 0.0
    expected = ndimage.gaussian_filter(noise, sigma=sigma, mode="nearest", truncate=4.0)
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
def test_laws_equals_dense_outer_product(noise, padding):
    s = FilterSettings(kind="laws", laws_kernel="E5L5S3", padding=padding)
    # (x, y, z) = (E5, L5, S3) -> dense kernel indexed (z, y, x)
    dense = np.einsum("i,j,k->ijk", LAWS_1D["S3"], LAWS_1D["L5"], LAWS_1D["E5"])
    expected = ndimage.convolve(noise, dense, mode=SCIPY_MODE[padding])
    np.testing.assert_allclose(apply_filter(noise, spacing=ISO, settings=s), expected, atol=1e-12)


def test_laws_kernels_have_unit_norm_and_expected_sums():
    for name, k in LAWS_1D.items():
        assert np.linalg.norm(k) == pytest.approx(1.0)
        if name.startswith("L"):  # level kernels are low-pass, all others zero-mean
            assert k.sum() > 1.0
        else:
            assert k.sum() == pytest.approx(0.0, abs=1e-12)


def test_laws_energy_is_mean_abs_response(noise):
    base = FilterSettings(kind="laws", laws_kernel="L3E3", dimensionality="2d")
    energy = FilterSettings(kind="laws", laws_kernel="L3E3", dimensionality="2d", energy_distance=2)
    raw = apply_filter(noise, spacing=ISO, settings=base)
    expected = ndimage.uniform_filter(np.abs(raw), size=(1, 5, 5), mode="reflect")
    np.testing.assert_allclose(
        apply_filter(noise, spacing=ISO, settings=energy), expected, atol=1e-12
    )


def test_gabor_matches_direct_2d_convolution():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(2, 15, 17))
    s = FilterSettings(
        kind="gabor",
        sigma_mm=2.0,
        wavelength_mm=3.0,
        gamma=0.7,
        theta_deg=30,
        dimensionality="2d",
        padding="constant",
        truncation=2.0,
    )
    k = gabor_kernel(2.0, 3.0, 0.7, math.radians(30), truncation=2.0)
    expected = np.stack([np.abs(signal.convolve2d(sl, k, mode="same")) for sl in img])
    np.testing.assert_allclose(apply_filter(img, spacing=ISO, settings=s), expected, atol=1e-10)


def test_gabor_kernel_orientation_and_centre():
    k = gabor_kernel(3.0, 4.0, 1.0, 0.0)
    r = k.shape[0] // 2
    assert k[r, r] == pytest.approx(1.0)
    # theta = 0: the carrier varies along x (columns) only
    np.testing.assert_allclose(np.angle(k[r, r + 1]), 2 * np.pi / 4.0)
    np.testing.assert_allclose(np.angle(k[r + 1, r]), 0.0, atol=1e-12)
    # theta = 90 degrees: along y (rows)
    k90 = gabor_kernel(3.0, 4.0, 1.0, math.pi / 2)
    np.testing.assert_allclose(np.angle(k90[r + 1, r]), 2 * np.pi / 4.0)


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_rotations_are_distinct_proper_rotations(dims):
    ndim = 2 if dims == "2d" else 3
    rots = rotations(ndim)
    assert len(rots) == (4 if ndim == 2 else 24)
    assert len(set(rots)) == len(rots)
    assert rots[0] == (tuple(range(ndim)), (False,) * ndim)
    for perm, flips in rots:
        matrix = np.eye(ndim)[list(perm)] * np.where(flips, -1, 1)[:, None]
        assert np.linalg.det(matrix) == pytest.approx(1.0)


def test_simoncelli_multiplier_profile():
    n = 65  # odd: the centred grid contains 0 and is symmetric
    nu = centred_frequency_radius((n,))
    psi = simoncelli_multiplier((n,), level=1)
    assert psi[nu == 0].item() == 0.0
    # maximum 1 at |nu| = 1/2 (centre of the band), 0 at the band edges 1/4 and 1
    assert psi.max() == pytest.approx(1.0)
    assert np.all(psi[(nu < 0.25) | (nu > 1.0)] == 0)
    band = (nu > 0.25) & (nu < 1.0)
    np.testing.assert_allclose(psi[band], np.cos(np.pi / 2 * np.log2(2 * nu[band])))
    # level 2 halves the band
    psi2 = simoncelli_multiplier((n,), level=2)
    assert np.all(psi2[nu > 0.5 + 1e-12] == 0)


def test_riesz_first_order_is_unit_modulus_and_odd():
    shape = (8, 9, 10)
    mx = riesz_multiplier(shape, (0, 0, 1))
    my = riesz_multiplier(shape, (0, 1, 0))
    mz = riesz_multiplier(shape, (1, 0, 0))
    total = np.abs(mx) ** 2 + np.abs(my) ** 2 + np.abs(mz) ** 2
    nonzero = total > 0
    np.testing.assert_allclose(total[nonzero], 1.0)
    assert total[0, 0, 0] == 0.0
    # second order along one axis: -nu_x^2/|nu|^2 (real, non-positive)
    m2 = riesz_multiplier(shape, (0, 0, 2))
    assert np.all(np.real(m2) <= 1e-15)
    assert np.allclose(np.imag(m2), 0)


def test_riesz_of_linear_ramp_points_along_its_gradient():
    # The first-order Riesz transform of a plane wave along x is a phase-shifted wave along x
    # and zero along y and z.
    x = np.arange(32)
    wave = np.broadcast_to(np.cos(2 * np.pi * x / 8.0), (4, 6, 32)).astype(float)
    base = {"kind": "simoncelli", "level": 1, "padding": "periodic"}
    rx = apply_filter(wave, spacing=ISO, settings=FilterSettings(**base, riesz_order_xyz=(1, 0, 0)))
    ry = apply_filter(wave, spacing=ISO, settings=FilterSettings(**base, riesz_order_xyz=(0, 1, 0)))
    assert np.abs(ry).max() < 1e-10
    assert np.abs(rx).max() > 0.1
