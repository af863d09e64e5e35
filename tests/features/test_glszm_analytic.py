"""GLSZM (IBSI 9SAK): hand-computed zone matrices and feature values.

Oracles: matrices counted by hand on tiny arrays (written out below), the digital-phantom
matrices printed in the IBSI manual's chapter "Digital phantom texture matrices", closed-form
feature values derived by hand, and a plain double-loop evaluation of every formula of the
manual over a dense matrix (``direct``, shared with the GLDZM and NGLDM tests).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.errors import InputError
from radiomix.features import glszm
from radiomix.features.aggregation import Aggregation
from radiomix.features.glszm import CountMatrix, glszm_matrices
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

A = Aggregation


def dense_of(entries: dict[tuple[int, int], int]) -> np.ndarray:
    """Dense matrix ``[i-1, j-1]`` from ``{(i, j): count}``."""
    n_i = max(i for i, _ in entries)
    n_j = max(j for _, j in entries)
    out = np.zeros((n_i, n_j))
    for (i, j), c in entries.items():
        out[i - 1, j - 1] = c
    return out


def entries_of(m: CountMatrix) -> dict[tuple[int, int], int]:
    """``{(i, j): count}`` of the non-zero elements of a single-matrix stack."""
    d = m.dense()
    return {(int(a) + 1, int(b) + 1): int(d[a, b]) for a, b in zip(*np.nonzero(d), strict=True)}


def direct(dense: np.ndarray, n_voxels: float) -> dict[str, float]:
    """The 16 zone-matrix formulas of the manual, evaluated with plain loops.

    Keys are the GLSZM feature suffixes; GLDZM and NGLDM use the same formulas with ``j``
    the distance or dependence.
    """
    n_i, n_j = dense.shape
    n_s = dense.sum()
    keys = ["sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge", "glnu"]
    keys += ["glnu_n", "zsnu", "zsnu_n", "zp", "glv", "zsv", "entropy", "energy"]
    out = dict.fromkeys(keys, 0.0)
    mu_i = sum((i + 1) * dense[i, j] / n_s for i in range(n_i) for j in range(n_j))
    mu_j = sum((j + 1) * dense[i, j] / n_s for i in range(n_i) for j in range(n_j))
    for i in range(n_i):
        for j in range(n_j):
            s, gi, gj = dense[i, j], i + 1.0, j + 1.0
            out["sze"] += s / gj**2
            out["lze"] += s * gj**2
            out["lgze"] += s / gi**2
            out["hgze"] += s * gi**2
            out["szlge"] += s / (gi**2 * gj**2)
            out["szhge"] += s * gi**2 / gj**2
            out["lzlge"] += s * gj**2 / gi**2
            out["lzhge"] += s * gi**2 * gj**2
            p = s / n_s
            out["glv"] += (gi - mu_i) ** 2 * p
            out["zsv"] += (gj - mu_j) ** 2 * p
            if p > 0:
                out["entropy"] -= p * math.log2(p)
            out["energy"] += p**2
    for key in ("sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge"):
        out[key] /= n_s
    row_sums = [sum(dense[i, :]) for i in range(n_i)]
    col_sums = [sum(dense[:, j]) for j in range(n_j)]
    out["glnu"] = sum(r * r for r in row_sums) / n_s
    out["glnu_n"] = out["glnu"] / n_s
    out["zsnu"] = sum(c * c for c in col_sums) / n_s
    out["zsnu_n"] = out["zsnu"] / n_s
    out["zp"] = n_s / n_voxels
    return out


GLSZM_KEYS = {
    "5QRC": "sze",
    "48P8": "lze",
    "XMSY": "lgze",
    "5GN9": "hgze",
    "5RAI": "szlge",
    "HW1V": "szhge",
    "YH51": "lzlge",
    "J17V": "lzhge",
    "JNSA": "glnu",
    "Y1RO": "glnu_n",
    "4JP3": "zsnu",
    "VB3A": "zsnu_n",
    "P30P": "zp",
    "BYLV": "glv",
    "3NSA": "zsv",
    "GU8N": "entropy",
}


def specs_of(family: str):
    return [s for s in all_features() if s.family == family]


def context_of(levels: np.ndarray, mask: np.ndarray, **settings) -> RoiContext:
    """A minimal ROI context over discretised levels (morphological = intensity mask)."""
    v = levels[mask].astype(float)
    return RoiContext(
        levels.astype(float),
        mask,
        mask,
        (1.0, 1.0, 1.0),
        levels=np.where(mask, levels, 0),
        n_levels=int(levels[mask].max()),
        ivh=IvhInput(values=v, lower=float(v.min()), upper=float(v.max()), step=1.0),
        settings=FeatureSettings(**settings),
    )


# A 4x4 slice, zones by hand with 8-connectivity:
#   1 1 2 2     grey 1: {(0,0),(0,1),(1,0)} size 3 and {(3,1),(3,2),(3,3)} size 3
#   1 3 3 2     grey 2: {(0,2),(0,3),(1,3),(2,3)} size 4
#   4 4 3 2     grey 3: {(1,1),(1,2),(2,2)} size 3
#   4 1 1 1     grey 4: {(2,0),(2,1),(3,0)} size 3
SLICE = np.array([[[1, 1, 2, 2], [1, 3, 3, 2], [4, 4, 3, 2], [4, 1, 1, 1]]])
SLICE_GLSZM = {(1, 3): 2, (2, 4): 1, (3, 3): 1, (4, 3): 1}


@pytest.mark.parametrize("aggregation", [A.D2, A.D2P5, A.D3])
def test_hand_counted_slice(aggregation: Aggregation) -> None:
    m = glszm_matrices(SLICE, SLICE > 0, aggregation=aggregation)
    assert entries_of(m) == SLICE_GLSZM
    assert m.n_s.tolist() == [5]
    assert m.n_voxels.tolist() == [16]


def test_hand_computed_feature_values() -> None:
    """Closed forms for the 4x4 slice: N_s = 5, N_v = 16, sizes 3,3,3,3,4, levels 1,1,2,3,4."""
    ctx = context_of(SLICE, SLICE > 0)
    v = family_compute("glszm")(ctx, A.D3, specs_of("glszm"))
    p_levels = {1: 2 / 5, 2: 1 / 5, 3: 1 / 5, 4: 1 / 5}
    mu = sum(i * p for i, p in p_levels.items())  # 2.2
    expected = {
        "glszm.small_zone_emphasis": (4 / 9 + 1 / 16) / 5,
        "glszm.large_zone_emphasis": (4 * 9 + 16) / 5,
        "glszm.low_grey_level_zone_emphasis": (2 / 1 + 1 / 4 + 1 / 9 + 1 / 16) / 5,
        "glszm.high_grey_level_zone_emphasis": (2 * 1 + 4 + 9 + 16) / 5,
        "glszm.small_zone_low_grey_level_emphasis": (2 / 9 + 1 / (4 * 16) + 1 / 81 + 1 / 144) / 5,
        "glszm.small_zone_high_grey_level_emphasis": (2 / 9 + 4 / 16 + 9 / 9 + 16 / 9) / 5,
        "glszm.large_zone_low_grey_level_emphasis": (2 * 9 + 16 / 4 + 9 / 9 + 9 / 16) / 5,
        "glszm.large_zone_high_grey_level_emphasis": (2 * 9 + 4 * 16 + 9 * 9 + 16 * 9) / 5,
        "glszm.grey_level_nonuniformity": (4 + 1 + 1 + 1) / 5,
        "glszm.normalised_grey_level_nonuniformity": 7 / 25,
        "glszm.zone_size_nonuniformity": (16 + 1) / 5,
        "glszm.normalised_zone_size_nonuniformity": 17 / 25,
        "glszm.zone_percentage": 5 / 16,
        "glszm.grey_level_variance": sum(p * (i - mu) ** 2 for i, p in p_levels.items()),
        "glszm.zone_size_variance": 0.16,  # sizes 3,3,3,3,4: mean 3.2
        "glszm.zone_size_entropy": -(0.4 * math.log2(0.4) + 3 * 0.2 * math.log2(0.2)),
    }
    assert v.keys() == expected.keys()
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-12), name
    assert v["glszm.grey_level_variance"] == pytest.approx(1.36, rel=1e-12)


def test_diagonal_neighbours_are_linked() -> None:
    """Chebyshev distance 1 links diagonal voxels (8-connectivity in 2D)."""
    lv = np.array([[[1, 2], [2, 1]]])
    m = glszm_matrices(lv, lv > 0, aggregation=A.D2)
    assert entries_of(m) == {(1, 2): 1, (2, 2): 1}


def test_linkage_across_slices_only_in_3d() -> None:
    """Two grey-1 voxels touching diagonally across slices: one zone in 3D, two in 2D."""
    lv = np.zeros((2, 2, 2), dtype=np.int64)
    lv[0, 0, 0] = lv[1, 1, 1] = 1
    mask = lv > 0
    m3 = glszm_matrices(lv, mask, aggregation=A.D3)
    assert entries_of(m3) == {(1, 2): 1}
    per_slice = glszm_matrices(lv, mask, aggregation=A.D2)
    assert [entries_of(m) for m in per_slice.slices()] == [{(1, 1): 1}, {(1, 1): 1}]
    assert per_slice.n_voxels.tolist() == [1, 1]
    merged = glszm_matrices(lv, mask, aggregation=A.D2P5)
    assert entries_of(merged) == {(1, 1): 2}
    assert merged.n_voxels.tolist() == [2]


def test_linkage_distance_two() -> None:
    """With δ = 2, equal grey levels two voxels apart belong to one zone."""
    lv = np.array([[[1, 2, 1]]])
    m1 = glszm_matrices(lv, lv > 0, aggregation=A.D2, linkage_distance=1)
    m2 = glszm_matrices(lv, lv > 0, aggregation=A.D2, linkage_distance=2)
    assert entries_of(m1) == {(1, 1): 2, (2, 1): 1}
    assert entries_of(m2) == {(1, 2): 1, (2, 1): 1}


def test_voxels_outside_the_mask_break_zones() -> None:
    lv = np.array([[[3, 3, 3, 3]]])
    mask = np.array([[[True, True, False, True]]])
    m = glszm_matrices(lv, mask, aggregation=A.D3)
    assert entries_of(m) == {(3, 1): 1, (3, 2): 1}
    assert m.n_voxels.tolist() == [3]


def test_slices_without_roi_are_skipped_in_2d() -> None:
    lv = np.ones((3, 2, 2), dtype=np.int64)
    mask = np.zeros_like(lv, dtype=bool)
    mask[0] = mask[2] = True
    mats = glszm_matrices(lv, mask, aggregation=A.D2)
    assert len(mats) == 2
    assert all(entries_of(m) == {(1, 4): 1} for m in mats.slices())


# The manual's digital-phantom GLSZMs ("Digital phantom texture matrices"), slices 1-4
# along the first array axis, and the volumetric matrix.
PHANTOM_2D = [
    {(1, 3): 1, (1, 6): 1, (4, 2): 1, (4, 6): 1, (6, 3): 1},
    {(1, 4): 1, (1, 8): 1, (3, 1): 1, (4, 2): 2, (6, 1): 2},
    {(1, 14): 1, (4, 2): 1, (6, 1): 1},
    {(1, 15): 1, (4, 2): 1, (6, 1): 1},
]
PHANTOM_3D = {(1, 50): 1, (3, 1): 1, (4, 2): 1, (4, 14): 1, (6, 7): 1}


def test_digital_phantom_matrices_of_the_manual(digital_phantom_context) -> None:
    ctx = digital_phantom_context
    per_slice = glszm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D2)
    assert [entries_of(m) for m in per_slice.slices()] == PHANTOM_2D
    merged = glszm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D2P5)
    summed: dict[tuple[int, int], int] = {}
    for entries in PHANTOM_2D:
        for key, c in entries.items():
            summed[key] = summed.get(key, 0) + c
    assert entries_of(merged) == summed
    assert merged.n_voxels.tolist() == [74]
    m3 = glszm_matrices(ctx.levels, ctx.int_mask, aggregation=A.D3)
    assert entries_of(m3) == PHANTOM_3D


@pytest.mark.parametrize(
    "entries",
    [SLICE_GLSZM, PHANTOM_3D, *PHANTOM_2D],
    ids=["slice", "phantom-3d", "phantom-z0", "phantom-z1", "phantom-z2", "phantom-z3"],
)
def test_features_equal_the_direct_double_sums(entries) -> None:
    """Each GLSZM feature function equals the manual's formula evaluated with loops."""
    dense = dense_of(entries)
    n_voxels = 37.0
    # compressed storage: keep only occupied rows and columns
    i, j = np.nonzero(dense)
    rows, cols = np.unique(i), np.unique(j)
    m = CountMatrix(dense[np.ix_(rows, cols)], rows + 1, cols + 1, n_voxels=n_voxels)
    ref = direct(dense, n_voxels)
    for spec in specs_of("glszm"):
        assert spec.func(m) == pytest.approx(ref[GLSZM_KEYS[spec.ibsi]], rel=1e-12), spec.name


