"""Morphological features (IBSI family HCUG), computed on the morphological mask."""

from __future__ import annotations

from collections.abc import Sequence

from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext


@family("morph")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate morphological features on the ROI context."""
    return evaluate_each(ctx, specs, ctx)


@feature(name="morph.volume_voxels", ibsi="YEKZ")
def volume_voxels(ctx: RoiContext) -> float:
    """Volume by voxel counting (IBSI YEKZ), mm³.

    Notes
    -----
    .. math:: V_{voxel} = \\sum_{k=1}^{N_v} V_k

    the number of voxels of the morphological mask times the voxel volume.

    References
    ----------
    IBSI 1 manual, §3.1.2 "Volume (voxel counting)".
    """
    return float(ctx.morph_mask.sum()) * ctx.voxel_volume
