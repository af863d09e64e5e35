"""OMBB kernels against independent computations (scipy's Qhull and a numpy search).

The 2D hull of the OMBB search (a monotone chain over a written-out merge sort) must be the
exact vertex set that Qhull finds, in counter-clockwise order, and the box search must give
the box of the plain definition (every facet normal, every 2D hull edge). The hull's shadow
boundary along a direction must meet every corner of the projected hull, in order, and the
Graham scan of it must give the corners the sorted chain gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial import ConvexHull

from radiomix.features import morphology as morph
from radiomix.features._kernels import morphology as _k


def _hull_2d(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Hull indices from the compiled sort and chain, with the buffers they expect."""
    n = px.shape[0]
    order = _k._sort_xy(px, py, np.empty(n, dtype=np.int64))
    out = np.empty(2 * n, dtype=np.int64)
    return out[: _k._monotone_chain(px, py, order, out)]


def _points(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.normal(size=(n, 2))
    if kind == "grid":  # many equal x, equal y and collinear points
        return np.round(rng.normal(size=(n, 2)) * 3.0) / 2.0
    t = rng.uniform(0.0, 2.0 * np.pi, n)  # near-circle: most points are hull vertices
    return np.c_[np.cos(t), np.sin(t)] * rng.uniform(0.999, 1.0, (n, 1))


@pytest.mark.parametrize("kind", ["normal", "grid", "circle"])
def test_hull_2d_is_qhull_vertex_set_counter_clockwise(kind: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        pts = _points(kind, int(rng.integers(4, 400)), rng)
        px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
        idx = _hull_2d(px, py)
        ref = ConvexHull(pts)  # 2D: vertices counter-clockwise, collinear points left out
        assert sorted(pts[idx].tolist()) == sorted(pts[ref.vertices].tolist())
        # Counter-clockwise: every consecutive triple turns left.
        q = pts[idx]
        a, b, c = q, np.roll(q, -1, axis=0), np.roll(q, -2, axis=0)
        cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
            c[:, 0] - a[:, 0]
        )
        assert np.all(cross > 0)
        # It starts at the point of least x (least y among equal x), as the chain does.
        first = np.lexsort((pts[:, 1], pts[:, 0]))[0]
        assert np.array_equal(pts[idx[0]], pts[first])


def _reference_box(points: np.ndarray, normals: np.ndarray) -> float:
    """Smallest box volume with a face perpendicular to one of ``normals`` (plain numpy)."""
    us, vs = morph._plane_bases(normals)
    best = np.inf
    for n, u, v in zip(normals, us, vs, strict=True):
        h = points @ n
        p2 = np.c_[points @ u, points @ v]
        hull = p2[ConvexHull(p2).vertices]
        edges = np.roll(hull, -1, axis=0) - hull
        for e in edges / np.linalg.norm(edges, axis=1, keepdims=True):
            s = hull @ e
            t = hull @ np.array([-e[1], e[0]])
            best = min(best, np.ptp(s) * np.ptp(t) * np.ptp(h))
    return best


def test_box_search_matches_plain_search_on_random_polytopes() -> None:
    rng = np.random.default_rng(11)
    for _ in range(10):
        cloud = rng.normal(size=(300, 3)) * np.array([3.0, 2.0, 1.0])
        hull = ConvexHull(cloud)
        pts = cloud[hull.vertices] - cloud[hull.vertices].mean(axis=0)
        cands = morph._unique_directions(np.vstack([np.eye(3), hull.equations[:, :3]]))
        us, vs = morph._plane_bases(cands)
        none = np.zeros((0, 3), dtype=np.int64)
        got = _k.min_box_flush_with_planes(
            np.ascontiguousarray(pts), cands, us, vs, none, none, np.zeros((0, 3))
        )
        assert got[0] == pytest.approx(_reference_box(pts, cands), rel=1e-12)
        assert got[1] * got[2] * got[3] == pytest.approx(got[0], rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 2.0, 3.27])] * 3),
)
def test_shadow_boundary_gives_the_same_box(mask, spacing) -> None:
    """Each direction's 2D hull from the shadow boundary finds the box of every point.

    The boundary's vertices project onto the corners of the projected hull of every
    point (on a column parallel to the direction, its lowest point stands for the others,
    whose projections equal its own to rounding), so the boxes agree to rounding.
    """
    mask = mask.copy()
    mask.flat[0] = True
    hull = morph.convex_hull(morph.roi_mesh(mask, spacing=spacing).vertices)
    every = morph.oriented_bounding_box(hull.vertices, hull.normals)
    shadow = morph.oriented_bounding_box(hull.vertices, hull.normals, hull.facets, hull.neighbours)
    np.testing.assert_allclose(shadow, every, rtol=1e-12, atol=0.0)


def test_shadow_boundary_on_random_polytopes() -> None:
    rng = np.random.default_rng(12)
    for _ in range(20):
        cloud = rng.normal(size=(int(rng.integers(8, 400)), 3)) * rng.uniform(0.5, 5.0, 3)
        hull = morph.convex_hull(cloud)
        every = morph.oriented_bounding_box(hull.vertices, hull.normals)
        shadow = morph.oriented_bounding_box(
            hull.vertices, hull.normals, hull.facets, hull.neighbours
        )
        np.testing.assert_allclose(shadow, every, rtol=1e-12, atol=0.0)


