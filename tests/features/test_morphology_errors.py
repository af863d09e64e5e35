"""Bad input to the morphological family raises typed errors with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features import morphology as morph
from radiomix.features.registry import all_features, family_compute, get_feature
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings


def context(morph_mask: np.ndarray, int_mask: np.ndarray) -> RoiContext:
    return RoiContext(
        np.ones(morph_mask.shape),
        morph_mask,
        int_mask,
        (1.0, 1.0, 1.0),
        levels=int_mask.astype(np.int64),
        n_levels=1,
        ivh=IvhInput(values=np.ones(int(int_mask.sum())), lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )


def test_empty_morphological_mask() -> None:
    empty = np.zeros((3, 3, 3), bool)
    specs = [s for s in all_features() if s.family == "morph"]
    with pytest.raises(EmptyRoiError, match="morphological mask holds no voxel"):
        family_compute("morph")(context(empty, empty), None, specs)


@pytest.mark.parametrize(
    "name",
    ["morph.integrated_intensity", "morph.moran_i", "morph.centre_of_mass_shift"],
)
def test_empty_intensity_mask(name: str) -> None:
    morph_mask = np.zeros((3, 3, 3), bool)
    morph_mask[1, 1, 1] = True
    ctx = context(morph_mask, np.zeros_like(morph_mask))
    with pytest.raises(EmptyRoiError, match="intensity mask holds no voxel"):
        family_compute("morph")(ctx, None, [get_feature(name)])


def test_mesh_needs_a_3d_mask() -> None:
    with pytest.raises(InputError, match=r"3D \(Z, Y, X\) mask, got ndim=2"):
        morph.roi_mesh(np.ones((3, 3), bool), spacing=(1.0, 1.0, 1.0))


def test_mesh_of_an_empty_mask() -> None:
    with pytest.raises(EmptyRoiError, match="no mesh can be drawn"):
        morph.roi_mesh(np.zeros((2, 2, 2), bool), spacing=(1.0, 1.0, 1.0))
