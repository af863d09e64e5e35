"""GLSZM (IBSI 9SAK): bad input raises a typed error with a clear message.

The input checks here (``check_levels_mask``, ``is_planar``, ``check_distance``) are shared
by the GLDZM, NGTDM and NGLDM matrix builders.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_glszm_analytic import context_of, specs_of

from radiomix.errors import EmptyRoiError, InputError, SettingsError
from radiomix.features.aggregation import Aggregation
from radiomix.features.glszm import glszm_matrices, label_zone_map
from radiomix.features.registry import family_compute

LEVELS = np.array([[[1, 2], [2, 1]]])
MASK = LEVELS > 0


def test_two_dimensional_arrays_are_refused() -> None:
    with pytest.raises(InputError, match=r"\(Z, Y, X\) arrays, got ndim 2 and 2"):
        glszm_matrices(LEVELS[0], MASK[0], aggregation=Aggregation.D2)


def test_shape_mismatch() -> None:
    with pytest.raises(InputError, match=r"levels shape \(1, 2, 2\) differs from mask shape"):
        glszm_matrices(LEVELS, np.ones((1, 2, 3), dtype=bool), aggregation=Aggregation.D3)


def test_float_levels_are_refused() -> None:
    with pytest.raises(InputError, match="discretised integer grey levels, got dtype float64"):
        glszm_matrices(LEVELS.astype(float), MASK, aggregation=Aggregation.D3)


def test_non_boolean_mask_is_refused() -> None:
    with pytest.raises(InputError, match="mask must be a boolean array, got dtype int64"):
        glszm_matrices(LEVELS, MASK.astype(np.int64), aggregation=Aggregation.D3)


def test_empty_mask() -> None:
    with pytest.raises(EmptyRoiError, match="GLSZM: the mask holds no voxel"):
        glszm_matrices(LEVELS, np.zeros_like(MASK), aggregation=Aggregation.D3)


def test_grey_level_zero_inside_the_mask() -> None:
    levels = LEVELS.copy()
    levels[0, 0, 0] = 0
    with pytest.raises(InputError, match=r"grey levels inside the mask must be >= 1.*found 0"):
        glszm_matrices(levels, MASK, aggregation=Aggregation.D3)


@pytest.mark.parametrize("aggregation", [Aggregation.MERGED_3D, Aggregation.AVERAGED_2D])
def test_directional_aggregation_is_refused(aggregation: Aggregation) -> None:
    with pytest.raises(
        SettingsError, match=f"must be one of 2d, 2p5d, 3d, got '{aggregation.token}'"
    ):
        glszm_matrices(LEVELS, MASK, aggregation=aggregation)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_linkage_distance_must_be_a_positive_integer(bad) -> None:
    with pytest.raises(SettingsError, match="linkage_distance must be an integer >= 1"):
        glszm_matrices(LEVELS, MASK, aggregation=Aggregation.D3, linkage_distance=bad)
    with pytest.raises(SettingsError, match="linkage_distance must be an integer >= 1"):
        label_zone_map(LEVELS, MASK, planar=True, linkage_distance=bad)


def test_family_needs_an_aggregation() -> None:
    with pytest.raises(SettingsError, match="GLSZM features need an aggregation method"):
        family_compute("glszm")(context_of(LEVELS, MASK), None, specs_of("glszm"))


def test_inputs_are_not_modified() -> None:
    levels, mask = LEVELS.copy(), MASK.copy()
    glszm_matrices(levels, mask, aggregation=Aggregation.D2)
    assert np.array_equal(levels, LEVELS)
    assert np.array_equal(mask, MASK)
