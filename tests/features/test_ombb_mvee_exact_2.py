"""The MVEE iteration and the OMBB plane bases against plain formulations, bit for bit.

``_khachiyan_into`` leaves out the products by the row of ones and the additions to
``0.0`` of the plain loop (numba's generic ``@`` and ``np.linalg.inv``, the oracle of
``test_kernels_cold_start.py``), and reports a singular scatter matrix after both LAPACK
calls; ``_plane_bases`` computes ``np.cross`` column by column. Each must give the very
same bits (signed zeros included), on lattice points too, where ties and zeros abound.
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
def test_khachiyan_weights_bitwise_equal_to_the_plain_loop(tol, max_iter) -> None:
    for pts in _point_sets():
        try:
            want = khachiyan_oracle(pts, tol, max_iter)
        except Exception:  # a singular scatter matrix: both refuse it
            with pytest.raises(ValueError, match="singular scatter matrix"):
                _k.khachiyan_weights(pts, tol, max_iter)
            continue
        u, iterations = _k.khachiyan_weights(pts, tol, max_iter)
        assert iterations == want[1]
        assert u.tobytes() == want[0].tobytes()


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
