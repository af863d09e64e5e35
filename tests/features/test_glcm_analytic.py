"""GLCM matrices and features on small arrays whose values are worked out by hand.

Oracles: Haralick et al. (1973), Fig. 2 (the 4×4 image with grey tones 0–3 and its four
symmetric co-occurrence matrices at distance 1; here the grey levels are shifted to 1–4);
the digital-phantom matrices printed in the IBSI 1 manual (chapter "Digital phantom texture
matrices"); and feature values derived by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.glcm import (
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    glcm_matrices,
)
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "glcm"]

# Haralick 1973, Fig. 2, grey tones + 1
HARALICK = np.array(
    [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [1, 3, 3, 3],
        [3, 3, 4, 4],
    ]
)
# symmetric co-occurrence counts at distance 1 (Haralick's 0°, 135°, 90°, 45°)
HARALICK_0 = [[4, 2, 1, 0], [2, 4, 0, 0], [1, 0, 6, 1], [0, 0, 1, 2]]  # along x
HARALICK_90 = [[6, 0, 2, 0], [0, 4, 2, 0], [2, 2, 2, 2], [0, 0, 2, 0]]  # along y
HARALICK_135 = [[2, 1, 3, 0], [1, 2, 1, 0], [3, 1, 0, 2], [0, 0, 2, 0]]  # (dy, dx) = (1, 1)
HARALICK_45 = [[4, 1, 0, 0], [1, 2, 2, 0], [0, 2, 4, 1], [0, 0, 1, 0]]  # (dy, dx) = (1, -1)


def make_context(levels: np.ndarray, n_levels: int, **settings) -> RoiContext:
    """A RoiContext over grey levels (0 = outside the ROI), image = levels."""
    levels = np.asarray(levels, dtype=np.int64)
    mask = levels > 0
    values = levels[mask].astype(float)
    return RoiContext(
        levels.astype(float),
        mask,
        mask,
        (1.0, 1.0, 1.0),
        levels=levels,
        n_levels=n_levels,
        ivh=IvhInput(values=values, lower=values.min(), upper=values.max(), step=1.0),
        settings=FeatureSettings(**settings),
    )


def features(ctx: RoiContext, aggregation: Aggregation) -> dict[str, float]:
    return family_compute("glcm")(ctx, aggregation, SPECS)


def direction_index(vectors: np.ndarray, dzyx: tuple[int, int, int]) -> int:
    return int(np.flatnonzero((vectors == dzyx).all(axis=1))[0])


class TestMatrices:
    def test_haralick_2d(self) -> None:
        lv = HARALICK[None]
        got = glcm_matrices(lv, lv > 0, n_levels=4, dims=2)
        assert got.shape == (1, 4, 4, 4)
        expected = {
            (0, 0, 1): HARALICK_0,
            (0, 1, 0): HARALICK_90,
            (0, 1, 1): HARALICK_135,
            (0, 1, -1): HARALICK_45,
        }
        for dzyx, mat in expected.items():
            np.testing.assert_array_equal(got[0, direction_index(DIRECTIONS_2D, dzyx)], mat)

    def test_haralick_3d_single_slice(self) -> None:
        """A single slice: the in-plane 3D directions give Haralick's matrices, the 9
        out-of-plane directions find no pair."""
        lv = HARALICK[None]
        got = glcm_matrices(lv, lv > 0, n_levels=4, dims=3)
        assert got.shape == (13, 4, 4)
        np.testing.assert_array_equal(got[direction_index(DIRECTIONS_3D, (0, 0, 1))], HARALICK_0)
        np.testing.assert_array_equal(got[direction_index(DIRECTIONS_3D, (0, 1, 0))], HARALICK_90)
        np.testing.assert_array_equal(got[direction_index(DIRECTIONS_3D, (0, 1, 1))], HARALICK_135)
        np.testing.assert_array_equal(got[direction_index(DIRECTIONS_3D, (0, 1, -1))], HARALICK_45)
        out_of_plane = [k for k, d in enumerate(DIRECTIONS_3D) if d[0] != 0]
        assert len(out_of_plane) == 9
        assert got[out_of_plane].sum() == 0

    def test_haralick_not_symmetric(self) -> None:
        """Without symmetrisation only the left-to-right pairs are counted."""
        lv = HARALICK[None]
        got = glcm_matrices(lv, lv > 0, n_levels=4, dims=2, symmetric=False)
        # row pairs: 1-1, 1-2, 2-2 (twice), 1-3, 3-3, 3-3, 3-3, 3-4, 4-4
        expected = [[2, 2, 1, 0], [0, 2, 0, 0], [0, 0, 3, 1], [0, 0, 0, 1]]
        np.testing.assert_array_equal(got[0, direction_index(DIRECTIONS_2D, (0, 0, 1))], expected)

    @pytest.mark.parametrize("dims", [2, 3])
    def test_asymmetric_pairs_run_along_each_vector_as_pyradiomics_counts_them(self, dims) -> None:
        """Every direction's first non-zero component in storage order (z, y, x) is positive
        (pyradiomics' half-space of angles); grey levels 1, 2, 3, 4 laid along a vector give,
        without symmetrisation, the pairs (1, 2), (2, 3), (3, 4) of that vector alone."""
        vectors = DIRECTIONS_2D if dims == 2 else DIRECTIONS_3D
        assert len({tuple(v) for v in vectors} | {tuple(-v) for v in vectors}) == 2 * len(vectors)
        for k, v in enumerate(vectors):
            assert v[np.flatnonzero(v)[0]] > 0
            lv = np.zeros((7, 7, 7), dtype=np.int64)
            for step in range(4):
                lv[tuple(np.array([3, 3, 3]) + (step - 1) * v)] = step + 1
            got = glcm_matrices(lv, lv > 0, n_levels=4, dims=dims, symmetric=False)
            mats = got.sum(axis=0) if dims == 2 else got
            np.testing.assert_array_equal(mats[k], np.diag([1, 1, 1], k=1))
            assert mats.sum() == 3

    def test_distance_two(self) -> None:
        lv = np.array([[[1, 2, 1, 2, 1]]])
        # δ = 1: four pairs 1-2 / 2-1; δ = 2: pairs 1-1, 2-2, 1-1
        d1 = glcm_matrices(lv, lv > 0, n_levels=2, distance=1)
        d2 = glcm_matrices(lv, lv > 0, n_levels=2, distance=2)
        k = direction_index(DIRECTIONS_3D, (0, 0, 1))
        np.testing.assert_array_equal(d1[k], [[0, 4], [4, 0]])
        np.testing.assert_array_equal(d2[k], [[4, 0], [0, 2]])
        assert d2.sum() == d2[k].sum()

    def test_voxels_outside_the_mask_take_part_in_no_pair(self) -> None:
        lv = np.array([[[1, 2, 2, 1]]])
        mask = np.array([[[True, True, False, True]]])
        got = glcm_matrices(lv, mask, n_levels=2)
        # only the pair (1, 2) of the first two voxels remains
        np.testing.assert_array_equal(got.sum(axis=0), [[0, 1], [1, 0]])

    def test_digital_phantom_3d_merged(self, digital_phantom_context) -> None:
        """IBSI manual, "Grey level co-occurrence matrix (3D, merged)"."""
        ctx = digital_phantom_context
        got = glcm_matrices(ctx.levels, ctx.int_mask, n_levels=6, dims=3).sum(axis=0)
        expected = np.zeros((6, 6), dtype=int)
        upper = {
            (1, 1): 536,
            (1, 3): 14,
            (1, 4): 105,
            (1, 6): 61,
            (3, 4): 5,
            (3, 6): 6,
            (4, 4): 64,
            (4, 6): 28,
            (6, 6): 16,
        }
        for (i, j), n in upper.items():
            expected[i - 1, j - 1] = expected[j - 1, i - 1] = n
        np.testing.assert_array_equal(got, expected)

    def test_digital_phantom_2d_merged_per_slice(self, digital_phantom_context) -> None:
        """IBSI manual, "Grey level co-occurrence matrix (2D, merged)", slices 1 to 4."""
        ctx = digital_phantom_context
        got = glcm_matrices(ctx.levels, ctx.int_mask, n_levels=6, dims=2).sum(axis=1)
        slices = [
            {(1, 1): 22, (1, 4): 17, (1, 6): 6, (4, 4): 16, (4, 6): 11, (6, 6): 4},
            {(1, 1): 42, (1, 3): 5, (1, 4): 8, (1, 6): 8, (3, 4): 1, (3, 6): 2, (4, 4): 4,
             (4, 6): 3},
            {(1, 1): 56, (1, 4): 7, (1, 6): 4, (4, 4): 2},
            {(1, 1): 70, (1, 4): 7, (1, 6): 5, (4, 4): 2},
        ]  # fmt: skip
        assert got.shape == (4, 6, 6)
        for z, upper in enumerate(slices):
            expected = np.zeros((6, 6), dtype=int)
            for (i, j), n in upper.items():
                expected[i - 1, j - 1] = expected[j - 1, i - 1] = n
            np.testing.assert_array_equal(got[z], expected)


class TestFeatures:
    def test_two_level_line(self) -> None:
        """Image [1, 1, 2] along x: symmetric counts [[2, 1], [1, 0]], so p11 = 1/2,
        p12 = p21 = 1/4, p22 = 0; every 3D merged feature worked out by hand."""
        ctx = make_context([[[1, 1, 2]]], n_levels=2)
        got = features(ctx, Aggregation.MERGED_3D)
        log2 = math.log2
        hx = -(0.75 * log2(0.75) + 0.25 * log2(0.25))  # marginal p_i = (3/4, 1/4)
        hxy = 1.5  # -(1/2 log2 1/2 + 2 · 1/4 log2 1/4)
        hxy1 = -(0.5 * log2(0.75 * 0.75) + 0.5 * log2(0.75 * 0.25))
        hxy2 = 2 * hx  # p_i p_j is the product of the two marginals
        expected = {
            "joint_max": 0.5,
            "joint_average": 1.25,  # 1 · 3/4 + 2 · 1/4
            "joint_variance": 0.1875,  # (1/4)² · 3/4 + (3/4)² · 1/4
            "joint_entropy": hxy,
            "difference_average": 0.5,  # p_{i-j} = (1/2, 1/2)
            "difference_variance": 0.25,
            "difference_entropy": 1.0,
            "sum_average": 2.5,  # p_{i+j} at k = 2, 3, 4: (1/2, 1/2, 0)
            "sum_variance": 0.25,
            "sum_entropy": 1.0,
            "angular_second_moment": 0.375,  # 1/4 + 2/16
            "contrast": 0.5,
            "dissimilarity": 0.5,
            "inverse_difference": 0.75,  # 1/2 + (1/2)/2
            "normalised_inverse_difference": 0.5 + 0.5 / 1.5,  # N_g = 2
            "inverse_difference_moment": 0.75,
            "normalised_inverse_difference_moment": 0.5 + 0.5 / 1.25,
            "inverse_variance": 0.5,
            "correlation": (1.5 - 1.25**2) / 0.1875,  # (Σ ij p - μ²) / σ² = -1/3
            "autocorrelation": 1.5,  # 1 · 1/2 + 2 · 2 · 1/4
            "cluster_tendency": 0.25,  # (i + j - 2.5)² = 1/4 on both cells
            "cluster_shade": 0.0,
            "cluster_prominence": 0.0625,
            "information_correlation_1": (hxy - hxy1) / hx,
            "information_correlation_2": math.sqrt(1 - math.exp(-2 * (hxy2 - hxy))),
        }
        assert set(expected) == {s.feature for s in SPECS}
        for name, value in expected.items():
            assert got[f"glcm.{name}"] == pytest.approx(value, rel=1e-12, abs=1e-15), name
        assert got["glcm.correlation"] == pytest.approx(-1 / 3)

    def test_not_symmetric(self) -> None:
        """Non-symmetric counts of [1, 1, 2]: p11 = p12 = 1/2, so μ_i = 1 and μ_j = 3/2."""
        ctx = make_context([[[1, 1, 2]]], n_levels=2, glcm_symmetric=False)
        got = features(ctx, Aggregation.MERGED_3D)
        assert got["glcm.joint_average"] == pytest.approx(1.0)
        assert got["glcm.autocorrelation"] == pytest.approx(1.5)  # 1·1/2 + 2·1/2
        # (i + j - μ_i - μ_j)²: (2 - 2.5)² and (3 - 2.5)², each with p = 1/2
        assert got["glcm.cluster_tendency"] == pytest.approx(0.25)
        assert math.isnan(got["glcm.correlation"])  # σ_i = 0: all first voxels are 1

    def test_haralick_contrast_per_aggregation(self) -> None:
        """Contrast Σ (i-j)² p_ij of the four Haralick matrices: 14/24 (0°), 24/24 (90°),
        32/18 (135°) and 8/18 (45°); merged: (14 + 24 + 32 + 8) / (24 + 24 + 18 + 18)."""
        ctx = make_context(HARALICK[None], n_levels=4)
        averaged = (14 / 24 + 24 / 24 + 32 / 18 + 8 / 18) / 4
        merged = 78 / 84
        expect = {
            Aggregation.AVERAGED_2D: averaged,
            Aggregation.SLICE_MERGED_2D: merged,
            Aggregation.DIRECTION_MERGED_2P5D: averaged,  # one slice: per direction
            Aggregation.MERGED_2P5D: merged,
            Aggregation.AVERAGED_3D: averaged,  # 9 empty out-of-plane matrices left out
            Aggregation.MERGED_3D: merged,
        }
        for agg, value in expect.items():
            got = family_compute("glcm")(ctx, agg, [s for s in SPECS if s.ibsi == "ACUI"])
            assert got["glcm.contrast"] == pytest.approx(value), agg

    @pytest.mark.parametrize("aggregation", DIRECTIONAL, ids=lambda a: a.ibsi)
    def test_flat_roi(self, aggregation: Aggregation) -> None:
        """One grey level: correlation and information correlation 1 are undefined (0/0),
        the rest take their limit values."""
        ctx = make_context(np.full((2, 3, 3), 2), n_levels=3)
        got = features(ctx, aggregation)
        assert math.isnan(got["glcm.correlation"])
        assert math.isnan(got["glcm.information_correlation_1"])
        assert got["glcm.information_correlation_2"] == 0.0
        assert got["glcm.joint_max"] == 1.0
        assert got["glcm.joint_average"] == 2.0
        assert got["glcm.joint_entropy"] == 0.0
        assert got["glcm.contrast"] == 0.0
        assert got["glcm.inverse_variance"] == 0.0
        assert got["glcm.inverse_difference"] == 1.0
        assert got["glcm.autocorrelation"] == 4.0
        assert got["glcm.cluster_prominence"] == 0.0
        nan = {k for k, v in got.items() if math.isnan(v)}
        assert nan == {"glcm.correlation", "glcm.information_correlation_1"}

    def test_undefined_values_are_left_out_of_the_average(self) -> None:
        """A flat slice beside the Haralick slice: its four matrices have no correlation,
        so 2D averaged correlation is the mean over Haralick's four matrices, where the
        correlation (Σ ij p − μ²)/σ² is worked out by hand below; the note says so."""

        def corr(upper: dict[tuple[int, int], int]) -> float:
            cells = [(i, j, n) for (i, j), n in upper.items()]
            cells += [(j, i, n) for (i, j), n in upper.items() if i != j]
            total = sum(n for *_, n in cells)
            mu = sum(i * n for i, _, n in cells) / total
            var = sum((i - mu) ** 2 * n for i, _, n in cells) / total
            return (sum(i * j * n for i, j, n in cells) / total - mu**2) / var

        def upper(mat: list[list[int]]) -> dict[tuple[int, int], int]:
            return {(i + 1, j + 1): mat[i][j] for i in range(4) for j in range(i, 4) if mat[i][j]}

        expected = np.mean(
            [corr(upper(m)) for m in (HARALICK_0, HARALICK_90, HARALICK_135, HARALICK_45)]
        )
        ctx = make_context(np.stack([np.ones((4, 4), int), HARALICK]), n_levels=4)
        got = family_compute("glcm")(
            ctx, Aggregation.AVERAGED_2D, [s for s in SPECS if s.ibsi == "NI2N"]
        )
        assert got["glcm.correlation"] == pytest.approx(expected)
        assert "4 of 8 matrices" in ctx.notes["glcm.correlation.2d_averaged"]

    @pytest.mark.parametrize("aggregation", DIRECTIONAL, ids=lambda a: a.ibsi)
    def test_single_voxel_roi_has_no_pair(self, aggregation: Aggregation) -> None:
        lv = np.zeros((3, 3, 3), dtype=int)
        lv[1, 1, 1] = 1
        got = features(make_context(lv, n_levels=1), aggregation)
        assert len(got) == 25
        assert all(math.isnan(v) for v in got.values())

    def test_matrices_are_built_once_per_dimensionality(self, monkeypatch) -> None:
        """The six aggregations share two stacks: one per-slice (2D), one volumetric."""
        import radiomix.features.glcm as glcm_module

        calls = []
        kernel = glcm_module.glcm_counts

        def counting(levels, roi, voxel_slice, offsets, out):
            calls.append(len(offsets) == 4)  # the 4 in-plane (2D) or the 13 (3D) directions
            kernel(levels, roi, voxel_slice, offsets, out)

        monkeypatch.setattr(glcm_module, "glcm_counts", counting)
        ctx = make_context(HARALICK[None], n_levels=4)
        for agg in DIRECTIONAL:
            features(ctx, agg)
        assert sorted(calls) == [False, True]
