"""The mask mesh of :func:`roi_mesh` (per-configuration tables) against scikit-image.

:func:`radiomix.features.morphology.roi_mesh` never draws the marching-cubes mesh: it
counts the cube configurations of the padded mask and sums per-configuration terms of
Lewiner's triangles (``_LEWINER_TRIANGLES``), and lists the grid-edge midpoints as the
vertices. The oracle is :func:`skimage.measure.marching_cubes` itself
(:func:`oracles.marching_cubes_mesh`): the table is its triangulation of each single
cube, the whole mesh is the union of those triangles cube by cube, and the volume, area
and vertex set equal its own (volume and area to rounding, the vertices exactly).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracles import marching_cubes_mesh

from radiomix.features import morphology as morph

SPACINGS = st.tuples(*[st.sampled_from([0.5, 0.7813, 0.977, 1.0, 2.0, 3.1, 3.27])] * 3)
EDGE_MIDPOINTS = np.array(
    [(2 * (e >> 1), 2 * (e & 1), 1) for e in range(4)]
    + [(2 * (e >> 1), 1, 2 * (e & 1)) for e in range(4)]
    + [(1, 2 * (e >> 1), 2 * (e & 1)) for e in range(4)]
    + [(1, 1, 1)]
)
"""Doubled local coordinates of the table's vertex digits 0-11 (edges) and 12 (centre)."""


def _cube(config: int) -> np.ndarray:
    """The 2x2x2 array of a configuration: bit 4 dz + 2 dy + dx is corner (dz, dy, dx)."""
    return np.array([config >> b & 1 for b in range(8)], dtype=bool).reshape(2, 2, 2)


def _table_triangles(config: int) -> np.ndarray:
    """(T, 3, 3) doubled local coordinates of the table's triangles of ``config``."""
    entry = "".join(morph._LEWINER_TRIANGLES).split(",")[config]
    return EDGE_MIDPOINTS[[int(d, 16) for d in entry]].reshape(-1, 3, 3)


def _oriented_keys(triangles: np.ndarray) -> list[tuple[int, ...]]:
    """Sorted triangles, each as its smallest rotation (orientation kept)."""
    keys = []
    for t in triangles.reshape(-1, 3, 3).tolist():
        rotations = [t[i:] + t[:i] for i in range(3)]
        keys.append(tuple(v for point in min(rotations) for v in point))
    return sorted(keys)


def _random_mask(mask: np.ndarray, fill: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = mask | (rng.random(mask.shape) < fill)
    out.flat[0] = True
    return out


def test_table_is_skimage_triangulation_of_each_configuration() -> None:
    """Every entry: skimage's triangles of the single cube, in its order and orientation."""
    from skimage.measure import marching_cubes

    entries = "".join(morph._LEWINER_TRIANGLES).split(",")
    assert len(entries) == 256
    assert entries[0] == entries[255] == ""
    for config in range(1, 255):
        verts, faces = marching_cubes(_cube(config).astype(np.float32), level=0.5)[:2]
        want = np.rint(2.0 * verts[faces]).astype(np.int64)
        np.testing.assert_array_equal(_table_triangles(config), want, err_msg=f"{config}")


def test_cube_centres_are_inside_the_hull_of_their_edge_vertices() -> None:
    """The cube centre (digit ``c``) that roi_mesh leaves out of the vertices is, in each
    configuration that uses it, a convex combination of the cube's edge midpoints in its
    triangles: never a vertex of the mesh's convex hull."""
    from scipy.optimize import linprog

    with_centre = [c for c in range(256) if (_table_triangles(c) == 1).all(axis=2).any()]
    assert len(with_centre) == 24
    for config in with_centre:
        points = np.unique(_table_triangles(config).reshape(-1, 3), axis=0)
        points = points[~(points == 1).all(axis=1)].astype(np.float64)
        n = points.shape[0]
        # weights w >= 0, sum w = 1, sum w p = centre (1, 1, 1): feasible
        result = linprog(
            np.zeros(n),
            A_eq=np.vstack([points.T, np.ones(n)]),
            b_eq=np.ones(4),
            bounds=[(0.0, None)] * n,
        )
        assert result.status == 0, config


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 8)] * 3)),
    fill=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
)
def test_mesh_is_the_union_of_the_configuration_triangles(mask, fill, seed) -> None:
    """The premise: skimage's whole mesh is, cube by cube, the table's triangles moved to
    the cube (the same oriented triangles; ambiguous configurations included)."""
    mask = _random_mask(mask, fill, seed)
    mc = marching_cubes_mesh(mask, (1.0, 1.0, 1.0))
    want = (mc["half_grid"] + 2)[mc["faces"]]  # doubled coordinates in the padded frame
    padded = np.pad(mask, 1)
    pieces = []
    for o in np.ndindex(*(n - 1 for n in padded.shape)):
        corners = padded[o[0] : o[0] + 2, o[1] : o[1] + 2, o[2] : o[2] + 2]
        config = int(np.dot(corners.ravel(), 1 << np.arange(8)))
        pieces.append(_table_triangles(config) + 2 * np.asarray(o))
    got = np.concatenate(pieces)
    assert _oriented_keys(got) == _oriented_keys(want)


