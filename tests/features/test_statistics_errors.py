"""Bad input to the statistics family raises typed errors with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError
from radiomix.features.registry import all_features, family_compute
from radiomix.features.statistics import SampleSummary
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings


def test_empty_sample() -> None:
    with pytest.raises(EmptyRoiError, match="intensity mask holds no voxel"):
        SampleSummary.of(np.array([]))


def test_empty_intensity_mask() -> None:
    morph_mask = np.ones((2, 2, 2), bool)
    ctx = RoiContext(
        np.ones(morph_mask.shape),
        morph_mask,
        np.zeros_like(morph_mask),
        (1.0, 1.0, 1.0),
        levels=np.zeros(morph_mask.shape, np.int64),
        n_levels=1,
        ivh=IvhInput(values=np.ones(1), lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    specs = [s for s in all_features() if s.family == "stat"]
    with pytest.raises(EmptyRoiError, match="after re-segmentation"):
        family_compute("stat")(ctx, None, specs)
