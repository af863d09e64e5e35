"""Extraction of one case: load → check → process → features, with provenance."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radiomix.check import CheckedCase, check_case
from radiomix.features.extract import compute_features
from radiomix.io import is_dicom_object, load_image, load_mask
from radiomix.process.pipeline import process_case
from radiomix.roi import RoiContext
from radiomix.settings import (
    ExtractionSettings,
    FilterSettings,
    load_preset,
    settings_hash,
    settings_to_dict,
)
from radiomix.table import file_hash, package_versions

if TYPE_CHECKING:
    from radiomix.deep import DeepSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """Features of one case and the provenance of their computation.

    Attributes
    ----------
    features : dict
        ``{column: value}``, columns ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``.
    provenance : dict
        Settings, settings hash, software versions, input hashes, notes.
    """

    features: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)

    def row(self, **ids: Any) -> dict[str, Any]:
        """One table row: the ids, then the features, then the settings hash and version."""
        return {
            **ids,
            **self.features,
            "settings_hash": self.provenance["settings_hash"],
            "radiomix_version": self.provenance["versions"]["radiomix"],
        }


def resolve_settings(
    settings: ExtractionSettings | str | Path | None,
) -> ExtractionSettings:
    """Settings from an object, a preset name (``ibsi-C``) or a YAML file path."""
    from radiomix.settings import PRESETS, load_settings_file

    if settings is None:
        return ExtractionSettings()
    if isinstance(settings, ExtractionSettings):
        return settings
    if str(settings) in PRESETS:
        return load_preset(str(settings))
    return load_settings_file(settings)


def extract(
    image: str | Path,
    mask: str | Path,
    *,
    settings: ExtractionSettings | str | Path | None = None,
    label: int | None = None,
    roi_name: str | None = None,
    resample_mask: bool = False,
    tag: str = "image",
    case_id: str | None = None,
    deep: DeepSettings | None = None,
) -> CaseResult:
    """Extract the radiomic features of one image and mask.

    Parameters
    ----------
    image : path
        Image file (NIfTI, NRRD, MHA) or DICOM series folder.
    mask : path
        Mask file (label image), RTSTRUCT or DICOM SEG.
    settings : ExtractionSettings, preset name or YAML path, optional
        Processing and feature settings (default: :class:`ExtractionSettings()`).
    label : int, optional
        Mask label (or SEG segment number) forming the ROI.
    roi_name : str, optional
        RTSTRUCT ROI name or SEG segment label.
    resample_mask : bool
        Resample the mask to the image grid when their geometry differs.
    tag : str
        Image tag of the column names.
    case_id : str, optional
        Identifier used in messages.
    deep : radiomix.deep.DeepSettings, optional
        Also compute CNN embeddings of the tumour (columns ``<tag>.deep.<model>_<mode>.fNNN``);
        slice embeddings (mode ``slices``) are aggregated to the lesion (mean, max and the
        slice count) so that they join the radiomic row.

    Returns
    -------
    CaseResult
        Features and provenance.

    Examples
    --------
    >>> result = extract("image.nii.gz", "mask.nii.gz", settings="ibsi-C")  # doctest: +SKIP
    >>> result.features["image.original.morph.volume_voxels"]  # doctest: +SKIP
    """
    s = resolve_settings(settings)
    img = load_image(image)
    dicom_mask = is_dicom_object(mask)  # RTSTRUCT / SEG: label picks the SEG segment
    msk = load_mask(mask, img, roi_name=roi_name, segment=label if dicom_mask else None)
    checked = check_case(
        img,
        msk,
        label=None if dicom_mask else label,
        resample_mask=resample_mask,
        min_voxels=s.crop.min_roi_voxels,
        case_id=case_id,
    )
    processed = process_case(checked, s)
    features = compute_features(processed.context, s, tag=tag)
    for filt in s.response_maps.filters:
        features.update(response_map_features(processed.context, s, filt, tag=tag))
    deep_provenance = None
    if deep is not None:
        embedded, deep_provenance = _deep_columns(checked, deep, tag=tag)
        features.update(embedded)
    log.info("%s: %d features", case_id or tag, len(features))
    provenance = {
        "settings": settings_to_dict(s),
        "settings_hash": settings_hash(s),
        "versions": package_versions(),
        "inputs": {"image_sha256": file_hash(image), "mask_sha256": file_hash(mask)},
        "roi_voxels": checked.n_voxels,
        "processed_spacing_mm_zyx": list(processed.spacing),
        "notes": dict(processed.context.notes),
    }
    if deep_provenance is not None:
        provenance["deep"] = deep_provenance
    return CaseResult(features=features, provenance=provenance)


def _deep_columns(
    checked: CheckedCase, deep: DeepSettings, *, tag: str
) -> tuple[dict[str, float], dict[str, Any]]:
    """Lesion-level deep-feature columns of a checked case and their provenance."""
    from radiomix.deep import DeepEmbedder, aggregate_slices, embed

    rows = embed(checked, embedder=DeepEmbedder(deep), tag=tag)
    provenance = dict(rows.attrs.get("radiomix.deep", {}))
    if deep.mode == "slices":
        rows = aggregate_slices(rows, by=[])
    prefix = f"{tag}.deep."
    columns = {c: float(rows.iloc[0][c]) for c in rows.columns if str(c).startswith(prefix)}
    return columns, provenance


def response_map_features(
    ctx: RoiContext, settings: ExtractionSettings, filt: FilterSettings, *, tag: str
) -> dict[str, float]:
    """Features of one filter response map over the ROI (IBSI 2 phase 2).

    The filter is applied to the processed image (after interpolation and rounding, with the
    crop margin of ``settings.response_maps``); the response is evaluated in the same
    intensity mask. Columns are ``<tag>.<filter tag>.<family>.<feature>``.
    """
    from radiomix.process.filters import apply_filter

    response = apply_filter(ctx.image, spacing=ctx.spacing, settings=filt)
    filtered = RoiContext(
        response,
        ctx.morph_mask,
        ctx.int_mask,
        ctx.spacing,
        levels=ctx.levels,
        n_levels=ctx.n_levels,
        ivh=ctx.ivh,
        settings=ctx.settings,
    )
    only = replace(
        settings, features=replace(settings.features, families=settings.response_maps.families)
    )
    return compute_features(filtered, only, tag=tag, filter_name=filt.tag)