def test_two_d_features_are_slice_averages(digital_phantom_context) -> None:
    """2D (8QNN): each feature is the mean of its per-slice values."""
    ctx = digital_phantom_context
    specs = specs_of("glszm")
    values = family_compute("glszm")(ctx, A.D2, specs)
    per_slice = [
        direct(dense_of(e), n_voxels=float(n))
        for e, n in zip(PHANTOM_2D, ctx.int_mask.sum(axis=(1, 2)), strict=True)
    ]
    for spec in specs:
        key = GLSZM_KEYS[spec.ibsi]
        assert values[spec.name] == pytest.approx(np.mean([d[key] for d in per_slice]))


def test_matrices_are_cached_per_aggregation() -> None:
    ctx = context_of(SLICE, SLICE > 0)
    specs = specs_of("glszm")
    family_compute("glszm")(ctx, A.D2, specs)
    first = ctx.cached(("glszm", A.D2, 1), lambda: None)
    family_compute("glszm")(ctx, A.D2, specs)
    assert ctx.cached(("glszm", A.D2, 1), lambda: None) is first
    assert first is not None


def test_dense_round_trip() -> None:
    m = CountMatrix.from_pairs(np.array([2, 2, 5]), np.array([1, 3, 3]), n_voxels=7)
    assert m.dense().tolist() == [
        [0, 0, 0],
        [1, 0, 1],
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 1],
    ]
    assert "n_s=[3.0]" in repr(m)
    assert len(m) == 1
    assert glszm.CountMatrix is CountMatrix


def test_two_d_stack_shares_rows_and_columns() -> None:
    """The 2D stack stores every slice over the union of grey levels and sizes; each
    slice's own matrix is recovered by ``slices()``."""
    lv = np.array([[[1, 1], [2, 2]], [[3, 3], [3, 3]]])
    m = glszm_matrices(lv, lv > 0, aggregation=A.D2)
    assert len(m) == 2
    assert m.i.tolist() == [1, 2, 3]
    assert m.j.tolist() == [2, 4]
    assert m.counts.tolist() == [[[1, 0], [1, 0], [0, 0]], [[0, 0], [0, 0], [0, 1]]]
    assert [entries_of(s) for s in m.slices()] == [{(1, 2): 1, (2, 2): 1}, {(3, 4): 1}]
    with pytest.raises(InputError, match="dense\\(\\) needs a single matrix, this stack holds 2"):
        m.dense()
