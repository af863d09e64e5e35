"""Feature extraction over a ROI context: settings -> ordered ``{column: value}``."""

from __future__ import annotations

from radiomix.features.aggregation import Aggregation, default_aggregations
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import RoiContext
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
    specs = all_features()
    for fam in settings.features.families:
        fam_specs = [s for s in specs if s.family == fam]
        if not fam_specs:
            continue
        compute = family_compute(fam)
        plain = [s for s in fam_specs if not s.aggregations]
        if plain:
            values = compute(ctx, None, plain)
            for s in plain:
                out[s.column(tag=tag, filter_name=filter_name, aggregation=None)] = values[s.name]
        for agg in aggregations:
            agg_specs = [s for s in fam_specs if agg in s.aggregations]
            if not agg_specs:
                continue
            values = compute(ctx, agg, agg_specs)
            for s in agg_specs:
                out[s.column(tag=tag, filter_name=filter_name, aggregation=agg)] = values[s.name]
    return out