def _check_against_skimage(mask: np.ndarray, spacing, rtol: float = 1e-12) -> None:
    mesh = morph.roi_mesh(mask, spacing=spacing)
    mc = marching_cubes_mesh(mask, spacing)
    np.testing.assert_allclose(mesh.volume, mc["volume"], rtol=rtol, atol=0)
    np.testing.assert_allclose(mesh.area, mc["area"], rtol=rtol, atol=0)
    # the vertex set: skimage's grid-edge midpoints (one odd half-grid coordinate), exactly,
    # ordered by the edge's lower voxel (raster order), then its axis (x, y, z); its other
    # vertices are cube centres (three odd coordinates)
    half = mc["half_grid"]
    odd = (half % 2).sum(axis=1)
    assert set(odd.tolist()) <= {1, 3}
    edge = half[odd == 1]
    lower = edge // 2
    axis_rank = 2 - np.argmax(edge % 2, axis=1)  # x, y, z
    edge = edge[np.lexsort((axis_rank, lower[:, 2], lower[:, 1], lower[:, 0]))]
    sp = np.asarray(spacing)
    got = np.rint(2.0 * mesh.vertices / sp).astype(np.int64)
    np.testing.assert_array_equal(got, edge)
    np.testing.assert_allclose(mesh.vertices, edge * sp / 2.0, rtol=1e-15, atol=1e-12)
    assert mesh.vertices.flags.c_contiguous


@settings(max_examples=120, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 8)] * 3)),
    fill=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
    margin=st.tuples(*[st.integers(0, 2)] * 3),
    spacing=SPACINGS,
)
def test_volume_area_and_vertices_equal_skimage(mask, fill, seed, margin, spacing) -> None:
    """Random masks (in a margin, so the crop moves them) and (anisotropic) spacings:
    volume and area to 1e-12 of skimage's per-triangle sums, vertices exactly its
    grid-edge vertices, in the documented order."""
    mask = np.pad(_random_mask(mask, fill, seed), [(m, 1) for m in margin])
    _check_against_skimage(mask, spacing)


def test_single_voxel_octahedron() -> None:
    mesh = morph.roi_mesh(np.ones((1, 1, 1), bool), spacing=(2.0, 3.0, 4.0))
    assert mesh.volume == 24.0 / 6.0
    # lower voxels (-1, 0, 0): z-edge; (0, -1, 0): y-edge; (0, 0, -1): x-edge; (0, 0, 0):
    # its x-, y- and z-edges
    expected = [[-1, 0, 0], [0, -1.5, 0], [0, 0, -2], [0, 0, 2], [0, 1.5, 0], [1, 0, 0]]
    np.testing.assert_array_equal(mesh.vertices, expected)


@pytest.mark.parametrize("case", ["STS_002", "STS_048", "STS_020"])
def test_sts_masks_equal_skimage(shared_data, case) -> None:
    """STS CT masks on their native (anisotropic) grid."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(shared_data / "sts" / "nifti" / case / "ct" / "mask.nii.gz"))
    mask = sitk.GetArrayFromImage(image) > 0
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))  # (z, y, x)
    _check_against_skimage(mask, spacing)
