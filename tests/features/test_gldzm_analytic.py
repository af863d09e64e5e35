"""GLDZM (IBSI VMDZ): hand-computed distance maps, zone distance matrices and features.

Oracles: distance maps and matrices worked out by hand on tiny arrays, the digital-phantom
GLDZMs printed in the IBSI manual, closed-form feature values, and the double-loop formula
evaluation of ``test_glszm_analytic.direct``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_glszm_analytic import context_of, dense_of, direct, entries_of, specs_of

from radiomix.features.aggregation import Aggregation
from radiomix.features.gldzm import edge_distance_map, gldzm_matrices
from radiomix.features.glszm import CountMatrix
from radiomix.features.registry import family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

A = Aggregation

GLDZM_KEYS = {
    "0GBI": "sze",
    "MB4I": "lze",
    "S1RA": "lgze",
    "K26C": "hgze",
    "RUVG": "szlge",
    "DKNJ": "szhge",
    "A7WM": "lzlge",
    "KLTH": "lzhge",
    "VFT7": "glnu",
    "7HP3": "glnu_n",
    "V294": "zsnu",
    "IATH": "zsnu_n",
    "VIWW": "zp",
    "QK93": "glv",
    "7WT1": "zsv",
    "GBDU": "entropy",
}


def test_distance_map_of_a_square_slice() -> None:
    """Iterative 4-connected erosion of a 5x5 square: rings 1, 2 and the centre 3."""
    mask = np.ones((1, 5, 5), dtype=bool)
    expected = np.array(
        [
            [1, 1, 1, 1, 1],
            [1, 2, 2, 2, 1],
            [1, 2, 3, 2, 1],
            [1, 2, 2, 2, 1],
            [1, 1, 1, 1, 1],
        ]
    )
    assert np.array_equal(edge_distance_map(mask, planar=True)[0], expected)
    # in 3D a single slice is all edge (outside the array counts as outside the ROI)
    assert np.array_equal(edge_distance_map(mask, planar=False), np.ones((1, 5, 5)))


def test_distance_map_uses_manhattan_steps() -> None:
    """A diagonal step is two 4-connected steps: corners of an L-shaped notch."""
    mask = np.ones((1, 5, 5), dtype=bool)
    mask[0, 0, 0] = False  # notch in a corner
    d = edge_distance_map(mask, planar=True)[0]
    assert d[1, 1] == 2  # (0,0) is at Manhattan distance 2, the border at 2
    assert d[2, 2] == 3
    assert d[0, 0] == 0


def test_distance_map_of_a_cube() -> None:
    mask = np.ones((3, 3, 3), dtype=bool)
    d3 = edge_distance_map(mask, planar=False)
    expected = np.ones((3, 3, 3), dtype=np.int64)
    expected[1, 1, 1] = 2
    assert np.array_equal(d3, expected)
    d2 = edge_distance_map(mask, planar=True)
    assert np.array_equal(d2, np.broadcast_to(expected[1], (3, 3, 3)))


# 5x5 slice: an outer ring of grey 1, an inner ring of grey 2, grey 1 again in the centre.
#   zones: ring of 1 (distance 1), ring of 2 (distance 2), centre 1 (distance 3)
RINGS = np.array(
    [
        [
            [1, 1, 1, 1, 1],
            [1, 2, 2, 2, 1],
            [1, 2, 1, 2, 1],
            [1, 2, 2, 2, 1],
            [1, 1, 1, 1, 1],
        ]
    ]
)


def test_hand_counted_rings() -> None:
    mask = RINGS > 0
    m2 = gldzm_matrices(RINGS, mask, mask, aggregation=A.D2)
    assert entries_of(m2) == {(1, 1): 1, (1, 3): 1, (2, 2): 1}
    # 3D: the single slice is all edge, every zone has distance 1
    m3 = gldzm_matrices(RINGS, mask, mask, aggregation=A.D3)
    assert entries_of(m3) == {(1, 1): 2, (2, 1): 1}


def test_hand_computed_feature_values() -> None:
    """Rings slice, 2D: zones (1, d=1), (1, d=3), (2, d=2); N_s = 3, N_v = 25."""
    mask = RINGS > 0
    v = family_compute("gldzm")(context_of(RINGS, mask), A.D2, specs_of("gldzm"))
    third = 1 / 3
    expected = {
        "gldzm.small_distance_emphasis": (1 + 1 / 9 + 1 / 4) / 3,
        "gldzm.large_distance_emphasis": (1 + 9 + 4) / 3,
        "gldzm.low_grey_level_zone_emphasis": (1 + 1 + 1 / 4) / 3,
        "gldzm.high_grey_level_zone_emphasis": (1 + 1 + 4) / 3,
        "gldzm.small_distance_low_grey_level_emphasis": (1 + 1 / 9 + 1 / 16) / 3,
        "gldzm.small_distance_high_grey_level_emphasis": (1 + 1 / 9 + 1) / 3,
        "gldzm.large_distance_low_grey_level_emphasis": (1 + 9 + 1) / 3,
        "gldzm.large_distance_high_grey_level_emphasis": (1 + 9 + 16) / 3,
        "gldzm.grey_level_nonuniformity": (4 + 1) / 3,
        "gldzm.normalised_grey_level_nonuniformity": 5 / 9,
        "gldzm.zone_distance_nonuniformity": 3 / 3,
        "gldzm.normalised_zone_distance_nonuniformity": 3 / 9,
        "gldzm.zone_percentage": 3 / 25,
        "gldzm.grey_level_variance": 2 / 9,  # levels 1, 1, 2: mean 4/3
        "gldzm.zone_distance_variance": 2 / 3,  # distances 1, 2, 3
        "gldzm.zone_distance_entropy": -3 * third * math.log2(third),
    }
    assert v.keys() == expected.keys()
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-12), name


def test_distance_comes_from_the_morphological_mask() -> None:
    """Re-segmentation removed the outer ring from the intensity mask: the remaining zone
    still lies two steps inside the morphological mask (IBSI: distances on the
    morphological mask, zones on the intensity mask)."""
    levels = np.ones((1, 5, 5), dtype=np.int64)
    morph = np.ones((1, 5, 5), dtype=bool)
    inner = np.zeros_like(morph)
    inner[0, 1:4, 1:4] = True
    m = gldzm_matrices(levels, inner, morph, aggregation=A.D2)
    assert entries_of(m) == {(1, 2): 1}
    assert m.n_voxels.tolist() == [9]
    # the same through a context whose two masks differ
    ctx = RoiContext(
        levels.astype(float),
        morph,
        inner,
        (1.0, 1.0, 1.0),
        levels=np.where(inner, levels, 0),
        n_levels=1,
        ivh=IvhInput(values=np.ones(9), lower=1.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    v = family_compute("gldzm")(ctx, A.D2, specs_of("gldzm"))
    assert v["gldzm.small_distance_emphasis"] == pytest.approx(1 / 4)
    assert v["gldzm.zone_percentage"] == pytest.approx(1 / 9)


def test_zone_distance_is_the_minimum_over_its_voxels() -> None:
    """An L-shaped zone reaching from the edge to the centre has distance 1."""
    levels = np.full((1, 5, 5), 2, dtype=np.int64)
    levels[0, 2, 0:3] = 1  # from the left edge to the centre
    mask = np.ones_like(levels, dtype=bool)
    m = gldzm_matrices(levels, mask, mask, aggregation=A.D2)
    assert entries_of(m) == {(1, 1): 1, (2, 1): 1}


# The manual's digital-phantom GLDZMs ("Digital phantom texture matrices").
PHANTOM_2D = [
    {(1, 1): 2, (4, 1): 2, (6, 1): 1},
    {(1, 1): 2, (3, 2): 1, (4, 1): 2, (6, 1): 1, (6, 2): 1},
    {(1, 1): 1, (4, 1): 1, (6, 1): 1},
    {(1, 1): 1, (4, 1): 1, (6, 1): 1},
]
PHANTOM_3D = {(1, 1): 1, (3, 1): 1, (4, 1): 2, (6, 1): 1}


def test_digital_phantom_matrices_of_the_manual(digital_phantom_context) -> None:
    ctx = digital_phantom_context
    args = (ctx.levels, ctx.int_mask, ctx.morph_mask)
    per_slice = gldzm_matrices(*args, aggregation=A.D2)
    assert [entries_of(m) for m in per_slice.slices()] == PHANTOM_2D
    merged = gldzm_matrices(*args, aggregation=A.D2P5)
    assert entries_of(merged) == {(1, 1): 6, (3, 2): 1, (4, 1): 6, (6, 1): 4, (6, 2): 1}
    m3 = gldzm_matrices(*args, aggregation=A.D3)
    assert entries_of(m3) == PHANTOM_3D


@pytest.mark.parametrize("entries", [PHANTOM_3D, *PHANTOM_2D])
def test_features_equal_the_direct_double_sums(entries) -> None:
    dense = dense_of(entries)
    i, j = np.nonzero(dense)
    rows, cols = np.unique(i), np.unique(j)
    m = CountMatrix(dense[np.ix_(rows, cols)], rows + 1, cols + 1, n_voxels=20.0)
    ref = direct(dense, 20.0)
    for spec in specs_of("gldzm"):
        assert spec.func(m) == pytest.approx(ref[GLDZM_KEYS[spec.ibsi]], rel=1e-12), spec.name
