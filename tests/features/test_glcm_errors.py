"""Bad input to the GLCM builder raises typed errors with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError, InternalError, SettingsError
from radiomix.features.glcm import compute, glcm_marginals, glcm_matrices

LV = np.array([[[1, 2], [2, 1]]])


def test_distance_below_one() -> None:
    with pytest.raises(SettingsError, match="distance must be >= 1, got 0"):
        glcm_matrices(LV, LV > 0, n_levels=2, distance=0)


def test_dims_not_2_or_3() -> None:
    with pytest.raises(SettingsError, match="dims must be 2 or 3, got 4"):
        glcm_matrices(LV, LV > 0, n_levels=2, dims=4)


def test_shape_mismatch() -> None:
    with pytest.raises(InputError, match=r"one shape, got \(1, 2, 2\) and \(1, 2, 3\)"):
        glcm_matrices(LV, np.ones((1, 2, 3), bool), n_levels=2)


def test_not_3d() -> None:
    with pytest.raises(InputError, match=r"\(Z, Y, X\) arrays"):
        glcm_matrices(LV[0], LV[0] > 0, n_levels=2)


def test_float_levels() -> None:
    with pytest.raises(InputError, match="integer grey levels, got dtype float64"):
        glcm_matrices(LV.astype(float), LV > 0, n_levels=2)


def test_level_above_n_levels() -> None:
    with pytest.raises(InputError, match=r"must lie in 1\.\.2, found 1\.\.3"):
        glcm_matrices(LV + np.array([[[0, 1], [0, 0]]]), LV > 0, n_levels=2)


def test_level_zero_inside_mask() -> None:
    with pytest.raises(InputError, match=r"must lie in 1\.\.2, found 0\.\.2"):
        glcm_matrices(LV * np.array([[[0, 1], [1, 1]]]), np.ones_like(LV, bool), n_levels=2)


def test_n_levels_below_one() -> None:
    with pytest.raises(SettingsError, match="n_levels must be >= 1, got 0"):
        glcm_matrices(LV, LV > 0, n_levels=0)


def test_empty_mask() -> None:
    with pytest.raises(EmptyRoiError, match="holds no voxel"):
        glcm_matrices(LV, np.zeros_like(LV, bool), n_levels=2)


def test_marginals_refuse_an_empty_matrix() -> None:
    with pytest.raises(InternalError, match="empty co-occurrence matrix"):
        glcm_marginals(np.zeros((1, 2, 2), dtype=np.int64), n_levels=2)


def test_family_needs_a_directional_aggregation() -> None:
    with pytest.raises(InternalError, match="directional aggregation, got None"):
        compute(None, None, [])  # type: ignore[arg-type]
