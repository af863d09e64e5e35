"""Bad input to the local intensity family raises typed errors with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.local_intensity import sphere_kernel
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings


def test_empty_intensity_mask() -> None:
    morph_mask = np.ones((3, 3, 3), bool)
    empty = np.zeros_like(morph_mask)
    ctx = RoiContext(
        np.ones(morph_mask.shape),
        morph_mask,
        empty,
        (1.0, 1.0, 1.0),
        levels=np.zeros(morph_mask.shape, np.int64),
        n_levels=1,
        ivh=IvhInput(values=np.ones(1), lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    specs = [s for s in all_features() if s.family == "loc"]
    with pytest.raises(EmptyRoiError, match="local intensity features are undefined"):
        family_compute("loc")(ctx, None, specs)


@pytest.mark.parametrize("spacing", [(0.0, 1.0, 1.0), (1.0, -2.0, 1.0), (1.0, 1.0)])
def test_sphere_kernel_needs_positive_spacing(spacing) -> None:
    with pytest.raises(InputError, match="spacing must be 3 positive values"):
        sphere_kernel(spacing)
