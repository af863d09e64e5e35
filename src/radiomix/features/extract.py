"""Feature extraction over a ROI context: settings -> ordered ``{column: value}``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from radiomix.features.aggregation import Aggregation, default_aggregations
from radiomix.features.registry import (
    FamilyCompute,
    aggregation_columns,
    aggregation_features,
    all_features,
    family_compute,
)
from radiomix.roi import RoiContext, bounding_box
from radiomix.settings.steps import ExtractionSettings


def selected_aggregations(settings: ExtractionSettings) -> tuple[Aggregation, ...]:
    """Aggregation methods to compute for these settings."""
    tokens = settings.features.aggregations
    if tokens is None:
        return default_aggregations(settings.dimensionality)
    return tuple(Aggregation.from_token(t) for t in tokens)


def compute_features(
    ctx: RoiContext,
    settings: ExtractionSettings,
    *,
    tag: str = "image",
    filter_name: str = "original",
) -> dict[str, float]:
    """Compute every selected feature of one ROI.

    Parameters
    ----------
    ctx : RoiContext
        The processed ROI.
    settings : ExtractionSettings
        Families and aggregations to compute (``settings.features``).
    tag : str
        Image tag, the first part of every column name (``ct``, ``pet``, ``image``).
    filter_name : str
        Filter part of the column names (``original`` for the unfiltered image).

    Returns
    -------
    dict
        ``{column: value}`` with columns ``<tag>.<filter>.<family>.<feature>[.<aggr>]``,
        in registry order.
    """
    if not isinstance(ctx, RoiContext):
        from radiomix.errors import UsageError

        hint = (" (process_case returns a ProcessedCase: pass its .context)"
                if hasattr(ctx, "context") else "")
        raise UsageError(f"compute_features needs the RoiContext of a processed case; got "
                         f"{type(ctx).__name__}{hint}")
    aggregations = selected_aggregations(settings)
    out: dict[str, float] = {}
    for fam in settings.features.families:
        compute: FamilyCompute | None = None
        for agg in (None, *aggregations):
            specs = aggregation_features(fam, agg)
            if not specs:
                continue
            compute = compute or family_compute(fam)
            values = compute(ctx, agg, specs)
            names = aggregation_columns(fam, agg, tag=tag, filter_name=filter_name)
            for spec, name in zip(specs, names, strict=True):
                out[name] = values[spec.name]
    if filter_name == "original":
        ctx.notes.update(degenerate_roi_notes(ctx, settings.features.families))
        unread = settings.unread_values()
        if unread:
            ctx.notes["settings"] = (
                f"{', '.join(unread)} set, but no computed family or step reads "
                f"{'them' if len(unread) > 1 else 'it'}: recorded in these settings (and "
                "their hash), changing no value")
    unexplained = unexplained_nan(ctx.notes, aggregations, out, tag=tag,
                                  filter_name=filter_name)
    if unexplained:
        key = "undefined" if filter_name == "original" else f"undefined.{filter_name}"
        ctx.notes[key] = unexplained
    return out


def unexplained_nan(notes: dict[str, str], aggregations: Sequence[Aggregation],
                    out: dict[str, float], *, tag: str, filter_name: str) -> str | None:
    """A note naming the features that came out NaN with no other note saying why.

    IBSI leaves a feature undefined where its formula divides by zero or reads an empty
    set (no neighbouring voxel pair for a GLCM direction, no voxel with a neighbour for the
    NGTDM, no intensity between the 10th and 90th percentiles for the robust mean absolute
    deviation, ...); a NaN must not pass for a missing value without a word. A note is
    taken to explain a feature when its key is the feature (``glcm.joint_maximum.3d_merged``),
    a prefix of it, its family where the family's note says which values are NaN
    (:data:`NAN_NOTE_FAMILIES`), ``texture`` for a texture family (one grey level), or the
    response map's; the ``morph`` note on a slab one voxel thick names no NaN.
    """
    # a sum is NaN when a value is (or two infinities of opposite signs meet: the names
    # below are then empty), at a fraction of the cost of a test of each value
    if f"response_maps.{filter_name}" in notes or not math.isnan(sum(out.values())):
        return None
    names = []
    for s in all_features():
        for agg in (aggregations if s.aggregations else (None,)):
            if agg is not None and agg not in s.aggregations:
                continue
            column = s.column(tag=tag, filter_name=filter_name, aggregation=agg)
            value = out.get(column)
            if value is None or not math.isnan(value):
                continue
            ident = s.name if agg is None else f"{s.name}.{agg.token}"
            if any(ident == k or ("." in k and ident.startswith(k + "."))
                   or (k == s.family and k in NAN_NOTE_FAMILIES)
                   or (k == "texture" and s.family in TEXTURE_FAMILIES) for k in notes):
                continue
            names.append(ident)
    if not names:
        return None
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return (f"{len(names)} feature(s) are NaN because this ROI does not define them (their "
            "formulas find no neighbouring voxel pair, no voxel with a neighbour, no "
            f"intensity spread or a zero denominator here): {shown}")


NAN_NOTE_FAMILIES = frozenset({"ivh"})
"""Families whose family-level note says which of their values are NaN and why."""

TEXTURE_FAMILIES = ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
"""Families whose features are computed from the discretised grey levels' arrangement."""


