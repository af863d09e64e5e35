"""The MVEE iteration and the OMBB plane bases against plain formulations.

``_khachiyan_into`` updates the scatter matrix by the iteration's rank-one step and inverts
it by blocks (the adjugate of its Schur complement) where the plain loop (numba's generic
``@`` and ``np.linalg.inv``, the oracle of ``test_kernels_cold_start.py``) sums it again
and calls LAPACK: the same iterations and weights to rounding, on lattice points too, where
equal distances abound (a tie goes to the lowest index in both, whatever the rounding).
``_plane_bases`` computes ``np.cross`` column by column: the very same bits (signed zeros
included).
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import khachiyan_oracle

from radiomix.features import morphology as morph
from radiomix.features._kernels import morphology as _k


def _point_sets():
    rng = np.random.default_rng(11)
    for i in range(40):
        n = int(rng.integers(5, 300))
        pts = rng.normal(size=(n, 3)) * rng.uniform(0.1, 50.0, 3)
        if i % 2:  # on a half-voxel lattice: equal distances and zero coordinates
            pts = np.round(pts) * 0.5
        yield np.ascontiguousarray(pts - pts.mean(axis=0))
    # the hull of a mask mesh (the points the features pass)
    mask = np.zeros((7, 8, 9), dtype=bool)
    mask[1:6, 2:7, 1:8] = rng.random((5, 5, 7)) < 0.7
    mask[3, 4, 4] = True
    spacing = (2.0, 1.0, 1.5)
    vertices = morph.roi_mesh(mask, spacing=spacing).vertices
    hull = morph.convex_hull(vertices, spacing=spacing)
    yield np.ascontiguousarray(hull.vertices - hull.vertices.mean(axis=0))


@pytest.mark.parametrize(("tol", "max_iter"), [(1e-3, 100_000), (1e-7, 500), (1e-2, 100_000)])
def test_khachiyan_weights_equal_the_plain_loop(tol, max_iter) -> None:
    ties = 0
    for pts in _point_sets():
        try:
            want = khachiyan_oracle(pts, tol, max_iter)
        except Exception:  # a singular scatter matrix: both refuse it
            with pytest.raises(ValueError, match="singular scatter matrix"):
                _k.khachiyan_weights(pts, tol, max_iter)
            continue
        u, iterations = _k.khachiyan_weights(pts, tol, max_iter)
        assert iterations == want[1]
        np.testing.assert_allclose(u, want[0], rtol=0, atol=1e-12)
        ties += _has_tie(pts)
    assert ties > 0  # the lattice sets hold equally far points at the first iteration


def _has_tie(pts: np.ndarray) -> bool:
    """Whether two points are equally far (exactly) from the centroid under the uniform
    weights' scatter matrix: the first iteration's largest distance is shared."""
    q = np.vstack([pts.T, np.ones(len(pts))])
    m = np.einsum("ap,ab,bp->p", q, np.linalg.inv(q @ q.T / len(pts)), q)
    return int(np.count_nonzero(np.isclose(m, m.max(), rtol=1e-12, atol=0))) > 1


def test_khachiyan_ties_go_to_the_lowest_index() -> None:
    """The eight corners of a box (with two points on an axis, symmetric too) are equally
    far from its centre: the first step moves weight to the first corner, whatever order
    the corners come in."""
    corners = np.array([[x, y, z] for x in (-2.0, 2.0) for y in (-1.5, 1.5) for z in (-1.0, 1.0)])
    centre = np.array([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]])
    for order in (np.arange(8), np.arange(8)[::-1], np.random.default_rng(3).permutation(8)):
        pts = np.vstack([corners[order], centre])
        u, iterations = _k.khachiyan_weights(pts, 1e-3, 1)
        assert iterations == 1
        assert int(np.argmax(u)) == 0


def test_khachiyan_weights_refuse_coplanar_points() -> None:
    pts = np.zeros((12, 3))
    pts[:, :2] = np.random.default_rng(0).normal(size=(12, 2))
    with pytest.raises(ValueError, match=r"MVEE: singular scatter matrix \(points do not span"):
        _k.khachiyan_weights(pts, 1e-3, 100)


def test_plane_bases_bitwise_equal_np_cross_on_axis_directions() -> None:
    """Normals with zero and negative-zero components, both helpers, C-contiguous output."""
    rows = []
    for a in (0.0, -0.0, 1.0, -1.0, 0.5):
        for b in (0.0, -0.0, 1.0, -0.3):
            for c in (0.0, -0.0, 1.0, 2.0):
                if a or b or c:
                    rows.append((a, b, c))
    n = np.array(rows)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    helper = np.where((np.abs(n[:, 0]) < 0.9)[:, None], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    u = np.cross(n, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(n, u)
    got_u, got_v = morph._plane_bases(np.asfortranarray(n))
    assert got_u.flags.c_contiguous
    assert got_v.flags.c_contiguous
    assert got_u.tobytes() == u.tobytes()
    assert got_v.tobytes() == v.tobytes()
