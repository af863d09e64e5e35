"""Faster evaluation routes against independent computations.

- Moran's I / Geary's C pair sums (IBSI N365, NPT7) by blocked spectral (Parseval) FFT
  against brute-force pair sums with scipy ``pdist`` on random ROIs of odd and even box
  sizes and anisotropic spacing, for every block size (hypothesis), and the exact default
  against the opt-in subsample;
- local intensity sphere means (IBSI 9ST6) at mask voxels, direct numba sums and the FFT
  route, against ``scipy.ndimage.correlate`` with the sphere indicator (borders included).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import brute_pair_sums, pair_product_scale
from scipy import ndimage

from radiomix.errors import InputError
from radiomix.features import local_intensity as loc
from radiomix.features import morphology as morph


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


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, 9) for _ in range(3))),
    spacing=st.tuples(*(st.sampled_from([0.5, 0.7, 1.0, 2.0, 3.3]) for _ in range(3))),
    fill=st.floats(0.05, 1.0),
    offset=st.sampled_from([0.0, -1000.0, 3e4]),
    block_bytes=st.sampled_from([1, 10_000, 1 << 20]),
    seed=st.integers(0, 2**31 - 1),
)
def test_blocked_fft_pair_sums_equal_brute_force(
    shape, spacing, fill, offset, block_bytes, seed
) -> None:
    """Any box, spacing, fill, intensity offset and block size: the direct pair sums."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < fill
    mask.flat[[0, -1]] = True  # at least two voxels (one when the box is a single voxel)
    if mask.sum() < 2:
        return
    image = offset + rng.normal(size=shape) * 40 + 3.0 * np.arange(shape[2])
    got = morph._fft_pair_sums(image, mask, spacing, block_bytes=block_bytes)
    ref = brute_pair_sums(image, mask, spacing)
    # sum w and sum w (y1-y2)^2 have positive terms; sum w y1 y2 may cancel, so its
    # error is bounded against sum w |y1 y2| instead
    assert got[0] == pytest.approx(ref[0], rel=1e-10)
    assert got[2] == pytest.approx(ref[2], rel=1e-10, abs=1e-9)
    scale = pair_product_scale(image, mask, spacing)
    assert abs(got[1] - ref[1]) <= 1e-10 * scale + 1e-9


def test_block_size_does_not_change_the_sums() -> None:
    """One block or many: equal to rounding (the blocks only reorder the float sums)."""
    rng = np.random.default_rng(11)
    mask = rng.random((13, 17, 11)) < 0.5
    image = rng.normal(size=mask.shape) * 100
    one = morph._fft_pair_sums(image, mask, (2.0, 1.0, 1.5), block_bytes=1 << 30)
    many = morph._fft_pair_sums(image, mask, (2.0, 1.0, 1.5), block_bytes=1)
    assert many == pytest.approx(one, rel=1e-13)


def test_exact_by_default_subsample_only_when_asked() -> None:
    """No voxel limit by default (exact, no note); a limit gives the noted subsample."""
    rng = np.random.default_rng(3)
    mask = rng.random((8, 9, 10)) < 0.7
    image = np.cumsum(rng.normal(size=mask.shape), axis=2)
    moran, geary, note = morph.spatial_autocorrelation(image, mask, spacing=(1.0, 1.0, 1.0))
    assert note is None
    sw, syy, sdd = brute_pair_sums(image, mask, (1.0, 1.0, 1.0))
    y = image[mask] - image[mask].mean()
    n = int(mask.sum())
    assert moran == pytest.approx(n / sw * syy / (y @ y), rel=1e-10)
    assert geary == pytest.approx((n - 1) / (2 * sw) * sdd / (y @ y), rel=1e-10)
    _, _, approx = morph.spatial_autocorrelation(
        image, mask, spacing=(1.0, 1.0, 1.0), max_voxels=100, sample_voxels=50
    )
    assert approx is not None
    assert "50 of" in approx


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