def degenerate_roi_notes(ctx: RoiContext, families: Sequence[str]) -> dict[str, str]:
    """Provenance notes for a ROI whose features are defined but describe little.

    - One grey level in the intensity mask after discretisation (a constant ROI, or a bin
      width wider than the ROI's range): the texture matrices have one row and column, so
      their features take the values IBSI defines for a uniform region (0, 1 or NaN).
    - A morphological mask one voxel thick along an axis (a single slice), after
      interpolation or on the image's stored grid (:attr:`RoiContext.stored_extent`): the
      surface mesh (IBSI 3.1) encloses a slab one voxel thick, so the volume, area and shape
      features describe the voxel grid rather than the lesion.
    - Fewer than :data:`FEW_VOXELS` interpolated voxels of a ROI that had at least as many
      on its stored grid (a coarse spacing).
    - Re-segmentation that kept less than :data:`RESEGMENTED_SHARE` of the ROI's voxels
      (IBSI 2.5): intensity and texture features describe that part only, shape features
      the whole ROI (a range in other units than the image's, a lesion mostly outside it).

    Parameters
    ----------
    ctx : RoiContext
        The processed ROI.
    families : sequence of str
        Families computed; a note is given only where its families are among them.

    Returns
    -------
    dict
        ``{"texture": ..., "morph": ..., "morph.voxels": ..., "intensity": ...}``, each
        present only when it applies.
    """
    notes: dict[str, str] = {}
    roi, kept_int = int(np.count_nonzero(ctx.morph_mask)), int(np.count_nonzero(ctx.int_mask))
    if roi and kept_int < RESEGMENTED_SHARE * roi:
        notes["intensity"] = (
            f"re-segmentation kept {kept_int} of the ROI's {roi} voxels "
            f"({100.0 * kept_int / roi:.1f} %): intensity and texture features describe those "
            "voxels only, shape features the whole ROI; check the re-segmentation range "
            "against the image's values and units"
        )
    levels = ctx.grey_levels
    textures = any(f in families for f in TEXTURE_FAMILIES)
    if textures and levels.size and levels.min() == levels.max():
        notes["texture"] = (
            "the ROI holds one grey level after discretisation (constant intensities, or a bin "
            "width wider than their range): texture features take the values of a uniform "
            "region (0, 1 or NaN), not a measure of its texture"
        )
    if "morph" in families and roi:
        extent = [b.stop - b.start for b in bounding_box(ctx.morph_mask)]
        processed = [name for axis, name in enumerate("zyx") if extent[axis] == 1]
        on_image = [name for axis, name in enumerate("zyx")
                    if ctx.stored_extent is not None and ctx.stored_extent[axis] == 1]
        if processed or on_image:
            if not on_image or on_image == processed:
                where = f"along {' and '.join(processed)}"
            elif not processed:
                where = f"along {' and '.join(on_image)} on the image's grid"
            else:
                where = (f"along {' and '.join(on_image)} on the image's grid and along "
                         f"{' and '.join(processed)} after processing")
            notes["morph"] = (
                f"the ROI is one voxel thick {where}: its surface mesh encloses a slab one "
                "voxel thick, so volume, area and shape features describe the voxel grid "
                "rather than the lesion's shape"
            )
        stored = ctx.stored_voxels
        if stored is not None and roi < FEW_VOXELS <= stored:
            notes["morph.voxels"] = (
                f"interpolation left {roi} voxel(s) of the ROI's {stored}: its shape and "
                "volume are those of a few voxels of the new grid; use a finer spacing"
            )
    return notes


RESEGMENTED_SHARE = 0.5
"""Share of the ROI's voxels below which a re-segmentation's intensity mask is noted: a
range that drops most of the lesion changes what its intensity features describe."""

FEW_VOXELS = 27
"""Interpolated ROI voxels (3 x 3 x 3) below which shape features describe the grid: noted
when the ROI had at least as many on its stored grid."""

