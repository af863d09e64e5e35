"""Wavelet filter coefficients against their defining conditions and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.errors import SettingsError
from radiomix.process.filters.wavelets import (
    coiflet_rec_lo,
    daubechies_rec_lo,
    wavelet_filters,
)
from radiomix.settings.filters import COIFLET_MAX, DAUBECHIES_MAX, WAVELETS


def _orthonormality_error(h: np.ndarray) -> float:
    n = h.shape[0]
    errs = [abs(float(np.dot(h[: n - 2 * m], h[2 * m :])) - (m == 0)) for m in range(n // 2)]
    return max(errs)


@pytest.mark.parametrize("order", range(1, DAUBECHIES_MAX + 1))
def test_daubechies_conditions(order):
    h = daubechies_rec_lo(order)
    k = np.arange(h.shape[0], dtype=float)
    assert h.shape == (2 * order,)
    assert h.sum() == pytest.approx(math.sqrt(2.0), abs=1e-12)
    assert _orthonormality_error(h) < 1e-10
    # N vanishing moments of the wavelet: sum (-1)^k k^l h_k = 0 for l < N
    for ell in range(order):
        scale = np.sum(k**ell * np.abs(h))
        assert abs(np.sum((-1.0) ** k * k**ell * h)) < 1e-9 * max(1.0, scale)


def test_daubechies_2_closed_form():
    s3 = math.sqrt(3.0)
    expected = np.array([1 + s3, 3 + s3, 3 - s3, 1 - s3]) / (4 * math.sqrt(2.0))
    np.testing.assert_allclose(daubechies_rec_lo(2), expected, atol=1e-14)


def test_daubechies_3_published_values():
    # Daubechies, Ten Lectures on Wavelets (1992), Table 6.1, N = 3 (normalised to sum √2)
    expected = [
        0.3326705529500825,
        0.8068915093110924,
        0.4598775021184914,
        -0.1350110200102546,
        -0.0854412738820267,
        0.0352262918857095,
    ]
    np.testing.assert_allclose(daubechies_rec_lo(3), expected, atol=1e-12)


@pytest.mark.parametrize("order", range(1, COIFLET_MAX + 1))
def test_coiflet_conditions(order):
    h = coiflet_rec_lo(order)
    n = h.shape[0]
    k = np.arange(n, dtype=float)
    centre = 2 * order
    assert n == 6 * order
    assert h.sum() == pytest.approx(math.sqrt(2.0), abs=1e-12)
    assert _orthonormality_error(h) < 1e-10
    for ell in range(2 * order):  # wavelet vanishing moments
        assert abs(np.sum((-1.0) ** k * k**ell * h)) < 1e-9 * max(1.0, float(n) ** ell)
    for ell in range(1, 2 * order):  # scaling-function vanishing moments about 2N
        assert abs(np.sum((k - centre) ** ell * h)) < 1e-9 * max(1.0, float(n) ** ell)


def test_haar_and_db1_are_the_same():
    for a, b in zip(wavelet_filters("haar"), wavelet_filters("db1"), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["haar", "db2", "db4", "coif1", "coif3"])
def test_decomposition_filters_are_a_quadrature_mirror_pair(name):
    lo, hi = wavelet_filters(name)
    # high-pass removes constants, low-pass keeps them (gain √2)
    assert hi.sum() == pytest.approx(0.0, abs=1e-12)
    assert lo.sum() == pytest.approx(math.sqrt(2.0))
    # the two filters are orthogonal at even shifts
    n = lo.shape[0]
    for m in range(n // 2):
        assert abs(np.dot(lo[: n - 2 * m], hi[2 * m :])) < 1e-12
        assert abs(np.dot(hi[: n - 2 * m], lo[2 * m :])) < 1e-12


def test_every_listed_wavelet_has_coefficients():
    for name in WAVELETS:
        lo, hi = wavelet_filters(name)
        assert lo.shape == hi.shape


def test_unknown_wavelet_orders_raise():
    with pytest.raises(SettingsError, match="Daubechies order"):
        daubechies_rec_lo(DAUBECHIES_MAX + 1)
    with pytest.raises(SettingsError, match="Coiflet order"):
        coiflet_rec_lo(COIFLET_MAX + 1)
    with pytest.raises(SettingsError, match="unknown wavelet"):
        wavelet_filters("sym4")
