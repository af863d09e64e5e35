"""Faster texture computations against their straightforward formulations, to the last bit.

- The one-pass neighbourhood kernel (:func:`neighbour_sums_of`: box windows, centre
  taken out) against a plain Python loop over every voxel and neighbour offset: neighbour
  counts, dependences, and the grey tone differences to the last bit.
- NGTDM ``s_i`` accumulated by ``np.bincount`` against the per-voxel accumulation in ROI
  order of the former kernel (same additions in the same order: equal bits), per slice
  (2D), 2.5D and 3D.
- NGLDM matrices against dependences counted by brute force.
- The entropy terms of GLCM and GLRLM (p log2 p without masked copies) against the masked
  formulation they replace, to the last bit.
- The GLCM diagonal and cross-diagonal marginals (one numba pass) against ``np.bincount``
  over the flattened matrices, to the last bit.

- Zone labelling (one backward raster scan with union-find) against a breadth-first
  search over every voxel and linkage offset: the same zone of every voxel, zones
  numbered in raster order of their first voxel, at linkage distances 1 and 2.

The counting kernels (GLCM, GLRLM) are checked against brute force in
``test_fast_kernels_exact.py``; zone sizes also against ``scipy.ndimage.label`` in
``test_glszm_invariant.py``; the GLDZM distance map against ``scipy.ndimage`` in
``test_gldzm_invariant.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracles import bfs_zone_partition

from radiomix.features._kernels.neighbourhood import neighbour_sums_of, padded_flat
from radiomix.features.aggregation import Aggregation
from radiomix.features.glcm import (
    GlcmMarginals,
    _plogp,
    glcm_marginals,
    information_correlation_1,
    information_correlation_2,
)
from radiomix.features.glszm import label_zone_map
from radiomix.features.ngldm import ngldm_matrices
from radiomix.features.ngtdm import ngtdm_matrices


def _brute_force_neighbours(
    levels: np.ndarray, mask: np.ndarray, distance: int, *, planar: bool, coarseness: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per ROI voxel (C order): level, ROI neighbour count, neighbour level sum, dependence."""
    nz, ny, nx = levels.shape
    r = range(-distance, distance + 1)
    offsets = [o for o in itertools.product([0] if planar else r, r, r) if any(o)]
    out = []
    for z, y, x in zip(*np.nonzero(mask), strict=True):
        lev = int(levels[z, y, x])
        w = t = 0
        j = 1
        for dz, dy, dx in offsets:
            a, b, c = z + dz, y + dy, x + dx
            if 0 <= a < nz and 0 <= b < ny and 0 <= c < nx and mask[a, b, c]:
                w += 1
                t += int(levels[a, b, c])
                j += abs(int(levels[a, b, c]) - lev) <= coarseness
        out.append((lev, w, t, j))
    lev_, w_, t_, j_ = (np.array(col, dtype=np.int64) for col in zip(*out, strict=True))
    return lev_, w_, t_, j_


rois = st.tuples(
    hnp.arrays(np.int64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6),
               elements=st.integers(1, 4)),
    st.integers(0, 2**32 - 1),
)  # fmt: skip


def _mask(shape: tuple[int, ...], seed: int) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) < 0.8
    mask.flat[0] = True
    return mask


@settings(max_examples=60, deadline=None)
@given(roi=rois, distance=st.integers(1, 3), planar=st.booleans(), coarseness=st.integers(0, 2))
def test_neighbour_sums_equal_brute_force(roi, distance, planar, coarseness) -> None:
    levels, seed = roi
    mask = _mask(levels.shape, seed)
    lev, w, t, j = _brute_force_neighbours(levels, mask, distance, planar=planar,
                                           coarseness=coarseness)  # fmt: skip
    padded = padded_flat(levels, mask, distance, planar=planar)
    sums = neighbour_sums_of(padded, coarseness)
    np.testing.assert_array_equal(padded.roi_levels, lev)
    np.testing.assert_array_equal(sums.neighbours, w)
    np.testing.assert_array_equal(sums.dependence, j)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(w > 0, np.abs(lev - t / w), 0.0)
    assert sums.difference.tobytes() == expected.tobytes()


