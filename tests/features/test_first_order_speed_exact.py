"""Faster first-order paths against independent computations, to the last bit.

- :func:`~radiomix.features.statistics.sort_sample` (counting sort of lattice values)
  against ``numpy.sort``: the same array, bit for bit, on lattices, off them (fallback),
  with signed zeros, non-finite values and short samples.
- The intensity histogram's sorted grey levels (counting) against ``numpy.sort`` of the
  float levels, and its counts against ``numpy.bincount``.
- The IVH's sorted intensities against ``numpy.sort`` (fixed-bin-size bin centres).
- The whole-number sphere means
  (:func:`~radiomix.features._kernels.local_intensity.sphere_means_whole`) against a plain
  loop adding each voxel's offsets in order: equal bits (whole numbers add exactly), the
  border voxels included; it declines images that are not whole numbers or too large.
- The ROI bounding box of the processing chain against ``numpy.nonzero``, and the
  linear mask interpolation restricted to the points that reach the mask's box against
  the interpolation of every point (equal bits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import brute_force_sphere_means

from radiomix.features._kernels.local_intensity import sphere_means_whole
from radiomix.features.intensity_histogram import DiscretisedHistogram
from radiomix.features.ivh import IntensityVolumeHistogram
from radiomix.features.local_intensity import _sphere_runs, sphere_kernel, sphere_means_in_mask
from radiomix.features.statistics import COUNTING_SORT_MIN, SampleSummary, sort_sample
from radiomix.process.discretise import ivh_input
from radiomix.process.interpolate import aligned_grid, resample
from radiomix.process.pipeline import _bbox
from radiomix.settings.steps import IvhSettings, ResegmentationSettings


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


# --------------------------------------------------------------------------------------
# Counting sort
# --------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 3000),
    span=st.integers(0, 5000),
    offset=st.integers(-2000, 2000),
    step=st.sampled_from([1.0, 2.5, 0.1, 25.0, 1e-3]),
    seed=st.integers(0, 2**16),
)
def test_sort_sample_equals_numpy_sort_on_lattices(n, span, offset, step, seed) -> None:
    """Lattice values (CT HU, bin centres lo + (k - 0.5) w, bin numbers): np.sort's bits."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, span + 1, n)
    x = offset * step + (k - 0.5) * step
    np.testing.assert_array_equal(bits(sort_sample(x, step=step)), bits(np.sort(x)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 2000), scale=st.sampled_from([1e-3, 1.0, 100.0, 1e6]),
       seed=st.integers(0, 2**16))
