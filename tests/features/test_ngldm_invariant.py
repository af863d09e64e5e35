"""NGLDM (IBSI REK0) invariants on random small ROIs (hypothesis).

- count conservation: ``Σ_ij s_ij = N_v`` (every ROI voxel has a neighbourhood), so the
  dependence count percentage is 1; ``Σ_j s_ij`` is the number of voxels of grey level i;
- the dependences equal an independent numpy computation with shifted copies of the array;
- with coarseness 0 the dependence relation is symmetric: ``Σ_ij (j − 1) s_ij`` is even;
- the matrices do not change under flips of the grid.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_glszm_invariant import rois, summed

from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.ngldm import ngldm_matrices

A = Aggregation
SETTINGS = settings(max_examples=60, deadline=None)


def numpy_dependence(levels, mask, *, planar: bool, distance: int, coarseness: int):
    """Dependence of each ROI voxel by comparing shifted, padded copies."""
    d = distance
    pad = ((0, 0) if planar else (d, d), (d, d), (d, d))
    lv = np.pad(np.where(mask, levels, 0), pad)
    mk = np.pad(mask, pad)
    nz, ny, nx = levels.shape
    oz, oy, ox = pad[0][0], d, d
    dep = np.ones(levels.shape, dtype=np.int64)
    z_range = [0] if planar else range(-d, d + 1)
    for mz, my, mx in itertools.product(z_range, range(-d, d + 1), range(-d, d + 1)):
        if (mz, my, mx) == (0, 0, 0):
            continue
        nb_l = lv[oz + mz : oz + mz + nz, oy + my : oy + my + ny, ox + mx : ox + mx + nx]
        nb_m = mk[oz + mz : oz + mz + nz, oy + my : oy + my + ny, ox + mx : ox + mx + nx]
        dep += nb_m & (np.abs(nb_l - levels) <= coarseness)
    out: dict[tuple[int, int], float] = {}
    for i, j in zip(levels[mask], dep[mask], strict=True):
        out[(int(i), int(j))] = out.get((int(i), int(j)), 0.0) + 1.0
    return out


@SETTINGS
@given(rois())
def test_count_conservation(roi) -> None:
    levels, mask = roi
    for aggregation in ZONAL:
        matrices = ngldm_matrices(levels, mask, aggregation=aggregation)
        assert matrices.n_s.sum() == mask.sum()
        assert np.array_equal(matrices.n_s, matrices.n_voxels)
        per_level: dict[int, float] = {}
        for (i, _), c in summed(matrices).items():
            per_level[i] = per_level.get(i, 0.0) + c
        values, counts = np.unique(levels[mask], return_counts=True)
        assert per_level == {int(v): float(n) for v, n in zip(values, counts, strict=True)}


@SETTINGS
@given(rois(), st.integers(1, 2), st.integers(0, 2))
def test_matches_shifted_copies(roi, distance, coarseness) -> None:
    levels, mask = roi
    kw = {"distance": distance, "coarseness": coarseness}
    m3 = ngldm_matrices(levels, mask, aggregation=A.D3, **kw)
    assert summed(m3) == numpy_dependence(levels, mask, planar=False, **kw)
    expected2 = numpy_dependence(levels, mask, planar=True, **kw)
    assert summed(ngldm_matrices(levels, mask, aggregation=A.D2, **kw)) == expected2
    merged = ngldm_matrices(levels, mask, aggregation=A.D2P5, **kw)
    assert summed(merged) == expected2


@SETTINGS
@given(rois())
def test_dependence_is_symmetric(roi) -> None:
    levels, mask = roi
    m = ngldm_matrices(levels, mask, aggregation=A.D3)
    pairs = float((m.s_j @ (m.j - 1)).sum())
    assert pairs % 2 == 0


@SETTINGS
@given(rois(), st.sampled_from(["flip_z", "flip_y", "flip_x", "swap_yx", "swap_zy"]))
def test_invariant_under_grid_symmetries(roi, move) -> None:
    levels, mask = roi
    moves = {
        "flip_z": lambda a: a[::-1],
        "flip_y": lambda a: a[:, ::-1],
        "flip_x": lambda a: a[:, :, ::-1],
        "swap_yx": lambda a: a.transpose(0, 2, 1),
        "swap_zy": lambda a: a.transpose(1, 0, 2),
    }
    f = moves[move]
    aggregations = (A.D2P5, A.D3) if move != "swap_zy" else (A.D3,)
    for aggregation in aggregations:
        before = ngldm_matrices(levels, mask, aggregation=aggregation)
        after = ngldm_matrices(f(levels), f(mask), aggregation=aggregation)
        assert summed(before) == summed(after)
