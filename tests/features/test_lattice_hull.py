"""The exact lattice convex hull (``convex_hull(points, spacing=...)``) against oracles.

Oracles: the extreme-point set by linear programming (a point is extreme iff it is not a
convex combination of the others: ``scipy.optimize.linprog`` feasibility, on small sets),
exact integer checks of every facet plane against every point, Qhull's volume and area,
Euler's formula and the neighbour convention, and, on real masks, Qhull's vertex arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linprog
from scipy.spatial import ConvexHull

from radiomix.features import morphology as morph

SPACINGS = st.tuples(*[st.sampled_from([0.5, 0.977, 1.0, 2.0, 3.27])] * 3)


def _extreme_points(grid: np.ndarray) -> np.ndarray:
    """Indices of the extreme points (first of duplicates), by LP feasibility."""
    keep = []
    for i in range(len(grid)):
        if any(np.array_equal(grid[i], grid[j]) for j in keep):
            continue  # a duplicate of an earlier point
        others = np.delete(grid, i, axis=0).astype(float)
        others = others[~np.all(others == grid[i], axis=1)]
        # x >= 0, sum x = 1, others.T x = p: feasible iff p is in the hull of the others
        a_eq = np.vstack([others.T, np.ones(len(others))])
        b_eq = np.append(grid[i].astype(float), 1.0)
        res = linprog(np.zeros(len(others)), A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        if res.status == 2:  # infeasible: extreme
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def _check_hull(points: np.ndarray, spacing: tuple[float, float, float]) -> morph.Hull:
    """Invariants of the exact hull, with exact integer tests on the half-grid."""
    hull = morph.convex_hull(points, spacing=spacing)
    grid = np.rint(2.0 * points / np.asarray(spacing)).astype(np.int64)
    vertices = np.rint(2.0 * hull.vertices / np.asarray(spacing)).astype(np.int64)
    facets, neighbours = hull.facets, hull.neighbours
    assert facets is not None
    assert neighbours is not None
    nv, nf = len(hull.vertices), len(facets)
    assert nf == 2 * nv - 4  # Euler: V - E + F = 2 with E = 3F / 2
    assert np.array_equal(np.unique(facets), np.arange(nv))
    # every point below or on every facet's plane (exact), the facets outward
    a, b, c = (vertices[facets[:, j]] for j in range(3))
    normal = np.cross(b - a, c - a)
    assert np.all(np.any(normal != 0, axis=1))  # no degenerate triangle
    side = np.einsum("fk,pk->fp", normal, grid) - np.einsum("fk,fk->f", normal, a)[:, None]
    assert side.max() <= 0
    # neighbours[f, j] holds the edge opposite corner j, traversed the other way
    for f in range(nf):
        for j in range(3):
            u, v = facets[f, (j + 1) % 3], facets[f, (j + 2) % 3]
            g = neighbours[f, j]
            ring = list(facets[g])
            k = ring.index(v)
            assert ring[(k + 1) % 3] == u
    # unit normals in mm, perpendicular to the facets in mm
    np.testing.assert_allclose(np.linalg.norm(hull.normals, axis=1), 1.0, rtol=1e-14)
    mm = hull.vertices
    edge = np.einsum("fk,fk->f", hull.normals, mm[facets[:, 1]] - mm[facets[:, 0]])
    np.testing.assert_allclose(edge, 0.0, atol=1e-9 * np.ptp(mm))
    return hull


@settings(max_examples=150, deadline=None)
@given(
    points=hnp.arrays(
        np.int64,
        st.tuples(st.integers(4, 30), st.just(3)),
        elements=st.integers(0, 3),  # a 4 x 4 x 4 grid: many coplanar and collinear points
    ),
    spacing=SPACINGS,
)
def test_extreme_points_of_small_lattice_sets(points, spacing) -> None:
    """The vertices are the extreme points (LP), in ascending order; Qhull's measures."""
    centred = points - points.mean(axis=0)
    if np.linalg.matrix_rank(centred) < 3:
        return  # flat sets go to Qhull (which refuses them)
    mm = points * (np.asarray(spacing) / 2.0)
    hull = _check_hull(mm, spacing)
    # the first of duplicates is the one kept (every later copy is inside or on the hull)
    np.testing.assert_array_equal(hull.vertices, mm[_extreme_points(points)])
    q = ConvexHull(mm)
    np.testing.assert_allclose([hull.volume, hull.area], [q.volume, q.area], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 8)] * 3)),
    spacing=SPACINGS,
)
def test_hull_of_random_masks_equals_qhull(mask, spacing) -> None:
    """On mask meshes (all vertices and the plane-filtered candidates): Qhull's vertices."""
    mask = mask.copy()
    mask.flat[0] = True
    vertices = morph.roi_mesh(mask, spacing=spacing).vertices
    for points in (vertices, vertices[morph.hull_candidates(vertices, spacing)]):
        hull = _check_hull(points, spacing)
        q = morph.convex_hull(points)  # Qhull
        np.testing.assert_array_equal(hull.vertices, q.vertices)
        np.testing.assert_allclose([hull.volume, hull.area], [q.volume, q.area], rtol=1e-12)


