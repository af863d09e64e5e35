"""GLSZM (IBSI 9SAK) invariants on random small ROIs (hypothesis).

- zone-count conservation: ``Σ_j j·s_ij`` is the number of ROI voxels with grey level ``i``
  (so ``Σ_ij j·s_ij = N_v``), for every aggregation;
- the zones equal the connected components found by ``scipy.ndimage.label`` per grey level
  (26-connectivity in 3D, 8-connectivity per slice in 2D): an independent oracle;
- the matrices do not change under flips and axis permutations of the grid.

The ``rois`` strategy is shared with the GLDZM, NGTDM and NGLDM invariant tests.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.gldzm import gldzm_matrices
from radiomix.features.glszm import CountMatrix, glszm_matrices
from radiomix.features.ngldm import ngldm_matrices
from radiomix.features.registry import all_features

A = Aggregation
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def rois(draw, *, max_level: int = 4, max_slices: int = 3, max_side: int = 6):
    """Random (levels, mask): grey levels 1..max_level, a mask with at least one voxel."""
    shape = draw(
        st.tuples(st.integers(1, max_slices), st.integers(1, max_side), st.integers(1, max_side))
    )
    levels = draw(arrays(np.int64, shape, elements=st.integers(1, max_level)))
    mask = draw(arrays(np.bool_, shape))
    seed = draw(st.integers(0, int(np.prod(shape)) - 1))
    mask.flat[seed] = True
    return levels, mask


def summed(stack: CountMatrix) -> dict[tuple[int, int], float]:
    """Sum of the matrices of a stack as ``{(i, j): count}`` (non-zero elements)."""
    total = stack.counts.sum(axis=0)
    out: dict[tuple[int, int], float] = {}
    for a, i in enumerate(stack.i):
        for b, j in enumerate(stack.j):
            if total[a, b]:
                out[(int(i), int(j))] = float(total[a, b])
    return out


def scipy_zones(levels: np.ndarray, mask: np.ndarray, *, planar: bool) -> dict:
    """Zone (level, size) counts by scipy.ndimage.label, one grey level at a time."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if planar:
        structure[0] = structure[2] = False
    out: dict[tuple[int, int], float] = {}
    for level in np.unique(levels[mask]):
        labels, _ = ndimage.label(mask & (levels == level), structure=structure)
        sizes = np.bincount(labels.ravel())[1:]
        for size in sizes:
            key = (int(level), int(size))
            out[key] = out.get(key, 0.0) + 1.0
    return out


@SETTINGS
@given(rois())
def test_zone_count_conservation(roi) -> None:
    levels, mask = roi
    for aggregation in ZONAL:
        per_level: dict[int, float] = {}
        for (i, j), c in summed(glszm_matrices(levels, mask, aggregation=aggregation)).items():
            per_level[i] = per_level.get(i, 0.0) + j * c
        values, counts = np.unique(levels[mask], return_counts=True)
        expected = {int(v): float(n) for v, n in zip(values, counts, strict=True)}
        assert per_level == expected


@SETTINGS
@given(rois())
def test_zones_match_scipy_labelling(roi) -> None:
    levels, mask = roi
    m3 = glszm_matrices(levels, mask, aggregation=A.D3)
    assert summed(m3) == scipy_zones(levels, mask, planar=False)
    assert summed(glszm_matrices(levels, mask, aggregation=A.D2)) == scipy_zones(
        levels, mask, planar=True
    )
    merged = glszm_matrices(levels, mask, aggregation=A.D2P5)
    assert summed(merged) == scipy_zones(levels, mask, planar=True)
    assert merged.n_voxels.tolist() == [mask.sum()]


@SETTINGS
@given(rois(), st.sampled_from(["flip_z", "flip_y", "flip_x", "swap_yx", "swap_zx"]))
def test_invariant_under_grid_symmetries(roi, move) -> None:
    levels, mask = roi
    moves = {
        "flip_z": lambda a: a[::-1],
        "flip_y": lambda a: a[:, ::-1],
        "flip_x": lambda a: a[:, :, ::-1],
        "swap_yx": lambda a: a.transpose(0, 2, 1),
        "swap_zx": lambda a: a.transpose(2, 1, 0),
    }
    f = moves[move]
    aggregations = ZONAL if move != "swap_zx" else (A.D3,)  # slices change when z moves
    for aggregation in aggregations:
        before = glszm_matrices(levels, mask, aggregation=aggregation)
        after = glszm_matrices(f(levels), f(mask), aggregation=aggregation)
        if aggregation is A.D2:
            key = lambda ms: sorted(tuple(sorted(summed(m).items())) for m in ms.slices())  # noqa: E731
            assert key(before) == key(after)
        else:
            assert summed(before) == summed(after)


@SETTINGS
@given(rois())
def test_feature_ranges(roi) -> None:
    levels, mask = roi
    for aggregation in ZONAL:
        m = glszm_matrices(levels, mask, aggregation=aggregation)
        assert np.all((m.n_s / m.n_voxels > 0) & (m.n_s / m.n_voxels <= 1))
        glnu_norm = np.sum(m.s_i**2, axis=1) / m.n_s**2
        assert np.all((glnu_norm > 0) & (glnu_norm <= 1 + 1e-12))
        assert np.allclose(m.p.sum(axis=(1, 2)), 1.0)


@SETTINGS
@given(rois())
def test_stacked_evaluation_equals_slice_by_slice(roi) -> None:
    """2D features on the slice stack (shared rows/columns, zeros allowed) equal the mean
    of the features of each slice's own compressed matrix."""
    levels, mask = roi
    stacks = {
        "glszm": glszm_matrices(levels, mask, aggregation=A.D2),
        "gldzm": gldzm_matrices(levels, mask, mask, aggregation=A.D2),
        "ngldm": ngldm_matrices(levels, mask, aggregation=A.D2),
    }
    for spec in all_features():
        if spec.family not in stacks:
            continue
        stack = stacks[spec.family]
        values = spec.func(stack)
        assert values.shape == (len(stack),)
        one_by_one = [float(spec.func(m)[0]) for m in stack.slices()]
        assert np.allclose(values, one_by_one, rtol=1e-12, atol=1e-12), spec.name
