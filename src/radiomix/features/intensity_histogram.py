"""Intensity histogram features (IBSI family ZVCW), over the discretised intensities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext


@family("ih")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate intensity-histogram features on the discretised grey levels."""
    return evaluate_each(ctx, specs, ctx.grey_levels)


@feature(name="ih.maximum", ibsi="3NCY")
def maximum(levels: np.ndarray) -> float:
    """Maximum discretised intensity (IBSI 3NCY).

    Notes
    -----
    .. math:: F_{ih.max} = \\max(X_{d})

    References
    ----------
    IBSI 1 manual, §3.4.11 "Maximum discretised intensity".
    """
    return float(np.max(levels))
