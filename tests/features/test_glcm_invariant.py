"""Property tests of the GLCM builder and features (hypothesis).

Oracles: a plain-Python loop over every voxel and direction of tiny arrays (pair counts),
matrix symmetry, agreement between the per-slice and the volumetric stacks, invariance of
the merged matrix under flips and axis swaps, and identities between features that the
IBSI manual states (sum average = 2 × joint average, sum variance = cluster tendency,
dissimilarity = difference average).
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features.glcm import (
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    glcm_marginals,
    glcm_matrices,
)
from radiomix.features.registry import all_features

N_LEVELS = 4
SPECS = {s.feature: s for s in all_features() if s.family == "glcm"}

# grey levels 0..N_LEVELS on tiny volumes; 0 is outside the ROI
volumes = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=st.integers(0, N_LEVELS))
)


def index_3d(vector: np.ndarray) -> int:
    """Index of ``vector`` or its opposite among the 13 volumetric directions."""
    vectors = DIRECTIONS_3D
    hit = (vectors == vector).all(axis=1) | (vectors == -vector).all(axis=1)
    return int(np.flatnonzero(hit)[0])


def python_pairs(levels: np.ndarray, offset: tuple[int, int, int]) -> np.ndarray:
    """Ordered pair counts (levels[k], levels[k + offset]) by a plain loop."""
    out = np.zeros((N_LEVELS, N_LEVELS), dtype=np.int64)
    nz, ny, nx = levels.shape
    for z, y, x in itertools.product(range(nz), range(ny), range(nx)):
        z2, y2, x2 = z + offset[0], y + offset[1], x + offset[2]
        if not (0 <= z2 < nz and 0 <= y2 < ny and 0 <= x2 < nx):
            continue
        a, b = levels[z, y, x], levels[z2, y2, x2]
        if a > 0 and b > 0:
            out[a - 1, b - 1] += 1
    return out


def python_pair_total(levels: np.ndarray, offset: tuple[int, int, int]) -> int:
    """Number of voxel pairs at ``offset`` with both voxels in the ROI."""
    nz, ny, nx = levels.shape
    total = 0
    for z, y, x in itertools.product(range(nz), range(ny), range(nx)):
        z2, y2, x2 = z + offset[0], y + offset[1], x + offset[2]
        inside = 0 <= z2 < nz and 0 <= y2 < ny and 0 <= x2 < nx
        if inside and levels[z, y, x] > 0 and levels[z2, y2, x2] > 0:
            total += 1
    return total


@settings(max_examples=60, deadline=None)
@given(levels=volumes, distance=st.integers(1, 2), dims=st.sampled_from([2, 3]))
def test_symmetric_matrices_are_symmetric(levels, distance, dims) -> None:
    assume((levels > 0).any())
    m = glcm_matrices(levels, levels > 0, n_levels=N_LEVELS, distance=distance, dims=dims)
    np.testing.assert_array_equal(m, np.swapaxes(m, -1, -2))


@settings(max_examples=60, deadline=None)
@given(levels=volumes, distance=st.integers(1, 2))
def test_pair_counts_match_a_plain_loop(levels, distance) -> None:
    """Every 3D matrix equals the loop's ordered counts (not symmetric) and their sum is
    the number of valid neighbour pairs; the symmetric matrix holds each pair twice."""
    assume((levels > 0).any())
    mask = levels > 0
    plain = glcm_matrices(levels, mask, n_levels=N_LEVELS, distance=distance, symmetric=False)
    sym = glcm_matrices(levels, mask, n_levels=N_LEVELS, distance=distance)
    for k, d in enumerate(DIRECTIONS_3D):
        offset = tuple(int(c) * distance for c in d)
        np.testing.assert_array_equal(plain[k], python_pairs(levels, offset))
        n_pairs = python_pair_total(levels, offset)
        assert plain[k].sum() == n_pairs
        assert sym[k].sum() == 2 * n_pairs


@settings(max_examples=60, deadline=None)
@given(levels=volumes, distance=st.integers(1, 2))
def test_2d_stack_counts_pairs_per_slice(levels, distance) -> None:
    """Per-slice matrices equal the loop on each slice, and their sum over slices equals
    the volumetric matrix of the same in-plane direction."""
    assume((levels > 0).any())
    mask = levels > 0
    two = glcm_matrices(levels, mask, n_levels=N_LEVELS, distance=distance, dims=2)
    three = glcm_matrices(levels, mask, n_levels=N_LEVELS, distance=distance, dims=3)
    for k, d in enumerate(DIRECTIONS_2D):
        offset = tuple(int(c) * distance for c in d)
        for z in range(levels.shape[0]):
            loop = python_pairs(levels[z : z + 1], offset)
            np.testing.assert_array_equal(two[z, k], loop + loop.T)
        np.testing.assert_array_equal(two[:, k].sum(axis=0), three[index_3d(d)])


@settings(max_examples=40, deadline=None)
@given(levels=volumes, axis=st.integers(0, 2), swap=st.booleans())
def test_merged_matrix_invariant_under_flips_and_in_plane_swap(levels, axis, swap) -> None:
    """Flipping an axis or swapping y and x permutes the 13 (or 4) directions, so the
    merged matrices do not change."""
    assume((levels > 0).any())
    moved = np.flip(levels, axis=axis)
    if swap:
        moved = np.swapaxes(moved, 1, 2)
    for dims in (2, 3):
        a = glcm_matrices(levels, levels > 0, n_levels=N_LEVELS, dims=dims)
        b = glcm_matrices(moved, moved > 0, n_levels=N_LEVELS, dims=dims)
        if dims == 2:
            a, b = a.sum(axis=1), b.sum(axis=1)
            if axis == 0:
                b = b[::-1]
        np.testing.assert_array_equal(a.sum(axis=0), b.sum(axis=0))
        if dims == 2:
            np.testing.assert_array_equal(a, b)  # per slice too


counts = arrays(np.int64, (3, N_LEVELS, N_LEVELS), elements=st.integers(0, 20))


@settings(max_examples=60, deadline=None)
@given(counts=counts)
def test_feature_identities(counts) -> None:
    """IBSI identities for symmetric matrices: sum average = 2 · joint average, sum
    variance = cluster tendency, dissimilarity = difference average; probabilities and
    their marginals sum to one."""
    sym = counts + np.swapaxes(counts, 1, 2)
    assume((sym.sum(axis=(1, 2)) > 0).all())
    m = glcm_marginals(sym, n_levels=N_LEVELS)
    for p in (m.p_ij.sum(axis=(1, 2)), m.p_i.sum(axis=1), m.p_i_minus_j.sum(axis=1)):
        np.testing.assert_allclose(p, 1.0)
    np.testing.assert_allclose(m.p_i_plus_j.sum(axis=1), 1.0)

    def f(name: str) -> np.ndarray:
        return SPECS[name].func(m)

    np.testing.assert_allclose(f("sum_average"), 2 * f("joint_average"))
    np.testing.assert_allclose(f("sum_variance"), f("cluster_tendency"), atol=1e-12)
    np.testing.assert_allclose(f("dissimilarity"), f("difference_average"))
    corr = f("correlation")
    assert np.all(np.isnan(corr) | (np.abs(corr) <= 1 + 1e-12))
    ic2 = f("information_correlation_2")
    assert np.all((ic2 >= 0) & (ic2 <= 1))