def _plain_rectangles(hull: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each hull edge's enclosing rectangle (width along the edge, depth across it) from
    every corner's projections (plain numpy, no calipers)."""
    edges = np.roll(hull, -1, axis=0) - hull
    widths, depths = [], []
    for e in edges / np.linalg.norm(edges, axis=1, keepdims=True):
        s = hull @ e
        t = hull @ np.array([-e[1], e[0]])
        widths.append(np.ptp(s))
        depths.append(np.ptp(t))
    return np.array(widths), np.array(depths)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["normal", "grid", "circle"]),
    n=st.integers(3, 300),
    seed=st.integers(0, 2**32 - 1),
    height=st.floats(0.1, 10.0),
)
def test_calipers_find_each_edges_rectangle(kind: str, n: int, seed: int, height: float) -> None:
    """The rotating calipers find the smallest box of the plain search over every edge.

    The smallest volume agrees to rounding, and its sides are those of an edge whose plain
    box is that small; the same holds with the polygon's corners renumbered to start at
    other edges (the first edge's extremes are scanned, the others' climbed to).
    """
    pts = _points(kind, n, np.random.default_rng(seed))
    px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    idx = _hull_2d(px, py)
    m = idx.size
    if m < 3:
        return
    hull = pts[idx]
    widths, depths = _plain_rectangles(hull)
    volumes = widths * depths * height
    scale = float(np.max(np.abs(hull))) ** 2 * height
    hx = np.append(hull[:, 0], hull[0, 0])
    hy = np.append(hull[:, 1], hull[0, 1])
    best = np.array([np.inf, 0.0, 0.0, 0.0])
    _k._flush_rectangles(hx, hy, m, height, best, np.inf)
    assert abs(best[0] - volumes.min()) <= 1e-12 * scale
    # the chosen sides are those of an edge whose plain box is the smallest (to rounding)
    near = np.abs(volumes - best[0]) <= 1e-9 * scale
    assert np.any(near)
    assert best[1] * best[2] * height == pytest.approx(best[0], rel=1e-12)
    assert np.min(np.abs(widths[near] - best[1]) + np.abs(depths[near] - best[2])) <= (
        1e-9 * np.sqrt(scale / height)
    )
    # every edge in turn as the first one (the edge scanned in full, the others climbed)
    for start in range(0, m, max(1, m // 7)):
        order = np.roll(np.arange(m), -start)
        rx = np.append(hull[order, 0], hull[order[0], 0])
        ry = np.append(hull[order, 1], hull[order[0], 1])
        other = np.array([np.inf, 0.0, 0.0, 0.0])
        _k._flush_rectangles(rx, ry, m, height, other, np.inf)
        assert abs(other[0] - volumes.min()) <= 1e-12 * scale


def _shadow_cycle(hull: morph.Hull, side: np.ndarray) -> np.ndarray | None:
    """:func:`_shadow_cycle` of a hull given each facet's normal component along a
    direction (None: not one cycle); the facets' orientation from their corners."""
    facets, neighbours = hull.facets, hull.neighbours
    assert facets is not None
    assert neighbours is not None
    pts = hull.vertices
    a, b, c = pts[facets[:, 0]], pts[facets[:, 1]], pts[facets[:, 2]]
    flipped = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.normals) < 0.0
    n = pts.shape[0]
    nxt = np.full(n, -1, dtype=np.int64)
    cycle = np.empty(n, dtype=np.int64)
    k = _k._shadow_cycle(facets, neighbours, flipped, np.ascontiguousarray(side), nxt,
                         np.empty(n, dtype=np.int64), cycle)  # fmt: skip
    assert np.all(nxt == -1)  # the scratch is left as it was found
    return None if k < 0 else cycle[:k]


def _cycle_of(hull: morph.Hull, direction: np.ndarray) -> np.ndarray | None:
    """:func:`_shadow_cycle` of a hull along a unit direction (None: not one cycle)."""
    return _shadow_cycle(hull, hull.normals @ direction)


def test_shadow_cycle_of_a_box_runs_round_its_lower_face() -> None:
    """Along an axis, a box's shadow boundary is its lower face's rim, corner to corner."""
    corners = np.array([[x, y, z] for x in (0.0, 2.0) for y in (0.0, 3.0) for z in (0.0, 5.0)])
    hull = morph.convex_hull(corners)  # Qhull: triangles in either orientation
    for axis in range(3):
        for sign in (1.0, -1.0):
            direction = np.zeros(3)
            direction[axis] = sign
            cycle = _cycle_of(hull, direction)
            assert cycle is not None
            assert cycle.size == 4
            ring = hull.vertices[cycle]
            low = corners[:, axis].min() if sign > 0 else corners[:, axis].max()
            assert np.all(ring[:, axis] == low)  # the face below, seen along the direction
            steps = np.roll(ring, -1, axis=0) - ring  # consecutive corners share an edge
            assert np.all(np.count_nonzero(steps, axis=1) == 1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lattice=st.booleans(),
)
def test_shadow_cycle_projects_onto_the_hull_in_order(seed: int, lattice: bool) -> None:
    """Along a facet normal or a random direction, the cycle's projections run once round
    the projected hull of every vertex, passing each of its corners (Qhull, 2D)."""
    rng = np.random.default_rng(seed)
    if lattice:  # a mask's mesh: many edge-on facets and coplanar triangles
        mask = rng.random(tuple(int(v) for v in rng.integers(2, 7, 3))) < 0.6
        mask.flat[0] = True
        spacing = (2.0, 0.977, 3.27)
        hull = morph.convex_hull(morph.roi_mesh(mask, spacing=spacing).vertices, spacing=spacing)
    else:
        hull = morph.convex_hull(rng.normal(size=(int(rng.integers(8, 200)), 3)))
    normals = np.ascontiguousarray(hull.normals)
    directions = [normals[int(rng.integers(normals.shape[0]))], rng.normal(size=3)]
    for d in directions:
        d = d / np.linalg.norm(d)
        us, vs = morph._plane_bases(d[None, :])
        flat = np.c_[hull.vertices @ us[0], hull.vertices @ vs[0]]
        cycle = _cycle_of(hull, d)
        assert cycle is not None
        assert np.unique(cycle).size == cycle.size
        ring = flat[cycle]
        corners = flat[ConvexHull(flat).vertices]
        # every corner is met (to rounding: a column along d projects to one point) ...
        gaps = np.min(np.linalg.norm(corners[:, None, :] - ring[None, :, :], axis=2), axis=1)
        assert np.all(gaps <= 1e-9 * np.max(np.abs(flat)))
        # ... and the ring turns one way only: it runs round the polygon once
        turn = np.roll(ring, -1, axis=0) - ring
        after = np.roll(turn, -1, axis=0)
        cross = turn[:, 0] * after[:, 1] - turn[:, 1] * after[:, 0]
        scale = np.max(np.abs(flat)) ** 2
        assert np.all(cross >= -1e-9 * scale) or np.all(cross <= 1e-9 * scale)
        # its Graham scan keeps every corner (and at most points on an edge to rounding)
        idx = np.empty(2 * cycle.size, dtype=np.int64)
        m = _k._cyclic_hull(np.ascontiguousarray(ring[:, 0]), np.ascontiguousarray(ring[:, 1]),
                            cycle.size, idx)  # fmt: skip
        assert m >= corners.shape[0]
        poly = ring[idx[:m]]
        x, y = poly[:, 0], poly[:, 1]
        area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
        assert area == pytest.approx(ConvexHull(flat).volume, rel=1e-12)


def test_shadow_cycle_refuses_two_rims() -> None:
    """Upper facets in two separate regions (no real direction does that) give two
    cycles: -1, so that the search falls back on every point, sorted."""
    corners = np.array([[x, y, z] for x in (0.0, 2.0) for y in (0.0, 3.0) for z in (0.0, 5.0)])
    hull = morph.convex_hull(corners)
    # top and bottom faces "up", the four sides "down"
    assert _shadow_cycle(hull, np.where(np.abs(hull.normals[:, 2]) > 0.5, 1.0, -1.0)) is None


def _grid_polygon(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Corners of a convex polygon on a half-integer grid (Qhull, counter-clockwise) and
    its boundary met in order with points on the edges (midpoints, exact) and repeats."""
    pts = np.round(rng.normal(size=(int(rng.integers(4, 60)), 2)) * 4.0) / 2.0
    corners = pts[ConvexHull(pts).vertices]
    ring = []
    for p, q in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        ring.append(p)
        for _ in range(int(rng.integers(0, 3))):
            ring.append((p + q) / 2.0 if rng.random() < 0.7 else p)
    return corners, np.array(ring)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), reverse=st.booleans())
def test_cyclic_hull_equals_the_sorted_hull(seed: int, reverse: bool) -> None:
    """Graham's scan of points met in order round a convex polygon (from any point, either
    way round, with points on the edges and repeats) gives the monotone chain's corners,
    in its order: counter-clockwise from the least (x, y)."""
    rng = np.random.default_rng(seed)
    corners, ring = _grid_polygon(rng)
    ring = np.roll(ring, -int(rng.integers(ring.shape[0])), axis=0)
    if reverse:
        ring = ring[::-1]
    px, py = np.ascontiguousarray(ring[:, 0]), np.ascontiguousarray(ring[:, 1])
    out = np.empty(2 * ring.shape[0], dtype=np.int64)
    m = _k._cyclic_hull(px, py, ring.shape[0], out)
    got = ring[out[:m]]
    want = ring[_hull_2d(px, py)]
    np.testing.assert_array_equal(got, want)
    assert sorted(got.tolist()) == sorted(corners.tolist())


def test_cyclic_hull_of_a_segment_is_degenerate() -> None:
    px = np.array([0.0, 1.0, 2.0, 1.0])
    py = np.array([0.0, 0.5, 1.0, 0.5])
    assert _k._cyclic_hull(px, py, 4, np.empty(8, dtype=np.int64)) == 0