def test_off_grid_and_flat_points_go_to_qhull() -> None:
    """Points off the half-grid get Qhull's hull; a flat set, Qhull's error."""
    from scipy.spatial import QhullError

    rng = np.random.default_rng(3)
    pts = rng.normal(size=(40, 3))
    exact = morph.convex_hull(pts, spacing=(1.0, 1.0, 1.0))
    q = morph.convex_hull(pts)
    np.testing.assert_array_equal(exact.vertices, q.vertices)
    assert exact.volume == q.volume
    flat = np.c_[rng.integers(0, 5, (20, 2)), np.zeros(20)].astype(float)
    with pytest.raises(QhullError):
        morph.convex_hull(flat, spacing=(2.0, 2.0, 2.0))


def test_coordinates_beyond_the_exact_bound_go_to_qhull() -> None:
    """At MAX_COORDINATE half-steps from 0 the int64 hull steps aside (Qhull's hull)."""
    from radiomix.features._kernels.hull import MAX_COORDINATE, lattice_hull

    cube = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    spacing = np.array([1.0, 1.0, 1.0])
    below = (cube + (MAX_COORDINATE - 3)) * 0.5  # largest half-grid coordinate 2**19 - 1
    above = (cube + (MAX_COORDINATE - 2)) * 0.5
    assert lattice_hull(below, spacing) is not None
    assert lattice_hull(above, spacing) is None
    hull = morph.convex_hull(above, spacing=(1.0, 1.0, 1.0))
    assert len(hull.vertices) == 8
    np.testing.assert_allclose(hull.volume, 1.0, rtol=1e-9)


def test_cube_with_lattice_points_on_faces_and_edges() -> None:
    """Only the 8 corners of a 5^3 lattice cube are vertices; 12 triangles on 6 planes."""
    grid = np.stack(np.meshgrid(*[np.arange(5)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    hull = _check_hull(grid * 0.5, (1.0, 1.0, 1.0))
    corners = np.all((grid == 0) | (grid == 4), axis=1)
    np.testing.assert_array_equal(hull.vertices, grid[corners] * 0.5)
    assert hull.volume == 8.0
    assert hull.area == 24.0
    assert len(np.unique(hull.normals, axis=0)) == 6


@pytest.mark.parametrize("case", ["STS_002", "STS_048", "STS_020"])
@pytest.mark.parametrize("modality", ["ct", "pet"])
def test_real_masks_hull_vertices_equal_qhull(shared_data, case, modality) -> None:
    """STS masks (native grid, ibsi-A): the exact hull's vertex array is Qhull's."""
    import SimpleITK as sitk

    folder = shared_data / "sts" / "nifti" / case / modality
    image = sitk.ReadImage(str(folder / "mask.nii.gz"))
    mask = sitk.GetArrayFromImage(image) > 0
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))  # (z, y, x)
    vertices = morph.roi_mesh(mask, spacing=spacing).vertices
    points = vertices[morph.hull_candidates(vertices, spacing)]
    hull = _check_hull(points, spacing)
    q = morph.convex_hull(points)
    np.testing.assert_array_equal(hull.vertices, q.vertices)
    np.testing.assert_allclose([hull.volume, hull.area], [q.volume, q.area], rtol=1e-12)
