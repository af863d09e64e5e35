"""GLDZM (IBSI VMDZ): bad input raises a typed error with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from test_glszm_analytic import specs_of

from radiomix.errors import EmptyRoiError, InputError, SettingsError
from radiomix.features.aggregation import Aggregation
from radiomix.features.gldzm import edge_distance_map, gldzm_matrices
from radiomix.features.registry import family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

LEVELS = np.array([[[1, 2, 1], [2, 1, 2]]])
MASK = LEVELS > 0


def test_intensity_mask_must_lie_inside_the_morphological_mask() -> None:
    morph = MASK.copy()
    morph[0, 0, 0] = False
    with pytest.raises(InputError, match="1 intensity-mask voxels lie outside the morpholog"):
        gldzm_matrices(LEVELS, MASK, morph, aggregation=Aggregation.D2)


def test_same_check_through_the_context() -> None:
    morph = MASK.copy()
    morph[0, 1, 2] = False
    ctx = RoiContext(
        LEVELS.astype(float),
        morph,
        MASK,
        (1.0, 1.0, 1.0),
        levels=LEVELS,
        n_levels=2,
        ivh=IvhInput(values=np.ones(6), lower=1.0, upper=2.0, step=1.0),
        settings=FeatureSettings(),
    )
    with pytest.raises(InputError, match="must be a subset of the morphological mask"):
        family_compute("gldzm")(ctx, Aggregation.D3, specs_of("gldzm"))


def test_morphological_mask_shape_and_dtype() -> None:
    with pytest.raises(InputError, match=r"morphological mask must be boolean with shape"):
        gldzm_matrices(LEVELS, MASK, MASK.astype(int), aggregation=Aggregation.D3)
    with pytest.raises(InputError, match=r"morphological mask must be boolean with shape"):
        gldzm_matrices(LEVELS, MASK, MASK[:, :1], aggregation=Aggregation.D3)


def test_distance_map_needs_a_boolean_volume() -> None:
    with pytest.raises(InputError, match=r"\(Z, Y, X\) boolean array, got ndim 2"):
        edge_distance_map(MASK[0], planar=True)


def test_empty_intensity_mask() -> None:
    with pytest.raises(EmptyRoiError, match="GLDZM: the mask holds no voxel"):
        gldzm_matrices(LEVELS, np.zeros_like(MASK), MASK, aggregation=Aggregation.D3)


def test_directional_aggregation_is_refused() -> None:
    with pytest.raises(SettingsError, match="GLDZM aggregation must be one of 2d, 2p5d, 3d"):
        gldzm_matrices(LEVELS, MASK, MASK, aggregation=Aggregation.MERGED_2P5D)
