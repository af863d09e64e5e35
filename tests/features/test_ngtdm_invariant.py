"""NGTDM (IBSI IPET) invariants on random small ROIs (hypothesis).

- the matrix equals an independent numpy computation by correlation with a box kernel
  (sum and count of ROI neighbours per voxel);
- ``Σ n_i`` is the number of ROI voxels with at least one ROI neighbour (valid
  neighbourhoods), per slice in 2D;
- the matrices do not change under flips of the grid; feature values are finite and >= 0.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from test_glszm_analytic import context_of, specs_of
from test_glszm_invariant import rois

from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.ngtdm import ngtdm_matrices
from radiomix.features.registry import family_compute

A = Aggregation
SETTINGS = settings(max_examples=60, deadline=None)


def numpy_ngtdm(levels, mask, *, planar: bool, distance: int = 1) -> dict[int, tuple[float, int]]:
    """``{i: (s_i, n_i)}`` from box correlations (summed over slices in 2D)."""
    size = 2 * distance + 1
    kernel = np.ones((1 if planar else size, size, size))
    kernel[kernel.shape[0] // 2, distance, distance] = 0
    lv = np.where(mask, levels, 0).astype(float)
    total = ndimage.correlate(lv, kernel, mode="constant", cval=0.0)
    count = ndimage.correlate(mask.astype(float), kernel, mode="constant", cval=0.0)
    valid = mask & (count > 0)
    diff = np.abs(lv[valid] - total[valid] / count[valid])
    out: dict[int, tuple[float, int]] = {}
    for i in np.unique(lv[valid]).astype(int):
        sel = lv[valid] == i
        out[int(i)] = (float(diff[sel].sum()), int(sel.sum()))
    return out


def merged_dict(stack) -> dict[int, tuple[float, int]]:
    """``{i: (s_i, n_i)}`` summed over the matrices of a stack."""
    out: dict[int, tuple[float, int]] = {}
    for m in stack.slices():
        for i, s, n in zip(m.i, m.s[0], m.n[0], strict=True):
            s0, n0 = out.get(int(i), (0.0, 0))
            out[int(i)] = (s0 + float(s), n0 + int(n))
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert math.isclose(a[k][0], b[k][0], rel_tol=1e-12, abs_tol=1e-12)
        assert a[k][1] == b[k][1]


@SETTINGS
@given(rois(), st.integers(1, 2))
def test_matches_box_correlation(roi, distance) -> None:
    levels, mask = roi
    m3 = ngtdm_matrices(levels, mask, aggregation=A.D3, distance=distance)
    expected3 = numpy_ngtdm(levels, mask, planar=False, distance=distance)
    assert_same(merged_dict(m3), expected3)
    expected2 = numpy_ngtdm(levels, mask, planar=True, distance=distance)
    assert_same(
        merged_dict(ngtdm_matrices(levels, mask, aggregation=A.D2, distance=distance)),
        expected2,
    )
    assert_same(
        merged_dict(ngtdm_matrices(levels, mask, aggregation=A.D2P5, distance=distance)),
        expected2,
    )


@SETTINGS
@given(rois())
def test_counts_are_the_voxels_with_a_valid_neighbourhood(roi) -> None:
    levels, mask = roi
    per_slice = ngtdm_matrices(levels, mask, aggregation=A.D2)
    kernel = np.ones((1, 3, 3))
    kernel[0, 1, 1] = 0
    has_neighbour = mask & (ndimage.correlate(mask.astype(int), kernel, mode="constant") > 0)
    expected = [int(n) for n in has_neighbour.sum(axis=(1, 2)) if n > 0]
    assert per_slice.n_vc.tolist() == expected


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
        before = merged_dict(ngtdm_matrices(levels, mask, aggregation=aggregation))
        after = merged_dict(ngtdm_matrices(f(levels), f(mask), aggregation=aggregation))
        assert_same(before, after)


@SETTINGS
@given(rois())
def test_feature_values_are_finite_and_non_negative(roi) -> None:
    levels, mask = roi
    ctx = context_of(levels, mask)
    for aggregation in ZONAL:
        values = family_compute("ngtdm")(ctx, aggregation, specs_of("ngtdm"))
        for name, v in values.items():
            if math.isnan(v):
                # undefined only without any valid neighbourhood, or for busyness in the
                # degenerate equal-i·p_i case
                assert (
                    name == "ngtdm.busyness"
                    or len(ngtdm_matrices(levels, mask, aggregation=aggregation)) == 0
                )
            else:
                assert v >= 0


@SETTINGS
@given(rois())
def test_stacked_evaluation_equals_slice_by_slice(roi) -> None:
    """2D features on the slice stack (shared grey levels, absent ones with p = 0) equal
    the features of each slice's own matrix."""
    levels, mask = roi
    stack = ngtdm_matrices(levels, mask, aggregation=A.D2)
    for spec in specs_of("ngtdm"):
        values = spec.func(stack)
        assert values.shape == (len(stack),)
        one_by_one = [float(spec.func(m)[0]) for m in stack.slices()]
        assert np.allclose(values, one_by_one, rtol=1e-12, atol=1e-12, equal_nan=True), spec.name
