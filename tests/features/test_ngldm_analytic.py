"""NGLDM (IBSI REK0): hand-computed dependence matrices and feature values.

Oracles: dependences counted by hand on tiny arrays, the digital-phantom NGLDMs printed in
the IBSI manual, closed-form feature values, and the double-loop formula evaluation of
``test_glszm_analytic.direct``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_glszm_analytic import context_of, dense_of, direct, entries_of, specs_of

from radiomix.features.aggregation import Aggregation
from radiomix.features.glszm import CountMatrix
from radiomix.features.ngldm import ngldm_matrices
from radiomix.features.registry import family_compute

A = Aggregation

NGLDM_KEYS = {
    "SODN": "sze",
    "IMOQ": "lze",
    "TL9H": "lgze",
    "OAE7": "hgze",
    "EQ3F": "szlge",
    "JA6D": "szhge",
    "NBZI": "lzlge",
    "9QMG": "lzhge",
    "FP8K": "glnu",
    "5SPA": "glnu_n",
    "Z87G": "zsnu",
    "OKJI": "zsnu_n",
    "6XV8": "zp",
    "1PFV": "glv",
    "DNX2": "zsv",
    "FCBV": "entropy",
    "CAS9": "energy",
}

# 3x3 slice, dependence j = 1 + number of the 8 in-slice neighbours with the same level:
#   1 1 2      j:  3 3 3
#   1 2 2          3 5 5
#   3 2 2          1 4 4
TILE = np.array([[[1, 1, 2], [1, 2, 2], [3, 2, 2]]])
TILE_ALPHA0 = {(1, 3): 3, (2, 3): 1, (2, 4): 2, (2, 5): 2, (3, 1): 1}
# coarseness 1: levels differing by at most 1 are dependent (1-2 and 2-3, not 1-3):
#   j:  4 6 4
#       5 9 6
#       3 6 4
TILE_ALPHA1 = {(1, 4): 1, (1, 5): 1, (1, 6): 1, (2, 4): 2, (2, 6): 2, (2, 9): 1, (3, 3): 1}


@pytest.mark.parametrize("aggregation", [A.D2, A.D2P5, A.D3])
def test_hand_counted_tile(aggregation: Aggregation) -> None:
    m = ngldm_matrices(TILE, TILE > 0, aggregation=aggregation)
    assert entries_of(m) == TILE_ALPHA0
    assert m.n_s.tolist() == m.n_voxels.tolist() == [9]


def test_coarseness_one() -> None:
    m = ngldm_matrices(TILE, TILE > 0, aggregation=A.D2, coarseness=1)
    assert entries_of(m) == TILE_ALPHA1


def test_hand_computed_feature_values() -> None:
    """Tile, α = 0: s_.j = (j1: 1, j3: 4, j4: 2, j5: 2), s_i. = (3, 5, 1), N_s = 9."""
    v = family_compute("ngldm")(context_of(TILE, TILE > 0), A.D3, specs_of("ngldm"))
    counts = np.array([3, 1, 2, 2, 1]) / 9  # p_ij of the five occupied elements
    j_mean = (1 + 4 * 3 + 2 * 4 + 2 * 5) / 9
    i_mean = (3 * 1 + 5 * 2 + 1 * 3) / 9
    expected = {
        "ngldm.low_dependence_emphasis": (1 + 4 / 9 + 2 / 16 + 2 / 25) / 9,
        "ngldm.high_dependence_emphasis": (1 + 4 * 9 + 2 * 16 + 2 * 25) / 9,
        "ngldm.low_grey_level_count_emphasis": (3 + 5 / 4 + 1 / 9) / 9,
        "ngldm.high_grey_level_count_emphasis": (3 + 5 * 4 + 9) / 9,
        "ngldm.low_dependence_low_grey_level_emphasis": (3 / 9 + 1 / 36 + 2 / 64 + 2 / 100 + 1 / 9)
        / 9,
        "ngldm.low_dependence_high_grey_level_emphasis": (3 / 9 + 4 / 9 + 8 / 16 + 8 / 25 + 9) / 9,
        "ngldm.high_dependence_low_grey_level_emphasis": (27 + 9 / 4 + 32 / 4 + 50 / 4 + 1 / 9) / 9,
        "ngldm.high_dependence_high_grey_level_emphasis": (27 + 36 + 128 + 200 + 9) / 9,
        "ngldm.grey_level_nonuniformity": (9 + 25 + 1) / 9,
        "ngldm.normalised_grey_level_nonuniformity": 35 / 81,
        "ngldm.dependence_count_nonuniformity": (1 + 16 + 4 + 4) / 9,
        "ngldm.normalised_dependence_count_nonuniformity": 25 / 81,
        "ngldm.dependence_count_percentage": 1.0,
        "ngldm.grey_level_variance": (
            3 * (1 - i_mean) ** 2 + 5 * (2 - i_mean) ** 2 + (3 - i_mean) ** 2
        )
        / 9,
        "ngldm.dependence_count_variance": (
            (1 - j_mean) ** 2
            + 4 * (3 - j_mean) ** 2
            + 2 * (4 - j_mean) ** 2
            + 2 * (5 - j_mean) ** 2
        )
        / 9,
        "ngldm.dependence_count_entropy": float(-np.sum(counts * np.log2(counts))),
        "ngldm.dependence_count_energy": 19 / 81,
    }
    assert v.keys() == expected.keys()
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-12), name


def test_neighbours_outside_the_roi_do_not_count() -> None:
    lv = np.array([[[5, 5, 5]]])
    mask = np.array([[[True, True, False]]])
    m = ngldm_matrices(lv, mask, aggregation=A.D3)
    assert entries_of(m) == {(5, 2): 2}


def test_dependence_crosses_slices_only_in_3d() -> None:
    lv = np.full((2, 1, 1), 4)
    mask = lv > 0
    assert [entries_of(m) for m in ngldm_matrices(lv, mask, aggregation=A.D2).slices()] == [
        {(4, 1): 1},
        {(4, 1): 1},
    ]
    merged = ngldm_matrices(lv, mask, aggregation=A.D2P5)
    assert entries_of(merged) == {(4, 1): 2}
    m3 = ngldm_matrices(lv, mask, aggregation=A.D3)
    assert entries_of(m3) == {(4, 2): 2}


def test_distance_two() -> None:
    lv = np.array([[[1, 2, 1, 2, 1]]])
    m = ngldm_matrices(lv, lv > 0, aggregation=A.D2, distance=2)
    # ends: one equal voxel within 2; centre 1: two; each 2: one (the other 2)
    assert entries_of(m) == {(1, 2): 2, (1, 3): 1, (2, 2): 2}


# The manual's digital-phantom NGLDMs (δ = 1, α = 0).
PHANTOM_2D = [
    {
        (1, 2): 3,
        (1, 3): 1,
        (1, 4): 3,
        (1, 5): 2,
        (4, 2): 2,
        (4, 3): 4,
        (4, 4): 2,
        (6, 2): 2,
        (6, 3): 1,
    },
    {(1, 3): 2, (1, 4): 6, (1, 6): 4, (3, 1): 1, (4, 2): 4, (6, 1): 2},
    {(1, 3): 1, (1, 4): 5, (1, 5): 3, (1, 6): 3, (1, 7): 2, (4, 2): 2, (6, 1): 1},
    {(1, 3): 1, (1, 4): 3, (1, 5): 3, (1, 6): 4, (1, 7): 1, (1, 8): 3, (4, 2): 2, (6, 1): 1},
]
PHANTOM_3D = {
    (1, 5): 2,
    (1, 6): 2,
    (1, 7): 1,
    (1, 8): 6,
    (1, 9): 4,
    (1, 10): 6,
    (1, 11): 5,
    (1, 12): 5,
    (1, 13): 3,
    (1, 14): 2,
    (1, 15): 5,
    (1, 16): 3,
    (1, 17): 3,
    (1, 18): 2,
    (1, 21): 1,
    (3, 1): 1,
    (4, 2): 2,
    (4, 4): 2,
    (4, 5): 6,
    (4, 6): 4,
    (4, 7): 2,
    (6, 2): 1,
    (6, 3): 4,
    (6, 4): 1,
    (6, 5): 1,
}


def test_digital_phantom_matrices_of_the_manual(digital_phantom_context) -> None:
    ctx = digital_phantom_context
    per_slice = ngldm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D2)
    assert [entries_of(m) for m in per_slice.slices()] == PHANTOM_2D
    m3 = ngldm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D3)
    assert entries_of(m3) == PHANTOM_3D
    assert m3.n_s.tolist() == m3.n_voxels.tolist() == [74]


@pytest.mark.parametrize("entries", [TILE_ALPHA0, TILE_ALPHA1, PHANTOM_3D, *PHANTOM_2D])
def test_features_equal_the_direct_double_sums(entries) -> None:
    dense = dense_of(entries)
    n_voxels = float(dense.sum())
    i, j = np.nonzero(dense)
    rows, cols = np.unique(i), np.unique(j)
    m = CountMatrix(dense[np.ix_(rows, cols)], rows + 1, cols + 1, n_voxels=n_voxels)
    ref = direct(dense, n_voxels)
    for spec in specs_of("ngldm"):
        assert spec.func(m) == pytest.approx(ref[NGLDM_KEYS[spec.ibsi]], rel=1e-12), spec.name
