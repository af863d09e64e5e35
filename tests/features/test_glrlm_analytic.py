"""GLRLM matrices and features on small arrays whose values are worked out by hand.

Oracles: a 3×3 image whose run length matrices are written out below for each in-plane
direction; the digital-phantom matrices printed in the IBSI 1 manual (chapter "Digital
phantom texture matrices"); feature values derived by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.errors import InternalError, SettingsError
from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.glcm import DIRECTIONS_2D, DIRECTIONS_3D
from radiomix.features.glrlm import GlrlmStack, compute, glrlm_marginals, glrlm_matrices
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "glrlm"]

IMAGE = np.array(
    [
        [1, 1, 2],
        [2, 2, 2],
        [1, 2, 1],
    ]
)
# runs (level, length), found by hand along each direction (dz, dy, dx):
#   (0, 0, 1) rows:            (1,2) (2,1) | (2,3) | (1,1) (2,1) (1,1)
#   (0, 1, 0) columns:         (1,1) (2,1) (1,1) | (1,1) (2,2) | (2,2) (1,1)
#   (0, 1, 1) diagonals ↘:     (1,1) (2,1) (1,1) | (1,1) (2,1) | (2,1) | (2,2) | (1,1)
#   (0, 1, -1) anti-diagonals ↙: (1,1) | (1,1) (2,1) | (2,2) (1,1) | (2,2) | (1,1)
RUNS = {
    (0, 0, 1): [[2, 1, 0], [2, 0, 1]],
    (0, 1, 0): [[4, 0, 0], [1, 2, 0]],
    (0, 1, 1): [[4, 0, 0], [3, 1, 0]],
    (0, 1, -1): [[4, 0, 0], [1, 2, 0]],
}


def make_context(levels: np.ndarray, n_levels: int) -> RoiContext:
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
        settings=FeatureSettings(),
    )


def direction_index(vectors: np.ndarray, dzyx: tuple[int, int, int]) -> int:
    return int(np.flatnonzero((vectors == dzyx).all(axis=1))[0])


def table(entries: dict[tuple[int, int], int], n_levels: int, n_runs: int) -> np.ndarray:
    out = np.zeros((n_levels, n_runs), dtype=int)
    for (i, j), n in entries.items():
        out[i - 1, j - 1] = n
    return out


class TestMatrices:
    def test_hand_image_2d(self) -> None:
        stack = glrlm_matrices(IMAGE[None], IMAGE[None] > 0, n_levels=2, dims=2)
        assert stack.counts.shape == (1, 4, 2, 3)
        for dzyx, runs in RUNS.items():
            np.testing.assert_array_equal(
                stack.counts[0, direction_index(DIRECTIONS_2D, dzyx)], runs
            )
        np.testing.assert_array_equal(stack.n_voxels, [[9, 9, 9, 9]])

    def test_hand_image_3d_single_slice(self) -> None:
        """Out-of-plane directions see 9 runs of length 1, one per voxel."""
        stack = glrlm_matrices(IMAGE[None], IMAGE[None] > 0, n_levels=2, dims=3)
        assert stack.counts.shape == (13, 2, 3)
        for dzyx, runs in RUNS.items():  # the in-plane 3D vectors are the 2D ones
            np.testing.assert_array_equal(stack.counts[direction_index(DIRECTIONS_3D, dzyx)], runs)
        for k, d in enumerate(DIRECTIONS_3D):
            if d[0] != 0:
                np.testing.assert_array_equal(stack.counts[k], [[4, 0, 0], [5, 0, 0]])
        np.testing.assert_array_equal(stack.n_voxels, np.full(13, 9))

    def test_runs_stop_at_the_mask(self) -> None:
        lv = np.array([[[1, 1, 1, 1, 1]]])
        mask = np.array([[[True, True, False, True, True]]])
        stack = glrlm_matrices(lv, mask, n_levels=1, dims=3)
        k = direction_index(DIRECTIONS_3D, (0, 0, 1))
        np.testing.assert_array_equal(stack.counts[k], [[0, 2]])  # two runs of length 2
        assert stack.n_voxels[k] == 4

    def test_digital_phantom_3d_merged(self, digital_phantom_context) -> None:
        """IBSI manual, "Grey level run length matrix (3D, merged)"."""
        ctx = digital_phantom_context
        got = glrlm_matrices(ctx.levels, ctx.int_mask, n_levels=6, dims=3).counts.sum(axis=0)
        expected = {
            (1, 1): 190, (1, 2): 140, (1, 3): 31, (1, 4): 18, (1, 5): 3,
            (3, 1): 13,
            (4, 1): 149, (4, 2): 24, (4, 3): 1, (4, 4): 2,
            (6, 1): 78, (6, 2): 3, (6, 3): 1, (6, 4): 1,
        }  # fmt: skip
        np.testing.assert_array_equal(got, table(expected, 6, 5))

    def test_digital_phantom_2d_merged_per_slice(self, digital_phantom_context) -> None:
        """IBSI manual, "Grey level run length matrix (2D, merged)", slices 1 to 4."""
        ctx = digital_phantom_context
        got = glrlm_matrices(ctx.levels, ctx.int_mask, n_levels=6, dims=2).counts.sum(axis=1)
        slices = [
            {(1, 1): 16, (1, 2): 8, (1, 4): 1, (4, 1): 17, (4, 2): 6, (4, 3): 1, (6, 1): 9,
             (6, 3): 1},
            {(1, 1): 10, (1, 2): 15, (1, 4): 2, (3, 1): 4, (4, 1): 12, (4, 2): 2, (6, 1): 8},
            {(1, 1): 10, (1, 2): 11, (1, 3): 5, (1, 4): 1, (1, 5): 1, (4, 1): 6, (4, 2): 1,
             (6, 1): 4},
            {(1, 1): 6, (1, 2): 9, (1, 3): 6, (1, 4): 2, (1, 5): 2, (4, 1): 6, (4, 2): 1,
             (6, 1): 4},
        ]  # fmt: skip
        assert got.shape == (4, 6, 5)
        for z, entries in enumerate(slices):
            np.testing.assert_array_equal(got[z], table(entries, 6, 5))


class TestFeatures:
    def test_hand_image_merged(self) -> None:
        """Slice-merged matrix of IMAGE (sum of RUNS): level 1: 14 runs of length 1, one of
        length 2; level 2: 7, 5 and 1 runs of lengths 1, 2, 3. N_s = 28, N_v = 4 · 9."""
        r = {(1, 1): 14, (1, 2): 1, (2, 1): 7, (2, 2): 5, (2, 3): 1}
        ns, nv = 28, 36
        r_i = [15, 13]
        r_j = [21, 6, 1]
        p_i = [15 / 28, 13 / 28]
        mu_i = 41 / 28
        p_j = [21 / 28, 6 / 28, 1 / 28]
        mu_j = 36 / 28
        expected = {
            "short_runs_emphasis": (21 + 6 / 4 + 1 / 9) / ns,
            "long_runs_emphasis": (21 + 6 * 4 + 1 * 9) / ns,
            "low_grey_level_run_emphasis": (15 + 13 / 4) / ns,
            "high_grey_level_run_emphasis": (15 + 13 * 4) / ns,
            "short_run_low_grey_level_emphasis": sum(n / (i * i * j * j) for (i, j), n in r.items())
            / ns,
            "short_run_high_grey_level_emphasis": (14 + 1 / 4 + 4 * 7 + 4 * 5 / 4 + 4 / 9) / ns,
            "long_run_low_grey_level_emphasis": (14 + 4 + 7 / 4 + 5 * 4 / 4 + 9 / 4) / ns,
            "long_run_high_grey_level_emphasis": (14 + 4 + 4 * 7 + 16 * 5 + 36) / ns,
            "grey_level_nonuniformity": (15**2 + 13**2) / ns,
            "normalised_grey_level_nonuniformity": (15**2 + 13**2) / ns**2,
            "run_length_nonuniformity": (21**2 + 6**2 + 1) / ns,
            "normalised_run_length_nonuniformity": (21**2 + 6**2 + 1) / ns**2,
            "run_percentage": ns / nv,
            "grey_level_variance": (1 - mu_i) ** 2 * p_i[0] + (2 - mu_i) ** 2 * p_i[1],
            "run_length_variance": sum((j - mu_j) ** 2 * p_j[j - 1] for j in (1, 2, 3)),
            "run_entropy": -sum(n / ns * math.log2(n / ns) for n in r.values()),
        }
        assert sum(r_i) == sum(r_j) == ns
        assert set(expected) == {s.feature for s in SPECS}
        ctx = make_context(IMAGE[None], n_levels=2)
        for agg in (Aggregation.SLICE_MERGED_2D, Aggregation.MERGED_2P5D):
            got = family_compute("glrlm")(ctx, agg, SPECS)
            for name, value in expected.items():
                assert got[f"glrlm.{name}"] == pytest.approx(value, rel=1e-12), (agg, name)

    def test_hand_image_averaged(self) -> None:
        """Per direction: SRE = Σ r_.j / j² / N_s and run percentage N_s / 9."""
        sre = [
            (4 + 1 / 4 + 1 / 9) / 6,  # rows: r_.j = (4, 1, 1)
            (5 + 2 / 4) / 7,  # columns: (5, 2)
            (7 + 1 / 4) / 8,  # diagonals: (7, 1)
            (5 + 2 / 4) / 7,  # anti-diagonals: (5, 2)
        ]
        rp = [6 / 9, 7 / 9, 8 / 9, 7 / 9]
        ctx = make_context(IMAGE[None], n_levels=2)
        for agg in (Aggregation.AVERAGED_2D, Aggregation.DIRECTION_MERGED_2P5D):
            got = family_compute("glrlm")(ctx, agg, SPECS)
            assert got["glrlm.short_runs_emphasis"] == pytest.approx(np.mean(sre)), agg
            assert got["glrlm.run_percentage"] == pytest.approx(np.mean(rp)), agg

    def test_merged_voxel_count_is_summed(self) -> None:
        """3D merged: N_v is 13 times the ROI voxel count. A 2×2×2 cube of one level has
        runs of length 2 along the 3 axes (4 each), length 2 along the 6 face diagonals
        (2 each) and length 1 elsewhere (4 off-diagonal voxels each), length 2 along the 4
        space diagonals (1 each) plus 6 single voxels each."""
        ctx = make_context(np.ones((2, 2, 2), dtype=int), n_levels=1)
        got = family_compute("glrlm")(ctx, Aggregation.MERGED_3D, SPECS)
        n_s = 3 * 4 + 6 * (2 + 4) + 4 * (1 + 6)
        assert got["glrlm.run_percentage"] == pytest.approx(n_s / (13 * 8))
        n_long = 3 * 4 + 6 * 2 + 4 * 1
        assert got["glrlm.long_runs_emphasis"] == pytest.approx((4 * n_long + n_s - n_long) / n_s)

    @pytest.mark.parametrize("aggregation", DIRECTIONAL, ids=lambda a: a.ibsi)
    def test_flat_roi(self, aggregation: Aggregation) -> None:
        ctx = make_context(np.full((2, 3, 3), 2), n_levels=3)
        got = family_compute("glrlm")(ctx, aggregation, SPECS)
        assert got["glrlm.grey_level_variance"] == 0.0
        assert got["glrlm.normalised_grey_level_nonuniformity"] == 1.0
        assert got["glrlm.low_grey_level_run_emphasis"] == pytest.approx(0.25)
        assert all(math.isfinite(v) for v in got.values())

    def test_single_voxel_roi(self) -> None:
        lv = np.zeros((3, 3, 3), dtype=int)
        lv[1, 1, 1] = 1
        got = family_compute("glrlm")(make_context(lv, n_levels=1), Aggregation.AVERAGED_2D, SPECS)
        assert got["glrlm.run_percentage"] == 1.0
        assert got["glrlm.short_runs_emphasis"] == 1.0
        assert got["glrlm.run_entropy"] == 0.0


class TestErrors:
    def test_dims(self) -> None:
        with pytest.raises(SettingsError, match="dims must be 2 or 3, got 1"):
            glrlm_matrices(IMAGE[None], IMAGE[None] > 0, n_levels=2, dims=1)

    def test_empty_matrix(self) -> None:
        empty = GlrlmStack(counts=np.zeros((1, 2, 3), np.int64), n_voxels=np.ones(1, np.int64))
        with pytest.raises(InternalError, match="empty run length matrix"):
            glrlm_marginals(empty)

    def test_needs_a_directional_aggregation(self) -> None:
        with pytest.raises(InternalError, match="directional aggregation, got"):
            compute(make_context(IMAGE[None], 2), Aggregation.D3, SPECS)
