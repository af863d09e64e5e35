"""Intensity-based statistical features (IBSI family UHIW), over the intensity mask."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext


@family("stat")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate statistical features on the intensities of the intensity mask."""
    return evaluate_each(ctx, specs, ctx.intensities)


@feature(name="stat.mean", ibsi="Q4LE")
def mean(x: np.ndarray) -> float:
    """Mean intensity (IBSI Q4LE).

    Notes
    -----
    .. math:: F_{stat.mean} = \\frac{1}{N_v} \\sum_{k=1}^{N_v} X_{gl,k}

    References
    ----------
    IBSI 1 manual, §3.3.1 "Mean".
    """
    return float(np.mean(x))
