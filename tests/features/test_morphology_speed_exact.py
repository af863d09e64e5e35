"""Fast morphology helpers against their plain formulations (exact equality).

The hull-candidate filter, the direction de-duplication, the bounding box and the OMBB
search's projected-area bound were rewritten for speed; each must give the very same
result as the straightforward formulation (a numpy sort and a Python chain per plane,
``np.unique(axis=0)``, ``np.argwhere``, the search without the bound). The OMBB search's
stable sort is checked against ``np.lexsort``. The MVEE iteration is checked bit for bit
against numba's generic loop in ``test_kernels_cold_start.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.features import morphology as morph
from radiomix.features._kernels import morphology as _k
from radiomix.roi import bounding_box


def _unique_directions_numpy(dirs: np.ndarray) -> np.ndarray:
    """The plain formulation: ``np.unique(axis=0, return_index=True)`` of rounded rows."""
    d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    first = np.argmax(np.abs(d) > 1e-12, axis=1)
    sign = np.sign(d[np.arange(len(d)), first])
    d = d * sign[:, None]
    _, idx = np.unique(np.round(d, 9), axis=0, return_index=True)
    return d[np.sort(idx)]


@settings(max_examples=200, deadline=None)
@given(
    xy=hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 70), st.just(2)),
        elements=st.sampled_from([-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0]),
    )
)
def test_sort_xy_is_the_stable_lexicographic_order(xy) -> None:
    """The written-out insertion sort gives ``np.lexsort``'s stable order, ties included."""
    px, py = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    n = px.size
    got = _k._sort_xy(px, py, np.empty(n, dtype=np.int64))
    np.testing.assert_array_equal(got, np.lexsort((py, px)))


def test_sort_xy_on_random_sizes() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(0, 300))
        px = np.round(rng.normal(size=n) * rng.choice([1.0, 4.0, 40.0]))
        py = rng.normal(size=n)
        buf = np.empty(2 * n, dtype=np.int64)
        got = _k._sort_xy(px, py, buf[n:])  # a view of a larger buffer
        np.testing.assert_array_equal(got, np.lexsort((py, px)))


def test_unique_directions_equal_numpy_unique() -> None:
    """Near-duplicates (1e-13), opposite signs, zero components and exact repeats."""
    rng = np.random.default_rng(5)
    for _ in range(500):
        n = int(rng.integers(1, 200))
        base = rng.normal(size=(max(1, n // 3), 3))
        base[rng.random(base.shape) < 0.3] = 0.0
        base[np.all(base == 0.0, axis=1)] = [0.0, 0.0, 1.0]
        dirs = base[rng.integers(0, len(base), n)] * rng.choice([-1.0, 1.0, 2.5], (n, 1))
        dirs = dirs + rng.normal(size=dirs.shape) * rng.choice([0.0, 1e-13, 1e-11], (n, 1))
        np.testing.assert_array_equal(
            morph._unique_directions(dirs), _unique_directions_numpy(dirs)
        )


@settings(max_examples=30, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(2, 8)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 2.0, 3.27])] * 3),
)
def test_unique_directions_of_mask_hulls(mask, spacing) -> None:
    """Lattice hulls: many coplanar facets, whose normals agree to rounding."""
    mask = mask.copy()
    mask[0, 0, 0] = mask[-1, -1, -1] = mask[0, -1, 0] = mask[-1, 0, -1] = True
    hull = morph.convex_hull(morph.roi_mesh(mask, spacing=spacing).vertices)
    dirs = np.vstack([np.eye(3), hull.normals])
    np.testing.assert_array_equal(morph._unique_directions(dirs), _unique_directions_numpy(dirs))


@settings(max_examples=40, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 2.0, 3.27])] * 3),
)
def test_projected_area_bound_keeps_the_box(mask, spacing) -> None:
    """Skipping normals by Cauchy's projected area changes no box (facets vs plain search).

    Without facets every normal's 2D hull is built and tested on its own area; with them,
    the bound from the facet areas skips normals first (and the 2D hulls come from the
    shadow boundaries, whose corners may be other points of a column along the normal,
    equal in projection to rounding). Both give the same box to rounding.
    """
    mask = mask.copy()
    mask.flat[0] = True
    hull = morph.convex_hull(morph.roi_mesh(mask, spacing=spacing).vertices)
    pts = np.ascontiguousarray(hull.vertices - hull.vertices.mean(axis=0))
    cands = morph._unique_directions(np.vstack([np.eye(3), hull.normals]))
    us, vs = morph._plane_bases(cands)
    none = np.zeros((0, 3), dtype=np.int64)
    plain = _k.min_box_flush_with_planes(pts, cands, us, vs, none, none, np.zeros((0, 3)))
    pruned = _k.min_box_flush_with_planes(
        pts, cands, us, vs, hull.facets, hull.neighbours, np.ascontiguousarray(hull.normals)
    )
    np.testing.assert_allclose(pruned, plain, rtol=1e-12, atol=0.0)


