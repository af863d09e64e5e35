"""NGTDM (IBSI IPET): hand-computed grey tone difference matrices and feature values.

Oracles: matrices worked out by hand on tiny arrays, the digital-phantom NGTDMs printed in
the IBSI manual (six decimals), closed-form feature values, and a plain double-loop
evaluation of the manual's formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_glszm_analytic import context_of, specs_of

from radiomix.features.aggregation import Aggregation
from radiomix.features.ngtdm import COARSENESS_MAX, Ngtdm, ngtdm_matrices
from radiomix.features.registry import family_compute

A = Aggregation

# 3x3 slice, 8 neighbours within the slice, all in the ROI:
#   1 2 1    corner 1: neighbours 2, 2, 3 -> mean 7/3, |1 - 7/3| = 4/3   (x4)
#   2 3 2    edge 2: neighbours 1, 1, 2, 3, 2 -> mean 9/5, |2 - 9/5| = 1/5  (x4)
#   1 2 1    centre 3: neighbours 4 x 2 + 4 x 1 -> mean 3/2, |3 - 3/2| = 3/2
CROSS = np.array([[[1, 2, 1], [2, 3, 2], [1, 2, 1]]])
S = {1: 16 / 3, 2: 4 / 5, 3: 3 / 2}
N = {1: 4, 2: 4, 3: 1}


def as_dict(m: Ngtdm) -> dict[int, tuple[float, int]]:
    """``{i: (s_i, n_i)}`` of a single-matrix stack, over the levels with ``n_i > 0``."""
    assert len(m) == 1
    keep = m.present[0]
    return {
        int(i): (float(s), int(n))
        for i, s, n in zip(m.i[keep], m.s[0, keep], m.n[0, keep], strict=True)
    }


def test_hand_computed_matrix() -> None:
    for aggregation in (A.D2, A.D2P5, A.D3):
        m = ngtdm_matrices(CROSS, CROSS > 0, aggregation=aggregation)
        got = as_dict(m)
        assert got.keys() == {1, 2, 3}
        for i in (1, 2, 3):
            assert got[i][0] == pytest.approx(S[i], rel=1e-12)
            assert got[i][1] == N[i]


def test_hand_computed_feature_values() -> None:
    v = family_compute("ngtdm")(context_of(CROSS, CROSS > 0), A.D3, specs_of("ngtdm"))
    p = {i: N[i] / 9 for i in N}
    ps = sum(p[i] * S[i] for i in N)
    s_total = sum(S.values())
    pairs = [(a, b) for a in N for b in N]
    spread = sum(p[a] * p[b] * (a - b) ** 2 for a, b in pairs) / (3 * 2)
    expected = {
        "ngtdm.coarseness": 1 / ps,
        "ngtdm.contrast": spread * s_total / 9,
        "ngtdm.busyness": ps / sum(abs(a * p[a] - b * p[b]) for a, b in pairs),
        "ngtdm.complexity": sum(
            abs(a - b) * (p[a] * S[a] + p[b] * S[b]) / (p[a] + p[b]) for a, b in pairs
        )
        / 9,
        "ngtdm.strength": sum((p[a] + p[b]) * (a - b) ** 2 for a, b in pairs) / s_total,
    }
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-12), name
    # the same numbers written out by hand
    assert ps == pytest.approx(64 / 27 + 3.2 / 9 + 1.5 / 9)
    assert expected["ngtdm.contrast"] == pytest.approx((8 / 9) / 6 * (16 / 3 + 0.8 + 1.5) / 9)
    assert expected["ngtdm.busyness"] == pytest.approx(ps / (20 / 9))
    assert expected["ngtdm.strength"] == pytest.approx((66 / 9) / (16 / 3 + 0.8 + 1.5))


def test_only_roi_neighbours_are_averaged() -> None:
    """Neighbours outside the ROI do not enter the average (IBSI's W_k)."""
    lv = np.array([[[1, 9, 3]]])
    mask = np.array([[[True, False, True]]])
    # 1 and 3 are not neighbours (distance 2): no voxel has a valid neighbourhood
    assert len(ngtdm_matrices(lv, mask, aggregation=A.D3)) == 0
    m = ngtdm_matrices(lv, mask, aggregation=A.D3, distance=2)
    assert as_dict(m) == {1: (2.0, 1), 3: (2.0, 1)}


def test_voxels_without_neighbours_are_left_out() -> None:
    """An isolated ROI voxel has no valid neighbourhood: not counted in n_i."""
    lv = np.array([[[2, 4, 0, 0, 5]]])
    m = ngtdm_matrices(lv, lv > 0, aggregation=A.D2)
    assert as_dict(m) == {2: (2.0, 1), 4: (2.0, 1)}
    assert m.n_vc.tolist() == [2]


def test_neighbourhoods_cross_slices_only_in_3d() -> None:
    lv = np.array([[[1]], [[3]]])
    mask = lv > 0
    assert len(ngtdm_matrices(lv, mask, aggregation=A.D2)) == 0
    assert len(ngtdm_matrices(lv, mask, aggregation=A.D2P5)) == 0
    m = ngtdm_matrices(lv, mask, aggregation=A.D3)
    assert as_dict(m) == {1: (2.0, 1), 3: (2.0, 1)}
    # no matrix at all: the features are undefined (NaN)
    v = family_compute("ngtdm")(context_of(lv, mask), A.D2, specs_of("ngtdm"))
    assert all(math.isnan(x) for x in v.values())


def test_two_d_merges_by_summing() -> None:
    lv = np.stack([CROSS[0], CROSS[0] + 1])
    per_slice = ngtdm_matrices(lv, lv > 0, aggregation=A.D2)
    assert [as_dict(m).keys() for m in per_slice.slices()] == [{1, 2, 3}, {2, 3, 4}]
    merged = ngtdm_matrices(lv, lv > 0, aggregation=A.D2P5)
    got = as_dict(merged)
    assert got[2][1] == N[2] + N[1]
    assert got[2][0] == pytest.approx(S[2] + S[1])
    assert got[4] == (pytest.approx(S[3]), 1)


def test_uniform_roi_limits() -> None:
    """One grey level: Σ p_i s_i = 0, so coarseness takes its maximum 10^6; contrast,
    busyness and strength are 0 by definition."""
    lv = np.full((1, 3, 3), 2)
    v = family_compute("ngtdm")(context_of(lv, lv > 0), A.D3, specs_of("ngtdm"))
    assert v == {
        "ngtdm.coarseness": COARSENESS_MAX,
        "ngtdm.contrast": 0.0,
        "ngtdm.busyness": 0.0,
        "ngtdm.complexity": 0.0,
        "ngtdm.strength": 0.0,
    }


def test_busyness_undefined_when_all_i_p_i_are_equal() -> None:
    """Levels 1 and 2 with p = 2/3 and 1/3: i p_i = 2/3 for both, the denominator is 0."""
    m = Ngtdm(np.array([1, 2]), np.array([1.0, 1.0]), np.array([2, 1]))
    busy = next(s for s in specs_of("ngtdm") if s.ibsi == "NQ30")
    assert np.isnan(busy.func(m)).all()


# The manual's digital-phantom NGTDMs: {i: (s_i, n_i)} per slice, and volumetric.
PHANTOM_2D = [
    {1: (14.575, 9), 4: (5.775, 8), 6: (7.325, 3)},
    {1: (11.928571, 12), 3: (0.375, 1), 4: (4.8, 4), 6: (8.0, 2)},
    {1: (7.985714, 14), 4: (4.65, 2), 6: (5.0, 1)},
    {1: (7.582143, 15), 4: (4.65, 2), 6: (5.0, 1)},
]
PHANTOM_3D = {1: (39.946954, 50), 3: (0.2, 1), 4: (20.825401, 16), 6: (24.127005, 7)}


def assert_matrix(m: Ngtdm, expected: dict[int, tuple[float, int]], *, tol: float = 5e-7) -> None:
    """Compare with printed values (six decimals: half a unit of the last digit)."""
    got = as_dict(m)
    assert got.keys() == expected.keys()
    for i, (s, n) in expected.items():
        assert got[i][0] == pytest.approx(s, abs=tol)
        assert got[i][1] == n


def test_digital_phantom_matrices_of_the_manual(digital_phantom_context) -> None:
    ctx = digital_phantom_context
    per_slice = ngtdm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D2)
    assert len(per_slice) == 4
    for m, expected in zip(per_slice.slices(), PHANTOM_2D, strict=True):
        assert_matrix(m, expected)
    merged = ngtdm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D2P5)
    summed: dict[int, tuple[float, int]] = {}
    for e in PHANTOM_2D:
        for i, (s, n) in e.items():
            s0, n0 = summed.get(i, (0.0, 0))
            summed[i] = (s0 + s, n0 + n)
    assert_matrix(merged, summed, tol=4 * 5e-7)  # a sum of four printed values
    m3 = ngtdm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D3)
    assert_matrix(m3, PHANTOM_3D)
