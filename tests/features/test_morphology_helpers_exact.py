"""Rewritten morphology helpers against their plain numpy formulations (same bits).

``_plane_bases`` (column arithmetic instead of ``np.cross``), ``pca_eigenvalues`` (``np.cov``
written out), ``ellipsoid_surface_area`` (powers computed once per call) and the
minimum-volume ellipsoid's axes (no final sort) must give exactly what the
straightforward formulations give.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.features import morphology as morph


def _plane_bases_numpy(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.where(
        (np.abs(normals[:, 0]) < 0.9)[:, None], np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    )
    u = np.cross(normals, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(normals, u)


def test_plane_bases_equal_np_cross() -> None:
    rng = np.random.default_rng(2)
    for _ in range(500):
        n = rng.normal(size=(int(rng.integers(1, 300)), 3))
        n[rng.random(n.shape) < 0.2] = 0.0
        n[np.all(n == 0.0, axis=1)] = [0.0, 0.0, 1.0]
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        n *= rng.choice([-1.0, 1.0], (len(n), 1))
        for got, want in zip(morph._plane_bases(n), _plane_bases_numpy(n), strict=True):
            assert got.flags.c_contiguous
            assert got.tobytes() == want.tobytes()  # signed zeros included


def test_pca_eigenvalues_equal_np_cov() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 2000))
        pts = rng.integers(0, 30, (n, 3)) * rng.choice([0.5, 0.977, 2.0, 3.27], 3)
        if rng.random() < 0.5:
            pts = np.asfortranarray(pts)
        if rng.random() < 0.2:
            pts[:, 1] = 0.0  # coplanar: an eigenvalue at round-off, set to zero
        want = np.sort(np.linalg.eigvalsh(np.cov(pts.T, ddof=1)))[::-1]
        want[want <= 1e-12 * want[0]] = 0.0
        assert morph.pca_eigenvalues(pts).tobytes() == want.tobytes()


def _ellipsoid_area_series(a: float, b: float, c: float, terms: int = 20) -> float:
    """The series term by term, each Legendre coefficient and power computed in place."""
    a, b, c = sorted((a, b, c), reverse=True)
    alpha = math.sqrt(max(0.0, 1.0 - (b / a) ** 2))
    beta = math.sqrt(max(0.0, 1.0 - (c / a) ** 2))
    ab = alpha * beta
    s = (alpha * alpha + beta * beta) / 2.0
    total = 0.0
    for nu in range(terms + 1):
        term = 0.0
        for k in range(nu // 2 + 1):
            coef = (-1) ** k * math.factorial(2 * nu - 2 * k) / (
                2**nu * math.factorial(k) * math.factorial(nu - k) * math.factorial(nu - 2 * k)
            )
            term += coef * ab ** (2 * k) * s ** (nu - 2 * k)
        total += term / (1.0 - 4.0 * nu * nu)
    return 4.0 * math.pi * a * b * total


@pytest.mark.parametrize("terms", [0, 1, 5, 20])
def test_ellipsoid_area_equals_the_series_term_by_term(terms: int) -> None:
    rng = np.random.default_rng(terms)
    axes = [(1.0, 1.0, 1.0), (3.0, 2.0, 2.0), (3.0, 3.0, 1.0), (5.0, 1e-9, 0.0)]
    axes += [tuple(rng.random(3) * rng.choice([1e-3, 1.0, 40.0])) for _ in range(500)]
    for a, b, c in axes:
        got = morph.ellipsoid_surface_area(a, b, c, terms=terms)
        assert got == _ellipsoid_area_series(a, b, c, terms)
    assert math.isclose(morph.ellipsoid_surface_area(2.0, 2.0, 2.0), 16.0 * math.pi)


def test_mvee_axes_equal_the_sorted_formulation() -> None:
    from radiomix.features._kernels import morphology as _k

    rng = np.random.default_rng(4)
    for _ in range(20):
        pts = rng.normal(size=(60, 3)) * np.array([4.0, 2.0, 1.0])
        centred = pts - pts.mean(axis=0)
        u, _ = _k.khachiyan_weights(centred, morph.MVEE_TOLERANCE, morph.MVEE_MAX_ITERATIONS)
        c = centred.T @ u
        shape = np.linalg.inv((centred.T * u) @ centred - np.outer(c, c)) / 3
        want = np.sort(1.0 / np.sqrt(np.linalg.eigvalsh(shape)))[::-1]
        assert morph.minimum_volume_enclosing_ellipsoid(pts).tobytes() == want.tobytes()


def test_fft_pair_sums_with_the_callers_mean() -> None:
    rng = np.random.default_rng(9)
    image = rng.normal(size=(6, 7, 5)) * 50.0
    mask = rng.random(image.shape) < 0.5
    plain = morph._fft_pair_sums(image, mask, (2.0, 0.7, 1.1))
    given = morph._fft_pair_sums(image, mask, (2.0, 0.7, 1.1), mean=image[mask].mean())
    assert given == plain