def test_sort_sample_equals_numpy_sort_off_lattices(n, scale, seed) -> None:
    """Real-valued samples (MR, PET SUV), with and without repeated values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * scale
    x[: n // 3] = np.round(x[: n // 3])  # some whole numbers among them
    for step in (1.0, 0.5):
        np.testing.assert_array_equal(bits(sort_sample(x, step=step)), bits(np.sort(x)))


def test_sort_sample_keeps_signed_zeros_and_non_finite_values() -> None:
    n = 4 * COUNTING_SORT_MIN
    whole = np.arange(n, dtype=np.float64) % 7 - 3.0
    only_negative_zero = np.where(whole == 0, -0.0, whole)
    np.testing.assert_array_equal(bits(sort_sample(only_negative_zero)),
                                  bits(np.sort(only_negative_zero)))
    mixed = only_negative_zero.copy()
    mixed[::2] = np.where(mixed[::2] == 0, 0.0, mixed[::2])  # -0.0 beside 0.0: np.sort
    np.testing.assert_array_equal(bits(sort_sample(mixed)), bits(np.sort(mixed)))
    for bad in (math.nan, math.inf, -math.inf):
        x = whole.copy()
        x[5] = bad
        np.testing.assert_array_equal(bits(sort_sample(x)), bits(np.sort(x)))
    for step in (0.0, -1.0, math.inf, math.nan):
        np.testing.assert_array_equal(bits(sort_sample(whole, step=step)), bits(np.sort(whole)))


def test_sample_summary_of_is_of_sorted_of_numpy_sort() -> None:
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=5000) * 300)
    a, b = SampleSummary.of(x), SampleSummary.of_sorted(np.sort(x))
    np.testing.assert_array_equal(bits(a.sorted), bits(b.sorted))
    assert (a.mean, a.m2, a.m3, a.m4) == (b.mean, b.m2, b.m3, b.m4)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 3000), top=st.integers(1, 60), n_levels=st.integers(1, 80),
       as_float=st.booleans(), seed=st.integers(0, 2**16))
def test_histogram_levels_sorted_and_counted(n, top, n_levels, as_float, seed) -> None:
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, top + 1, n)
    given_levels = levels.astype(np.float64) if as_float else levels
    h = DiscretisedHistogram.of(given_levels, n_levels=n_levels)
    ref = np.sort(levels.astype(np.float64))
    np.testing.assert_array_equal(bits(h.summary.sorted), bits(ref))
    n_g = max(n_levels, int(levels.max()))
    np.testing.assert_array_equal(h.counts, np.bincount(levels - 1, minlength=n_g))
    assert h.counts.dtype == np.float64
    plain = SampleSummary.of_sorted(ref)
    assert (h.summary.mean, h.summary.m2, h.summary.m3, h.summary.m4) == (
        plain.mean, plain.m2, plain.m3, plain.m4)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), width=st.sampled_from([2.5, 0.1, 25.0, 1.0]),
       seed=st.integers(0, 2**16))
def test_ivh_bin_centres_sorted_as_numpy_sorts_them(n, width, seed) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=n) * 200.0)
    reseg = ResegmentationSettings(range=(-1000.0, 400.0))
    ivh = ivh_input(values, IvhSettings(method="fbs", bin_width=width), reseg)
    h = IntensityVolumeHistogram.of(ivh)
    np.testing.assert_array_equal(bits(h.sorted), bits(np.sort(ivh.values)))


# --------------------------------------------------------------------------------------
# Sphere means of whole numbers
# --------------------------------------------------------------------------------------


def in_order_sphere_means(image: np.ndarray, mask: np.ndarray, kernel: np.ndarray):
    """Mean over the in-image offsets of ``kernel`` around each mask voxel, in order."""
    offsets = np.argwhere(kernel) - np.asarray(kernel.shape) // 2
    return brute_force_sphere_means(image, mask, offsets)


def whole_means(image: np.ndarray, mask: np.ndarray, kernel: np.ndarray,
                limit: float = 2.0**40) -> tuple[bool, np.ndarray]:
    nz, ny, nx = image.shape
    out = np.full(int(mask.sum()), np.nan)
    done = sphere_means_whole(
        np.ascontiguousarray(image, dtype=np.float64).ravel(), mask.ravel(), (nz, ny, nx),
        _sphere_runs(kernel, ny, nx), limit, np.empty(nz * ny * (nx + 1)), np.empty(nx), out,
    )
    return bool(done), out


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 7), st.integers(1, 9), st.integers(1, 14)),
    spacing=st.sampled_from([(2.0, 2.0, 2.0), (3.0, 2.5, 2.5), (4.0, 4.0, 1.5),
                             (1.0, 1.0, 1.0)]),
    fill=st.floats(0.1, 1.0),
    seed=st.integers(0, 2**16),
)
def test_sphere_means_whole_equal_in_order_sums(shape, spacing, fill, seed) -> None:
    """Runs of four voxels, single voxels and border voxels: the bits of in-order sums."""
    rng = np.random.default_rng(seed)
    image = np.round(rng.normal(size=shape) * 500.0) + 0.0  # whole numbers, no -0.0
    mask = rng.random(shape) < fill
    kernel = sphere_kernel(spacing, radius=4.0)
    done, got = whole_means(image, mask, kernel)
    assert done
    np.testing.assert_array_equal(bits(got), bits(in_order_sphere_means(image, mask, kernel)))


def test_sphere_means_whole_declines_fractions_and_large_values() -> None:
    rng = np.random.default_rng(2)
    image = np.round(rng.normal(size=(5, 6, 7)) * 100.0)
    mask = np.ones(image.shape, dtype=bool)
    kernel = sphere_kernel((2.0, 2.0, 2.0), radius=4.0)
    for bad in (0.5, math.nan, math.inf, 2.0**41):
        spoilt = image.copy()
        spoilt[4, 5, 6] = bad  # the last voxel read
        done, out = whole_means(spoilt, mask, kernel)
        assert not done
        assert np.isnan(out).all()  # left unfilled


@pytest.mark.parametrize("whole", [True, False])
def test_sphere_means_in_mask_routes_agree_with_in_order_sums(whole) -> None:
    """The public function on whole-number and fractional images (the two direct routes)."""
    rng = np.random.default_rng(5)
    image = rng.normal(size=(9, 17, 14)) * 100.0
    if whole:
        image = np.round(image) + 0.0
    mask = rng.random(image.shape) < 0.4
    mask[0, 0, 0] = mask[-1, -1, -1] = True
    spacing = (2.0, 2.0, 2.0)
    got = sphere_means_in_mask(image, mask, spacing=spacing)
    ref = in_order_sphere_means(image, mask, sphere_kernel(spacing))
    if whole:
        np.testing.assert_array_equal(bits(got), bits(ref))
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-10)


# --------------------------------------------------------------------------------------
# Bounding box
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(shape=st.tuples(st.integers(1, 8), st.integers(1, 9), st.integers(1, 10)),
       fill=st.floats(0.0, 0.5), seed=st.integers(0, 2**16))
def test_bbox_equals_nonzero_extent(shape, fill, seed) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < fill
    mask[tuple(int(rng.integers(0, n)) for n in shape)] = True
    where = np.nonzero(mask)
    assert _bbox(mask) == [(int(w.min()), int(w.max())) for w in where]


# --------------------------------------------------------------------------------------
# Mask interpolation over the points that reach the mask's box
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(1, 9), st.integers(1, 10)),
    new_spacing=st.sampled_from([0.6, 1.0, 1.7, 2.0, 3.3]),
    fill=st.floats(0.0, 0.6),
    seed=st.integers(0, 2**16),
)
def test_resample_with_support_equals_whole_resample(shape, new_spacing, fill, seed) -> None:
    """Points beyond the mask's box are 0 without being summed: the same bits as the full
    linear interpolation (the grid extrapolates beyond the array, the box touches its
    edges or not)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape)
    box = [sorted(int(v) for v in rng.integers(0, n, 2)) for n in shape]
    inner = tuple(slice(lo, hi + 1) for lo, hi in box)
    mask[inner] = rng.random(mask[inner].shape) < max(fill, 0.05)
    mask[tuple(lo for lo, _ in box)] = 1.0
    where = np.nonzero(mask)
    support = [(int(w.min()), int(w.max())) for w in where]
    grids = tuple(aligned_grid(n, 1.0, new_spacing) for n in shape)
    full = resample(mask, grids, order=1)
    np.testing.assert_array_equal(bits(resample(mask, grids, order=1, support=support)),
                                  bits(full))
    # a crop of the grid (index range) of a crop of the array (origin), as the chain does
    rng_idx = tuple((g.size // 4, g.size - g.size // 4) for g in grids)
    if all(b > a for a, b in rng_idx):
        part = resample(mask, grids, order=1, index_range=rng_idx, support=support)
        np.testing.assert_array_equal(
            bits(part), bits(full[tuple(slice(a, b) for a, b in rng_idx)]))


# --------------------------------------------------------------------------------------
# Intensities and grey levels handed over by the processing chain
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["ibsi-A", "ibsi-C", "ibsi-E"])
def test_chain_hands_over_the_gathered_intensity_mask_values(preset) -> None:
    """The context's intensities and grey levels are its image's and levels' values at
    the intensity mask (what gathering them again gives), read-only."""
    from radiomix.process.pipeline import process_arrays
    from radiomix.settings import load_preset

    rng = np.random.default_rng(7)
    image = np.round(rng.normal(size=(12, 30, 30)) * 60.0 + 40.0).astype(np.int16)
    mask = np.zeros(image.shape, dtype=bool)
    mask[3:9, 8:22, 9:20] = True
    ctx = process_arrays(image, mask, (2.5, 0.9, 0.9), load_preset(preset))[0]
    np.testing.assert_array_equal(bits(ctx.intensities), bits(ctx.image[ctx.int_mask]))
    np.testing.assert_array_equal(ctx.grey_levels, ctx.levels[ctx.int_mask])
    assert ctx.grey_levels.dtype == np.int64
    assert not ctx.intensities.flags.writeable
    assert not ctx.grey_levels.flags.writeable
