"""Faster evaluation routes against independent computations.

- Moran's I / Geary's C pair sums (IBSI N365, NPT7) by spectral (Parseval) FFT against
  brute-force pair sums with scipy ``pdist`` on random ROIs of odd and even box sizes and
  anisotropic spacing;
- local intensity sphere means (IBSI 9ST6) at mask voxels, direct numba sums and the FFT
  route, against ``scipy.ndimage.correlate`` with the sphere indicator (borders included).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import pdist, squareform

from radiomix.errors import InputError
from radiomix.features import local_intensity as loc
from radiomix.features import morphology as morph


def brute_pair_sums(image, mask, spacing) -> tuple[float, float, float]:
    pts = np.argwhere(mask) * np.asarray(spacing)
    x = image[mask]
    y = x - x.mean()
    w = squareform(1.0 / pdist(pts))  # zero diagonal: ordered pairs k1 != k2
    return (
        float(w.sum()),
        float((w * np.outer(y, y)).sum()),
        float((w * (y[:, None] - y[None, :]) ** 2).sum()),
    )


@pytest.mark.parametrize(
    ("shape", "spacing", "seed"),
    [
        ((4, 6, 5), (3.0, 0.9, 1.2), 0),
        ((7, 3, 8), (1.0, 1.0, 1.0), 1),
        ((1, 9, 10), (2.0, 0.7, 0.7), 2),  # a single slice
        ((5, 1, 1), (1.5, 1.0, 1.0), 3),  # a line of voxels
        ((9, 10, 11), (2.0, 2.0, 2.0), 4),
    ],
)
def test_fft_pair_sums_equal_brute_force(shape, spacing, seed) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.6
    mask.flat[[0, -1]] = True  # at least two voxels
    image = rng.normal(size=shape) * 50 + np.arange(shape[2])
    got = morph._fft_pair_sums(image, mask, spacing)
    ref = brute_pair_sums(image, mask, spacing)
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-9)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 15, 16, 97, 121])
def test_even_fast_len(n: int) -> None:
    length = morph._even_fast_len(n)
    assert length >= n
    assert length % 2 == 0
    # 5-smooth
    rest = length
    for p in (2, 3, 5):
        while rest % p == 0:
            rest //= p
    assert rest == 1


def correlate_means(image, spacing) -> np.ndarray:
    k = loc.sphere_kernel(spacing).astype(float)
    sums = ndimage.correlate(image, k, mode="constant")
    counts = ndimage.correlate(np.ones_like(image), k, mode="constant")
    return sums / counts


@pytest.mark.parametrize("route", ["direct", "fft"])
@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (3.0, 0.9, 1.2), (5.0, 1.0, 1.0)])
def test_sphere_means_in_mask_equal_correlation(monkeypatch, route, spacing) -> None:
    rng = np.random.default_rng(8)
    image = np.round(rng.normal(size=(9, 17, 14)) * 100)
    mask = rng.random(image.shape) < 0.4
    mask[0, 0, 0] = mask[-1, -1, -1] = mask[4, 8, 7] = True  # corners and centre
    monkeypatch.setattr(loc, "DIRECT_SUM_RATIO", np.inf if route == "direct" else -1)
    got = loc.sphere_means_in_mask(image, mask, spacing=spacing)
    assert got.shape == (int(mask.sum()),)
    assert got == pytest.approx(correlate_means(image, spacing)[mask], rel=1e-12, abs=1e-9)


def test_sphere_means_in_mask_rejects_shape_mismatch() -> None:
    with pytest.raises(InputError, match="one shape"):
        loc.sphere_means_in_mask(np.zeros((3, 4, 5)), np.ones((3, 4, 4), bool), spacing=(1, 1, 1))
