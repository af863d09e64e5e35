"""Moran's I / Geary's C (IBSI N365, NPT7): the fast pair-sum route against brute force.

- ``_fft_pair_sums`` (first-axis real transform into a frequency-leading half spectrum,
  NumPy transforms padding each line as they read it, blocks of first-axis bins) against
  the direct pair sums from scipy ``pdist``, for ROIs inside a larger image whose voxels
  outside the mask are NaN (they must never enter a sum), with one chunk or many, one
  block or many (hypothesis);
- ``_kernel_spectrum`` (the octant's type-I DCT, read in its natural layout by the
  blocks) against the full 3D FFT of the inverse-distance kernel on the padded grid;
- ``spectral_pair_sums_block`` against the same sums written out with NumPy over the
  full spectrum.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import brute_pair_sums, pair_product_scale

from radiomix.features import morphology as morph


def full_kernel(shape, size, spacing) -> np.ndarray:
    """``1/||d||`` on the padded grid (offsets taken modulo ``size``), zero where no pair is."""
    axes = []
    for s, n, sp in zip(shape, size, spacing, strict=True):
        off = np.arange(n)
        off = np.minimum(off, n - off).astype(np.float64)
        d2 = (off * sp) ** 2
        d2[off >= s] = np.inf  # offsets of s or more cannot occur inside the box
        axes.append(d2)
    d2 = axes[0][:, None, None] + axes[1][None, :, None] + axes[2][None, None, :]
    d2[0, 0, 0] = np.inf
    return 1.0 / np.sqrt(d2)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, 13) for _ in range(3))),
    spacing=st.tuples(*(st.sampled_from([0.6, 1.0, 2.0, 3.1]) for _ in range(3))),
    fill=st.floats(0.1, 1.0),
    block_bytes=st.sampled_from([1, 3_000, 40_000, 1 << 20]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pair_sums_inside_a_larger_image_equal_brute_force(
    shape, spacing, fill, block_bytes, seed
) -> None:
    """Any box, chunking and blocking; NaN outside the mask never enters the sums."""
    rng = np.random.default_rng(seed)
    roi = rng.random(shape) < fill
    roi.flat[[0, -1]] = True
    if roi.sum() < 2:
        return
    mask = np.zeros(tuple(s + 3 for s in shape), dtype=bool)
    mask[1 : 1 + shape[0], 2 : 2 + shape[1], 1 : 1 + shape[2]] = roi
    image = 100.0 + rng.normal(size=mask.shape) * 30 + 2.0 * np.arange(mask.shape[2])
    image[~mask] = np.nan
    got = morph._fft_pair_sums(image, mask, spacing, block_bytes=block_bytes)
    assert np.all(np.isfinite(got))
    ref = brute_pair_sums(image, mask, spacing)
    assert got[0] == pytest.approx(ref[0], rel=1e-11)
    assert got[2] == pytest.approx(ref[2], rel=1e-11, abs=1e-9)
    # sum w y1 y2 may cancel: its error is bounded against sum w |y1 y2|
    scale = pair_product_scale(image, mask, spacing)
    assert abs(got[1] - ref[1]) <= 1e-11 * scale + 1e-9


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((3, 5, 4), (1.0, 1.0, 1.0)), ((6, 2, 7), (2.0, 0.7, 1.3)), ((1, 4, 9), (3.0, 1.0, 0.5))],
)
def test_kernel_spectrum_is_the_fft_of_the_padded_kernel(shape, spacing) -> None:
    size = tuple(morph._even_fast_len(2 * s - 1) for s in shape)
    octant = morph._kernel_spectrum(shape, size, spacing)
    full = np.fft.fftn(full_kernel(shape, size, spacing))
    assert np.abs(full.imag).max() <= 1e-12 * np.abs(full.real).max()
    quadrant = full.real[: size[0] // 2 + 1, : size[1] // 2 + 1, : size[2] // 2 + 1]
    np.testing.assert_allclose(octant, quadrant, rtol=1e-12, atol=1e-12 * np.abs(quadrant).max())


@pytest.mark.parametrize(("k0_start", "width", "n0"), [(0, 3, 8), (2, 3, 8), (3, 2, 10), (0, 2, 2)])
def test_spectral_block_sums_equal_numpy(k0_start, width, n0) -> None:
    rng = np.random.default_rng(k0_start + 10 * n0)
    n1, n2 = 6, 10
    block = rng.normal(size=(width, 3, n1, n2)) + 1j * rng.normal(size=(width, 3, n1, n2))
    w_block = rng.random((width, n1 // 2 + 1, n2 // 2 + 1))
    k1 = np.minimum(np.arange(n1), n1 - np.arange(n1))
    k2 = np.minimum(np.arange(n2), n2 - np.arange(n2))
    w_full = w_block[:, k1[:, None], k2[None, :]]  # (width, n1, n2)
    bins = k0_start + np.arange(width)
    mult = np.where((bins > 0) & (bins < n0 // 2), 2.0, 1.0)[:, None, None]
    m, y, y2 = block[:, 0], block[:, 1], block[:, 2]
    expected = (
        float((mult * w_full * np.abs(m) ** 2).sum()),
        float((mult * w_full * np.abs(y) ** 2).sum()),
        float((mult * w_full * (y2 * m.conj()).real).sum()),
    )
    got = morph._k.spectral_pair_sums_block(w_block, block, k0_start, n0 // 2)
    assert got == pytest.approx(expected, rel=1e-13)
