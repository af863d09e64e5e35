"""GLDZM (IBSI VMDZ) invariants on random small ROIs (hypothesis).

- the distance map equals scipy's city-block distance transform of the zero-padded mask
  (3D, and slice by slice in 2D): an independent oracle for IBSI's iterative erosion;
- the GLDZM counts the same zones as the GLSZM: ``Σ_ij d_ij = N_s`` and equal grey level
  marginals; every zone distance is >= 1;
- the matrices do not change under flips of the grid.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from test_glszm_invariant import rois, summed

from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.gldzm import edge_distance_map, gldzm_matrices
from radiomix.features.glszm import glszm_matrices

A = Aggregation
SETTINGS = settings(max_examples=60, deadline=None)


def scipy_distance(mask: np.ndarray, *, planar: bool) -> np.ndarray:
    """City-block distance to the nearest non-mask voxel, outside the array counting as
    non-mask, by scipy's chamfer transform on a padded copy."""
    if planar:
        return np.stack(
            [
                ndimage.distance_transform_cdt(np.pad(s, 1), metric="taxicab")[1:-1, 1:-1]
                for s in mask
            ]
        )
    d = ndimage.distance_transform_cdt(np.pad(mask, 1), metric="taxicab")
    return d[1:-1, 1:-1, 1:-1]


@SETTINGS
@given(
    arrays(
        np.bool_,
        st.tuples(st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
    )
)
def test_distance_map_matches_scipy(mask) -> None:
    for planar in (True, False):
        assert np.array_equal(
            edge_distance_map(mask, planar=planar), scipy_distance(mask, planar=planar)
        )


@SETTINGS
@given(rois())
def test_same_zones_as_glszm(roi) -> None:
    levels, mask = roi
    for aggregation in ZONAL:
        dzm = gldzm_matrices(levels, mask, mask, aggregation=aggregation)
        szm = glszm_matrices(levels, mask, aggregation=aggregation)
        assert len(dzm) == len(szm)
        assert np.array_equal(dzm.n_s, szm.n_s)
        assert np.array_equal(dzm.n_voxels, szm.n_voxels)
        assert np.array_equal(dzm.i, szm.i)
        assert np.array_equal(dzm.s_i, szm.s_i)
        assert dzm.j.min() >= 1


@SETTINGS
@given(rois(), st.data())
def test_morphological_superset_only_increases_distances(roi, data) -> None:
    """Growing the morphological mask around a fixed intensity mask never brings a zone
    closer to the edge."""
    levels, mask = roi
    extra = data.draw(arrays(np.bool_, mask.shape))
    tight = gldzm_matrices(levels, mask, mask, aggregation=A.D3)
    loose = gldzm_matrices(levels, mask, mask | extra, aggregation=A.D3)
    assert np.array_equal(loose.n_s, tight.n_s)
    assert float((loose.s_j @ loose.j).sum()) >= float((tight.s_j @ tight.j).sum())


@SETTINGS
@given(rois(), st.sampled_from(["flip_z", "flip_y", "flip_x", "swap_yx"]))
def test_invariant_under_grid_symmetries(roi, move) -> None:
    levels, mask = roi
    moves = {
        "flip_z": lambda a: a[::-1],
        "flip_y": lambda a: a[:, ::-1],
        "flip_x": lambda a: a[:, :, ::-1],
        "swap_yx": lambda a: a.transpose(0, 2, 1),
    }
    f = moves[move]
    for aggregation in (A.D2P5, A.D3):
        before = gldzm_matrices(levels, mask, mask, aggregation=aggregation)
        after = gldzm_matrices(f(levels), f(mask), f(mask), aggregation=aggregation)
        assert summed(before) == summed(after)
