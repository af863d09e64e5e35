"""Bad IVH input raises typed errors with clear messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.ivh import IntensityVolumeHistogram
from radiomix.roi import IvhInput


def make(values, lower=0.0, upper=10.0, step=1.0) -> IntensityVolumeHistogram:
    return IntensityVolumeHistogram.of(
        IvhInput(values=np.asarray(values, float), lower=lower, upper=upper, step=step)
    )


def test_empty() -> None:
    with pytest.raises(EmptyRoiError, match="IVH features are undefined"):
        make([])


def test_range_bounds_in_order() -> None:
    with pytest.raises(InputError, match=r"lower <= upper, got \[5.0, 1.0\]"):
        make([1, 2], lower=5.0, upper=1.0)


@pytest.mark.parametrize("step", [0.0, -1.0, math.inf])
def test_positive_step(step: float) -> None:
    with pytest.raises(InputError, match="discretisation interval must be > 0"):
        make([1, 2], step=step)


def test_finite_values() -> None:
    with pytest.raises(InputError, match="NaN or infinite"):
        make([1.0, math.nan])