def _ngtdm_by_voxel(
    levels: np.ndarray, mask: np.ndarray, distance: int, *, planar: bool, per_slice: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``s`` and ``n`` (rows: slices or one; columns: grey levels 0..max) added voxel by
    voxel in ROI order, as the former NGTDM kernel did."""
    lev, w, t, _ = _brute_force_neighbours(levels, mask, distance, planar=planar,
                                           coarseness=0)  # fmt: skip
    slices = np.nonzero(mask)[0]
    n_rows = levels.shape[0] if per_slice else 1
    s = np.zeros((n_rows, int(lev.max()) + 1))
    n = np.zeros((n_rows, int(lev.max()) + 1), dtype=np.int64)
    for v in range(lev.size):
        if w[v] > 0:
            row = slices[v] if per_slice else 0
            s[row, lev[v]] += abs(lev[v] - t[v] / w[v])
            n[row, lev[v]] += 1
    return s, n


@settings(max_examples=40, deadline=None)
@given(
    roi=rois,
    distance=st.integers(1, 2),
    aggregation=st.sampled_from([Aggregation.D2, Aggregation.D2P5, Aggregation.D3]),
)
def test_ngtdm_equals_voxel_by_voxel_accumulation(roi, distance, aggregation) -> None:
    levels, seed = roi
    mask = _mask(levels.shape, seed)
    s, n = _ngtdm_by_voxel(levels, mask, distance, planar=aggregation is not Aggregation.D3,
                           per_slice=aggregation is Aggregation.D2)  # fmt: skip
    m = ngtdm_matrices(levels, mask, aggregation=aggregation, distance=distance)
    rows = np.flatnonzero(n.any(axis=1))
    cols = np.flatnonzero(n.any(axis=0))
    np.testing.assert_array_equal(m.i, cols)
    np.testing.assert_array_equal(m.n, n[np.ix_(rows, cols)])
    assert m.s.tobytes() == s[np.ix_(rows, cols)].tobytes()


@settings(max_examples=40, deadline=None)
@given(roi=rois, distance=st.integers(1, 2), coarseness=st.integers(0, 2))
def test_ngldm_equals_brute_force_dependence(roi, distance, coarseness) -> None:
    levels, seed = roi
    mask = _mask(levels.shape, seed)
    lev, _, _, j = _brute_force_neighbours(levels, mask, distance, planar=False,
                                           coarseness=coarseness)  # fmt: skip
    dense = np.zeros((int(lev.max()), int(j.max())))
    np.add.at(dense, (lev - 1, j - 1), 1.0)
    m = ngldm_matrices(levels, mask, aggregation=Aggregation.D3, distance=distance,
                       coarseness=coarseness)  # fmt: skip
    got = np.zeros_like(dense)
    got[np.ix_(m.i.astype(np.int64) - 1, m.j.astype(np.int64) - 1)] = m.counts[0]
    np.testing.assert_array_equal(got, dense)


def _masked_plogp(p: np.ndarray) -> np.ndarray:
    out = np.zeros_like(p)
    pos = p > 0
    out[pos] = p[pos] * np.log2(p[pos])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_entropy_terms_equal_masked_formulation(seed) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 6, size=(13, 9, 9)) * (rng.random((13, 9, 9)) < 0.5)
    counts = counts + np.swapaxes(counts, 1, 2)
    counts[:, 0, 0] += 1  # no empty matrix
    m = glcm_marginals(counts, n_levels=12)
    assert _plogp(m.p_ij).tobytes() == _masked_plogp(m.p_ij).tobytes()
    # information correlation 1 and 2 as written before (masked log of p_i. p_.j)
    outer = m.p_i[:, :, None] * m.p_j[:, None, :]
    pos = m.p_ij > 0
    log_outer = np.zeros_like(outer)
    log_outer[pos] = np.log2(outer[pos])
    hxy = -_masked_plogp(m.p_ij).sum(axis=(1, 2))
    hx = -_masked_plogp(m.p_i).sum(axis=1)
    hxy1 = -(m.p_ij * log_outer).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ic1 = np.where(hx > 0, (hxy - hxy1) / hx, np.nan)
    hxy2 = -_masked_plogp(outer).sum(axis=(1, 2))
    ic2 = np.sqrt(1.0 - np.exp(-2.0 * np.maximum(hxy2 - hxy, 0.0)))
    assert information_correlation_1(m).tobytes() == ic1.tobytes()
    assert information_correlation_2(m).tobytes() == ic2.tobytes()


@settings(max_examples=80, deadline=None)
@given(roi=rois, distance=st.integers(1, 2), planar=st.booleans())
def test_zones_equal_breadth_first_search(roi, distance, planar) -> None:
    levels, seed = roi
    mask = _mask(levels.shape, seed)
    expected = bfs_zone_partition(levels, mask, distance, planar)
    zones = label_zone_map(levels, mask, planar=planar, linkage_distance=distance)
    np.testing.assert_array_equal(zones.voxel_zone, expected)
    np.testing.assert_array_equal(zones.size, np.bincount(expected))
    first = np.array([np.flatnonzero(expected == z)[0] for z in range(zones.size.size)])
    np.testing.assert_array_equal(zones.level, levels[mask][first])
    np.testing.assert_array_equal(zones.slice, np.nonzero(mask)[0][first])


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 14),
    levels=st.lists(st.integers(1, 30), min_size=1, max_size=12, unique=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_diagonal_marginals_equal_bincount(k, levels, seed) -> None:
    levels = np.sort(np.asarray(levels, dtype=np.int64))
    n_g = 30
    rng = np.random.default_rng(seed)
    p = rng.random((k, levels.size, levels.size)) * (
        rng.random((k, levels.size, levels.size)) < 0.6
    )
    m = GlcmMarginals(p_ij=p, n_g=n_g, levels=levels)

    def by_bincount(index: np.ndarray, n: int) -> np.ndarray:
        codes = (np.arange(k)[:, None] * n + index.ravel()[None, :]).ravel()
        return np.bincount(codes, weights=p.ravel(), minlength=k * n).reshape(k, n)

    minus = by_bincount(np.abs(np.subtract.outer(levels, levels)), n_g)
    plus = by_bincount(np.add.outer(levels, levels) - 2, 2 * n_g - 1)
    assert m.p_i_minus_j.tobytes() == minus.tobytes()
    assert m.p_i_plus_j.tobytes() == plus.tobytes()
