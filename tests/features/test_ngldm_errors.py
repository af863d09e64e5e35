"""NGLDM (IBSI REK0): bad input raises a typed error with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from test_glszm_analytic import context_of, specs_of

from radiomix.errors import EmptyRoiError, SettingsError
from radiomix.features.aggregation import Aggregation
from radiomix.features.ngldm import ngldm_matrices
from radiomix.features.registry import family_compute

LEVELS = np.array([[[1, 2, 1], [2, 1, 2]]])
MASK = LEVELS > 0


@pytest.mark.parametrize("bad", [-1, 0.5, False])
def test_coarseness_must_be_a_non_negative_integer(bad) -> None:
    with pytest.raises(SettingsError, match="ngldm coarseness must be an integer >= 0"):
        ngldm_matrices(LEVELS, MASK, aggregation=Aggregation.D3, coarseness=bad)


def test_distance_must_be_a_positive_integer() -> None:
    with pytest.raises(SettingsError, match="ngldm distance must be an integer >= 1, got 0"):
        ngldm_matrices(LEVELS, MASK, aggregation=Aggregation.D3, distance=0)


def test_empty_mask() -> None:
    with pytest.raises(EmptyRoiError, match="NGLDM: the mask holds no voxel"):
        ngldm_matrices(LEVELS, np.zeros_like(MASK), aggregation=Aggregation.D2P5)


def test_directional_aggregation_is_refused() -> None:
    with pytest.raises(SettingsError, match="NGLDM aggregation must be one of"):
        ngldm_matrices(LEVELS, MASK, aggregation=Aggregation.AVERAGED_3D)


def test_family_needs_an_aggregation() -> None:
    with pytest.raises(SettingsError, match="NGLDM features need an aggregation method"):
        family_compute("ngldm")(context_of(LEVELS, MASK), None, specs_of("ngldm"))
