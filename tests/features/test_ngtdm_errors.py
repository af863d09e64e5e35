"""NGTDM (IBSI IPET): bad input raises a typed error with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from test_glszm_analytic import context_of, specs_of

from radiomix.errors import EmptyRoiError, InputError, SettingsError
from radiomix.features.aggregation import Aggregation
from radiomix.features.ngtdm import ngtdm_matrices
from radiomix.features.registry import family_compute

LEVELS = np.array([[[1, 2, 1], [2, 1, 2]]])
MASK = LEVELS > 0


@pytest.mark.parametrize("bad", [0, 2.0, None])
def test_distance_must_be_a_positive_integer(bad) -> None:
    with pytest.raises(SettingsError, match="ngtdm distance must be an integer >= 1"):
        ngtdm_matrices(LEVELS, MASK, aggregation=Aggregation.D3, distance=bad)


def test_empty_mask() -> None:
    with pytest.raises(EmptyRoiError, match="NGTDM: the mask holds no voxel"):
        ngtdm_matrices(LEVELS, np.zeros_like(MASK), aggregation=Aggregation.D2)


def test_negative_levels_inside_the_mask() -> None:
    with pytest.raises(InputError, match="NGTDM: grey levels inside the mask must be >= 1"):
        ngtdm_matrices(-LEVELS, MASK, aggregation=Aggregation.D2)


def test_directional_aggregation_is_refused() -> None:
    with pytest.raises(SettingsError, match="NGTDM aggregation must be one of"):
        ngtdm_matrices(LEVELS, MASK, aggregation=Aggregation.SLICE_MERGED_2D)


def test_family_needs_an_aggregation() -> None:
    with pytest.raises(SettingsError, match="NGTDM features need an aggregation method"):
        family_compute("ngtdm")(context_of(LEVELS, MASK), None, specs_of("ngtdm"))
