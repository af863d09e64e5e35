"""Faster texture and extraction plumbing against the formulations they replace, to the bit.

- Registry lookups (:func:`aggregation_features`, :func:`columns`) against filtering every
  registered feature and formatting each column name on its own.
- :func:`chebyshev_offsets` (a Python list) against the ``numpy.meshgrid`` box; the slice
  index of every ROI voxel in :func:`padded_flat` (runs of the ascending ROI) against the
  division of its flat index by the slice stride, and ``roi_levels`` given or gathered.
- The sphere of local intensity (:func:`sphere_kernel`, broadcast squares) against the
  ``numpy.meshgrid`` grids, and the direct-or-FFT decision (:func:`_direct_sum`, a lower
  bound first) against the decision from scipy's fast FFT lengths.
- NGTDM sums of the neighbourhood kernel (``level_difference``, ``level_count``) against
  ``np.bincount`` over the voxels with a neighbour, to the last bit.
- Per-feature averages over K matrices in one stacked reduction (:func:`average_rows` of
  :func:`feature_rows`, :func:`average_over`) against one reduction per feature, NaN and
  empty stacks included.
- GLCM features that now share intermediates (variance, difference and sum averages, the
  cluster deviation) against their former stand-alone formulas.
- The texture matrices of a context, whose arrays are cut to the ROI's bounding box
  (:func:`context_padded`), against those of the whole arrays with their margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.features import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from radiomix.features import local_intensity as loc
from radiomix.features._kernels.neighbourhood import (
    chebyshev_offsets,
    neighbour_sums_of,
    padded_flat,
)
from radiomix.features.aggregation import DIRECTIONAL, ZONAL, Aggregation
from radiomix.features.glszm import CountMatrix, average_over
from radiomix.features.registry import (
    FAMILY_CODES,
    aggregation_features,
    all_features,
    columns,
    family_compute,
)
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings.steps import FeatureSettings

# ----------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("aggregation", [None, *Aggregation])
def test_aggregation_features_equal_filtering_every_feature(aggregation) -> None:
    specs = all_features()
    for fam in FAMILY_CODES:
        expected = tuple(
            s for s in specs if s.family == fam
            and (aggregation in s.aggregations if aggregation is not None else not s.aggregations)
        )
        assert aggregation_features(fam, aggregation) == expected


@pytest.mark.parametrize("aggregation", [None, Aggregation.MERGED_3D, Aggregation.D2])
def test_columns_equal_one_name_at_a_time(aggregation) -> None:
    specs = all_features()
    names = columns(specs, tag="ct", filter_name="log_1mm", aggregation=aggregation)
    for spec, name in zip(specs, names, strict=True):
        base = f"ct.log_1mm.{spec.name}"
        assert name == (f"{base}.{aggregation.token}" if aggregation is not None else base)
        assert spec.column(tag="ct", filter_name="log_1mm", aggregation=aggregation) == name


# ----------------------------------------------------------------------------------------
# Neighbourhood offsets and padding
# ----------------------------------------------------------------------------------------


def _meshgrid_offsets(distance: int, *, planar: bool) -> np.ndarray:
    r = np.arange(-distance, distance + 1)
    rz = np.zeros(1, dtype=np.int64) if planar else r
    grid = np.stack(np.meshgrid(rz, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.ascontiguousarray(grid[np.any(grid != 0, axis=1)], dtype=np.int64)


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("distance", [1, 2, 3, 4])
def test_chebyshev_offsets_equal_meshgrid(distance, planar) -> None:
    got = chebyshev_offsets(distance, planar=planar)
    expected = _meshgrid_offsets(distance, planar=planar)
    assert got.dtype == np.int64
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)


rois = st.tuples(
    hnp.arrays(np.int64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=7),
               elements=st.integers(1, 5)),
    st.integers(0, 2**32 - 1),
    st.floats(0.05, 1.0),
)  # fmt: skip


def _mask(shape: tuple[int, ...], seed: int, share: float) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) < share
    mask.flat[seed % mask.size] = True
    return mask


@settings(max_examples=80, deadline=None)
@given(roi=rois, distance=st.integers(1, 2), planar=st.booleans(), given_levels=st.booleans())
def test_padded_flat_slices_and_levels(roi, distance, planar, given_levels) -> None:
    levels, seed, share = roi
    mask = _mask(levels.shape, seed, share)
    padded = padded_flat(levels, mask, distance, planar=planar,
                         roi_levels=levels[mask].copy() if given_levels else None)  # fmt: skip
    _, ny, nx = levels.shape
    pz = 0 if planar else distance
    stride = (ny + 2 * distance) * (nx + 2 * distance)
    assert padded.voxel_slice.dtype == np.int64
    np.testing.assert_array_equal(padded.voxel_slice, padded.roi // stride - pz)
    np.testing.assert_array_equal(padded.voxel_slice, np.nonzero(mask)[0])
    np.testing.assert_array_equal(padded.roi_levels, levels[mask])
    np.testing.assert_array_equal(padded.levels[padded.roi], levels[mask])


# ----------------------------------------------------------------------------------------
# Local intensity sphere and route
# ----------------------------------------------------------------------------------------


def _meshgrid_sphere(spacing, radius) -> np.ndarray:
    sp = np.asarray(spacing, dtype=np.float64)
    half = np.floor(radius / sp).astype(int)
    grids = np.meshgrid(
        *[np.arange(-h, h + 1) * s for h, s in zip(half, sp, strict=True)], indexing="ij"
    )
    return np.asarray(grids[0] ** 2 + grids[1] ** 2 + grids[2] ** 2 <= radius**2)


@settings(max_examples=100, deadline=None)
@given(
    spacing=st.tuples(*[st.floats(0.3, 7.0)] * 3),
    radius=st.sampled_from([loc.PEAK_RADIUS_MM, 2.0, 3.0, 6.0, 10.0]),
)
def test_sphere_kernel_equals_meshgrid(spacing, radius) -> None:
    got = loc.sphere_kernel(spacing, radius=radius)
    expected = _meshgrid_sphere(spacing, radius)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, expected)


def _fft_decision(n_terms: int, shape, kernel_shape) -> bool:
    from scipy import fft

    total = 1
    for n, k in zip(shape, kernel_shape, strict=True):
        total *= fft.next_fast_len(n + k - 1, real=True)
    return n_terms <= loc.DIRECT_SUM_RATIO * total


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 300)] * 3),
    kernel=st.tuples(*[st.integers(0, 20).map(lambda h: 2 * h + 1)] * 3),
    share=st.floats(0.0, 1.0),
    ratio=st.sampled_from([loc.DIRECT_SUM_RATIO, 1, 7, -1]),
)
def test_direct_sum_decision_equals_fft_lengths(shape, kernel, share, ratio) -> None:
    n_terms = int(share * math.prod(shape) * math.prod(kernel))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loc, "DIRECT_SUM_RATIO", ratio)
        assert loc._direct_sum(n_terms, shape, kernel) == _fft_decision(n_terms, shape, kernel)


# ----------------------------------------------------------------------------------------
# NGTDM sums of the neighbourhood kernel
# ----------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(roi=rois, distance=st.integers(1, 2), planar=st.booleans())
def test_level_sums_equal_bincount(roi, distance, planar) -> None:
    levels, seed, share = roi  # sparse masks leave voxels without a neighbour
    mask = _mask(levels.shape, seed, share)
    padded = padded_flat(levels, mask, distance, planar=planar)
    sums = neighbour_sums_of(padded, 0)
    valid = sums.neighbours > 0
    width = int(levels[mask].max()) + 1
    s = np.bincount(padded.roi_levels[valid], weights=sums.difference[valid], minlength=width)
    n = np.bincount(padded.roi_levels[valid], minlength=width)
    assert sums.level_difference.tobytes() == s.tobytes()
    assert sums.level_count.dtype == np.int64
    np.testing.assert_array_equal(sums.level_count, n)


# ----------------------------------------------------------------------------------------
# Averages over K matrices in one reduction
# ----------------------------------------------------------------------------------------


def _context() -> RoiContext:
    levels = np.ones((2, 2, 2), dtype=np.int64)
    mask = levels > 0
    values = levels[mask].astype(float)
    return RoiContext(levels.astype(float), mask, mask, (1.0, 1.0, 1.0), levels=levels,
                      n_levels=1, ivh=IvhInput(values=values, lower=1.0, upper=1.0, step=1.0),
                      settings=FeatureSettings())  # fmt: skip


def _random_glcms(seed: int, k: int, n_levels: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (k, n_levels, n_levels)
    counts = rng.integers(0, 9, size=shape) * (rng.random(shape) < 0.4)
    counts = counts + np.swapaxes(counts, 1, 2)
    counts[:, 0, 0] += 1
    if k > 2:
        counts[1] = 0  # a flat matrix: correlation and IC1 undefined there
        counts[1, -1, -1] = 4
    return counts


GLCM_SPECS = aggregation_features("glcm", Aggregation.AVERAGED_3D)


@pytest.mark.parametrize(("seed", "k", "n_levels"), [(0, 13, 6), (1, 1, 9), (2, 4, 3), (3, 13, 1)])
def test_average_rows_equal_one_feature_at_a_time(seed, k, n_levels) -> None:
    m = glcm.glcm_marginals(_random_glcms(seed, k, n_levels), n_levels=n_levels)
    ctx_a, ctx_b = _context(), _context()
    agg = Aggregation.AVERAGED_3D
    got = glcm.average_rows(ctx_a, GLCM_SPECS, agg, glcm.feature_rows(GLCM_SPECS, m))
    expected = {s.name: glcm.average_defined(ctx_b, s, agg, s.func(m)) for s in GLCM_SPECS}
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert np.float64(got[name]).tobytes() == np.float64(value).tobytes(), name
    assert ctx_a.notes == ctx_b.notes


def test_average_rows_of_an_empty_stack_are_nan() -> None:
    m = glcm.GlcmMarginals(p_ij=np.zeros((0, 3, 3)), n_g=3)
    rows = glcm.feature_rows(GLCM_SPECS, m)
    got = glcm.average_rows(_context(), GLCM_SPECS, Aggregation.AVERAGED_3D, rows)
    assert all(math.isnan(v) for v in got.values())


@pytest.mark.parametrize("n_matrices", [1, 3, 26])
def test_average_over_equals_one_feature_at_a_time(n_matrices) -> None:
    rng = np.random.default_rng(n_matrices)
    counts = rng.integers(0, 5, size=(n_matrices, 4, 7)) * (rng.random((n_matrices, 4, 7)) < .5)
    counts[:, 0, 0] += 1
    m = CountMatrix(counts, np.array([1, 2, 4, 7]), np.arange(1, 8),
                    n_voxels=rng.integers(50, 90, n_matrices))  # fmt: skip
    for fam in ("glszm", "gldzm", "ngldm"):
        specs = aggregation_features(fam, Aggregation.D2)
        got = average_over(specs, m)
        for s in specs:
            values = np.asarray(s.func(m), dtype=np.float64)
            expected = float(np.add.reduce(values, axis=None)) / values.size
            assert np.float64(got[s.name]).tobytes() == np.float64(expected).tobytes(), s.name


# ----------------------------------------------------------------------------------------
# GLCM features on shared intermediates
# ----------------------------------------------------------------------------------------


def _former(m: glcm.GlcmMarginals) -> dict[str, np.ndarray]:
    """The features as written before they shared intermediates."""
    mu_d = m.p_i_minus_j @ m.k_minus
    mu_s = m.p_i_plus_j @ m.k_plus
    d = m.k_plus[None, :] - (m.mu_i + m.mu_j)[:, None]
    d2 = d * d
    return {
        "glcm.joint_variance": ((m.i[None, :] - m.mu_i[:, None]) ** 2 * m.p_i).sum(axis=1),
        "glcm.difference_average": mu_d,
        "glcm.difference_variance": ((m.k_minus[None, :] - mu_d[:, None]) ** 2
                                     * m.p_i_minus_j).sum(axis=1),
        "glcm.sum_average": mu_s,
        "glcm.sum_variance": ((m.k_plus[None, :] - mu_s[:, None]) ** 2
                              * m.p_i_plus_j).sum(axis=1),
        "glcm.cluster_tendency": (d2 * m.p_i_plus_j).sum(axis=1),
        "glcm.cluster_shade": (d2 * d * m.p_i_plus_j).sum(axis=1),
        "glcm.cluster_prominence": (d2 * d2 * m.p_i_plus_j).sum(axis=1),
        "glcm.correlation": None,  # reads sigma_i: checked below
    }


@pytest.mark.parametrize(("seed", "k", "n_levels"), [(4, 13, 7), (5, 1, 12), (6, 5, 2)])
def test_shared_intermediates_equal_former_formulas(seed, k, n_levels) -> None:
    counts = _random_glcms(seed, k, n_levels)
    for name, expected in _former(glcm.glcm_marginals(counts, n_levels=n_levels)).items():
        m = glcm.glcm_marginals(counts, n_levels=n_levels)  # fresh: no cached property
        got = glcm.__dict__[name.split(".")[1]](m)
        if expected is None:
            sigma = np.sqrt(((m.i[None, :] - m.mu_i[:, None]) ** 2 * m.p_i).sum(axis=1))
            assert m.sigma_i.tobytes() == sigma.tobytes()
            continue
        assert got.tobytes() == expected.tobytes(), name


# ----------------------------------------------------------------------------------------
# Texture matrices of a context (cut to the ROI's box) against the whole arrays
# ----------------------------------------------------------------------------------------


@st.composite
def roi_with_margin(draw):
    inner = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1,
                                                       max_side=5), elements=st.integers(1, 4)))
    before = draw(st.tuples(*[st.integers(0, 3)] * 3))
    after = draw(st.tuples(*[st.integers(0, 3)] * 3))
    seed = draw(st.integers(0, 2**32 - 1))
    mask = _mask(inner.shape, seed, draw(st.floats(0.3, 1.0)))
    pad = tuple(zip(before, after, strict=True))
    levels = np.pad(np.where(mask, inner, 0), pad)
    morph = np.pad(mask | (np.random.default_rng(seed + 1).random(inner.shape) < 0.3), pad)
    return levels, np.pad(mask, pad), morph


def _same(a, b) -> None:
    assert np.asarray(a).shape == np.asarray(b).shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@settings(max_examples=40, deadline=None)
@given(roi=roi_with_margin(), distance=st.integers(1, 2))
def test_context_matrices_equal_whole_array_matrices(roi, distance) -> None:
    levels, mask, morph = roi
    n_levels = 4
    values = levels[mask].astype(float)
    ctx = RoiContext(levels.astype(float), morph, mask, (1.0, 1.0, 1.0), levels=levels,
                     n_levels=n_levels,
                     ivh=IvhInput(values=values, lower=1.0, upper=4.0, step=1.0),
                     settings=FeatureSettings(glcm_distance=distance, linkage_distance=distance,
                                              ngtdm_distance=distance, ngldm_distance=distance))
    for fam in ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"):
        for agg in DIRECTIONAL if fam in ("glcm", "glrlm") else ZONAL:
            family_compute(fam)(ctx, agg, aggregation_features(fam, agg))
    for agg in DIRECTIONAL:
        dims = 3 if agg.is_3d else 2
        full = glcm.glcm_matrices(levels, mask, n_levels=n_levels, distance=distance, dims=dims)
        _same(ctx.cached(("glcm", agg, distance, True), None), glcm.aggregate_glcm(full, agg))
        runs = glrlm.aggregate_glrlm(glrlm.glrlm_matrices(levels, mask, n_levels=n_levels,
                                                          dims=dims), agg)
        got = ctx.cached(("glrlm", agg), None)
        _same(got.counts, runs.counts)
        _same(got.n_voxels, runs.n_voxels)
    for agg in ZONAL:
        pairs = (
            (("glszm", agg, distance),
             glszm.glszm_matrices(levels, mask, aggregation=agg, linkage_distance=distance)),
            (("gldzm", agg, distance),
             gldzm.gldzm_matrices(levels, mask, morph, aggregation=agg,
                                  linkage_distance=distance)),
            (("ngldm", agg, distance, 0),
             ngldm.ngldm_matrices(levels, mask, aggregation=agg, distance=distance)),
        )
        for key, expected in pairs:
            got = ctx.cached(key, None)
            for name in ("counts", "i", "j", "n_voxels"):
                _same(getattr(got, name), getattr(expected, name))
        got = ctx.cached(("ngtdm", agg, distance), None)
        expected = ngtdm.ngtdm_matrices(levels, mask, aggregation=agg, distance=distance)
        for name in ("i", "s", "n"):
            _same(getattr(got, name), getattr(expected, name))


@pytest.mark.parametrize("n_matrices", [1, 4])
def test_emphasis_shares_the_column_sums(n_matrices) -> None:
    rng = np.random.default_rng(10 + n_matrices)
    counts = rng.integers(0, 6, size=(n_matrices, 5, 8))
    counts[:, 0, 0] += 1
    m = CountMatrix(counts, np.array([1, 2, 3, 6, 9]), np.array([1, 2, 3, 4, 5, 7, 8, 12]),
                    n_voxels=100.0)  # fmt: skip
    for _ in range(2):  # the second time from the shared sums
        for a, b in [(0, -2), (0, 2), (-2, 0), (2, 0), (-2, -2), (2, -2), (-2, 2), (2, 2)]:
            former = (m.counts @ m.j**b) @ m.i**a / m.n_s
            assert glszm.emphasis(m, a, b).tobytes() == former.tobytes()


@settings(max_examples=60, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(1, 40),
                         elements=st.floats(-1e4, 1e4).map(round)))  # fmt: skip
def test_peak_local_equals_former_tie_rule(values) -> None:
    n = values.size
    image = values.reshape(1, 1, n)
    mask = np.ones_like(image, dtype=bool)
    levels = np.ones(image.shape, dtype=np.int64)
    ctx = RoiContext(image, mask, mask, (2.0, 2.0, 2.0), levels=levels, n_levels=1,
                     ivh=IvhInput(values=values, lower=float(values.min()),
                                  upper=float(values.max()), step=1.0),
                     settings=FeatureSettings())  # fmt: skip
    means = loc.sphere_means_in_mask(image, mask, spacing=(2.0, 2.0, 2.0))
    top = values >= values.max() - loc.PEAK_TIE_RELATIVE * float(np.abs(values).max())
    assert loc.peak_local(ctx) == float(means[top].max())