def test_khachiyan_weights_need_3d_points() -> None:
    with pytest.raises(ValueError, match=r"\(N, 3\) points"):
        _k.khachiyan_weights(np.zeros((5, 2)), 1e-3, 10)


@settings(max_examples=100, deadline=None)
@given(mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 9)] * 3)), order=st.sampled_from("CF"))
def test_bounding_box_equals_the_extremes_of_the_voxel_indices(mask, order) -> None:
    mask = np.asarray(mask, order=order)
    mask.flat[mask.size // 2] = True
    idx = np.argwhere(mask)
    box = bounding_box(mask)
    lo, hi = tuple(b.start for b in box), tuple(b.stop for b in box)
    assert lo == tuple(idx.min(axis=0).tolist())
    assert hi == tuple((idx.max(axis=0) + 1).tolist())


def _chain_2d(px: np.ndarray, py: np.ndarray, idx: np.ndarray) -> list[int]:
    """Monotone chain over ``idx`` sorted by (x, y); collinear points left out."""

    def turn(o: int, a: int, p: int) -> float:
        return (px[a] - px[o]) * (py[p] - py[o]) - (py[a] - py[o]) * (px[p] - px[o])

    hull: list[int] = []
    for sweep in (list(idx), list(idx[::-1])):
        part: list[int] = []
        for p in sweep:
            while len(part) >= 2 and turn(part[-2], part[-1], p) <= 0:
                part.pop()
            part.append(int(p))
        hull += part[:-1]
    return hull


def _hull_candidates_numpy(v: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """The plain formulation: per axis, a numpy sort by (plane, b, c), a chain per plane."""
    scaled = 2.0 * v / np.asarray(spacing)
    half = np.rint(scaled)
    keep = np.ones(v.shape[0], dtype=bool)
    if float(np.max(np.abs(scaled - half))) > 1e-6:
        return keep
    grid = half.astype(np.int64)
    for axis in range(3):
        members = np.flatnonzero((grid[:, axis] % 2 == 0) & keep)
        b, c = (ax for ax in range(3) if ax != axis)
        in_plane = np.ones(v.shape[0], dtype=bool)
        g = grid[members]
        members = members[np.lexsort((g[:, c], g[:, b], g[:, axis]))]
        for plane in np.unique(grid[members, axis]):
            group = members[grid[members, axis] == plane]
            if group.size >= 3:
                in_plane[group] = False
                in_plane[_chain_2d(v[:, b], v[:, c], group)] = True
        keep &= in_plane
    return keep


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 1.0, 2.0, 3.27])] * 3),
    shift=st.tuples(*[st.integers(-3, 3)] * 3),
)
def test_hull_candidates_equal_the_plain_plane_filter(mask, spacing, shift) -> None:
    """The compiled filter (counting sorts, chains) keeps exactly the plain one's vertices."""
    mask = mask.copy()
    mask.flat[0] = True
    v = morph.roi_mesh(mask, spacing=spacing).vertices + np.multiply(shift, spacing)
    np.testing.assert_array_equal(
        morph.hull_candidates(v, spacing), _hull_candidates_numpy(v, spacing)
    )


def test_hull_candidates_of_distant_voxels() -> None:
    """A half-grid extent far larger than the vertex count (two voxels 200 apart)."""
    mask = np.zeros((201, 3, 1), dtype=bool)
    mask[0, 0, 0] = mask[200, 2, 0] = True
    v = morph.roi_mesh(mask, spacing=(0.977, 2.0, 3.27)).vertices
    keep = morph.hull_candidates(v, (0.977, 2.0, 3.27))
    np.testing.assert_array_equal(keep, _hull_candidates_numpy(v, (0.977, 2.0, 3.27)))
