"""Extraction of one case: load → (register) → check → process → features, with provenance.

Optional inputs beyond the image and its mask:

- a **reference image** (:class:`Reference`): the image is first registered onto it
  (rigid or affine, Mattes mutual information; :mod:`radiomix.process.registration`) and
  analysed on the reference grid; the mask is either drawn on the reference (the common
  multi-phase case: one segmentation on the reference phase) or on the image itself, then
  carried along by the same transform (nearest neighbour). The QC of the registration
  (metric before and after, iterations, stop condition, transform) is in the provenance.
- an **organ mask** clipping the peritumoral ring (``preprocess.ring_clip: organ``).
- a **standard scale** (landmarks file) for Nyúl–Udupa histogram standardisation
  (``preprocess.normalise: nyul``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from radiomix._threads import single_blas_thread
from radiomix.case import check_organ_mask, load_case
from radiomix.check import (
    CheckedCase,
    check_case,
    check_ct_values,
    check_pt_values,
    geometry_differences,
    resample_mask_to_image,
    select_label,
    unplaced_grid_error,
)
from radiomix.errors import GeometryMismatchError, InputError, SettingsError, UsageError
from radiomix.features.extract import compute_features, selected_aggregations
from radiomix.io.image import (
    is_dicom_object,
    load_image,
    nifti_without_orientation,
    read_mask,
)
from radiomix.process.normalise import StandardScale, check_scale_fits, load_standard_scale
from radiomix.process.pipeline import process_case
from radiomix.roi import RoiContext
from radiomix.settings import (
    ExtractionSettings,
    FilterSettings,
    load_preset,
    settings_hash,
    settings_to_dict,
)
from radiomix.settings.steps import PreprocessSettings, RegistrationSettings
from radiomix.table import DEEP_PACKAGES, VERSIONED_PACKAGES, file_hash, package_versions

if TYPE_CHECKING:
    import SimpleITK as sitk

    from radiomix.deep import DeepSettings
    from radiomix.io.volume import Volume

log = logging.getLogger(__name__)

DEGENERATE_NOTES = ("roi", "texture", "morph", "morph.voxels", "intensity")
"""Provenance notes of a ROI whose features are defined but say little (a constant ROI, one
grey level, one voxel thick, a few voxels left by interpolation, most voxels dropped by
re-segmentation), also logged as warnings."""


@dataclass(frozen=True, slots=True)
class CaseResult:
    """Features of one case and the provenance of their computation.

    Attributes
    ----------
    features : dict
        ``{column: value}``, columns ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``.
    provenance : dict
        Settings, settings hash, software versions, input hashes, notes.
    deep_slices : DataFrame or None
        The slice embeddings behind the lesion's deep columns when the deep mode is
        ``slices`` (one row per ROI slice: ``slice_index``, ``<tag>.deep.<model>_slices.fNNN``),
        for slice-level analyses such as the leakage audit; ``None`` otherwise.
    """

    features: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    deep_slices: Any = None

    def row(self, **ids: Any) -> dict[str, Any]:
        """One table row: the ids, then the features, then the settings hash and version."""
        return {
            **ids,
            **self.features,
            "settings_hash": self.provenance["settings_hash"],
            "radiomix_version": self.provenance["versions"]["radiomix"],
        }


@dataclass(frozen=True, slots=True)
class Reference:
    """Reference image that the case's image is registered onto before extraction.

    Attributes
    ----------
    image : str or Path
        The reference image (e.g. the arterial phase, or the T1 sequence).
    settings : RegistrationSettings
        Transform model and optimiser parameters.
    tag : str
        Image tag of the reference, for messages and provenance.
    mask_on : {"image", "reference"}
        Grid of the case's mask: ``reference`` when the mask was drawn on the reference
        image (it is used as it is), ``image`` when it was drawn on the image being
        registered (it is moved onto the reference grid with the found transform, nearest
        neighbour). An organ mask (ring clipping) is always on the reference grid.
    """

    image: str | Path
    settings: RegistrationSettings = field(default_factory=RegistrationSettings)
    tag: str = "reference"
    mask_on: Literal["image", "reference"] = "reference"

    def __post_init__(self) -> None:
        if self.mask_on not in ("image", "reference"):
            raise SettingsError(
                f"Reference.mask_on must be 'image' or 'reference', got {self.mask_on!r}"
            )


def check_flag(name: str, value: object) -> None:
    """Refuse a yes/no option given as anything but a bool: ``resample_mask="no"`` is a true
    string and would resample the mask, the opposite of what was asked."""
    if not isinstance(value, bool | np.bool_):
        raise UsageError(f"{name} must be True or False; got {type(value).__name__} {value!r}")


def resolve_settings(
    settings: ExtractionSettings | str | Path | Mapping[str, Any] | None,
) -> ExtractionSettings:
    """Settings from an object, a preset name (``ibsi-C``), a YAML file path or a mapping
    of settings (:func:`radiomix.settings.settings_from_dict`)."""
    from radiomix.settings import PRESETS, load_settings_file, settings_from_dict

    if settings is None:
        return ExtractionSettings()
    if isinstance(settings, ExtractionSettings):
        return settings
    if isinstance(settings, Mapping):
        return settings_from_dict(dict(settings))
    if not isinstance(settings, str | os.PathLike):
        raise SettingsError(
            f"settings must be a preset name (e.g. 'ibsi-C'), a YAML file path, a mapping or "
            f"an ExtractionSettings; got {type(settings).__name__} {settings!r}"
        )
    if str(settings) in PRESETS:
        return load_preset(str(settings))
    return load_settings_file(settings)


def _series_modality(image: str | Path) -> str | None:
    """The Modality a DICOM series folder states (its first image file's), or ``None`` for
    any other input."""
    from radiomix.io.image import _modality

    folder = Path(image)
    if not isinstance(image, str | Path) or not folder.is_dir():
        return None
    return next((m for f in sorted(folder.iterdir()) if f.is_file()
                 if (m := _modality(f)) not in (None, "", "RTSTRUCT", "SEG")), None)


def _image_modality(image: str | Path, modality: str | None) -> str | None:
    """The image's modality: the one declared, or else the one a DICOM series states (the
    value checks of CT and PET then run on a series as on a declared tag).

    Raises
    ------
    UsageError
        ``modality`` differs from the Modality of the series' first DICOM file.
    """
    stated = _series_modality(image)
    if modality is not None and stated is not None and stated != modality:
        raise UsageError(
            f"the modality given is {modality}, and the DICOM series {Path(image).name} says "
            f"{stated}: drop the modality (a DICOM series declares its own) or give the "
            f"{modality} series"
        )
    return modality if modality is not None else stated


@single_blas_thread
def extract(
    image: str | Path,
    mask: str | Path,
    *,
    settings: ExtractionSettings | str | Path | Mapping[str, Any] | None = None,
    label: int | None = None,
    roi_name: str | None = None,
    resample_mask: bool = False,
    tag: str = "image",
    case_id: str | None = None,
    deep: DeepSettings | None = None,
    organ_mask: str | Path | None = None,
    reference: Reference | None = None,
    standard_scale: StandardScale | None = None,
    modality: str | None = None,
    other_lesions: Sequence[OtherLesion] = (),
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
    organ_mask : path, optional
        Organ mask (label image, RTSTRUCT or SEG; ``settings.preprocess.organ_label``
        selects the label) clipping the peritumoral ring when
        ``settings.preprocess.ring_clip`` is ``organ``; required then, refused otherwise
        (:func:`radiomix.case.check_organ_mask`).
        It must be on the image grid unless ``resample_mask`` is set.
    reference : Reference, optional
        Register the image onto this reference first and analyse it on the reference grid.
    standard_scale : StandardScale, optional
        Standard scale of ``settings.preprocess.normalise="nyul"``; by default it is read
        from ``settings.preprocess.nyul_landmarks`` (relative to the working directory).
    modality : str, optional
        DICOM modality the image is declared to be (a study tag's ``modality``, one of
        :data:`radiomix.settings.study.IMAGE_MODALITIES`): ``CT`` refuses an image whose
        values cannot be Hounsfield units (:func:`radiomix.check.check_ct_values`), ``PT``
        one whose values cannot be activity or SUV (:func:`radiomix.check.check_pt_values`).
        A DICOM series states its own: without ``modality``, its Modality runs these checks.
    other_lesions : sequence of OtherLesion
        The patient's other lesions segmented on this image in masks of their own (a
        cohort's other manifest rows): a peritumoral ring (``preprocess.roi: ring``) leaves
        out their voxels, as it leaves out the mask's other labels. Each must be on the
        image grid unless ``resample_mask`` is set; ignored for other ROIs and for a
        registered image.

    Returns
    -------
    CaseResult
        Features and provenance (``registration`` QC, ``standardisation`` and the hashes
        of every input file).

    Raises
    ------
    InputError
        Any problem of the case (its subclasses name it): unreadable input, geometry
        mismatch, empty ROI, failed registration, ROI outside the registered image's field
        of view, missing organ mask.

    Notes
    -----
    BLAS and OpenMP run with one thread inside the call (:mod:`radiomix._threads`): the
    values do not depend on the machine's core count, and idle BLAS threads do not spin
    on the other cores; the caller's limits are restored on return.

    Examples
    --------
    >>> result = extract("image.nii.gz", "mask.nii.gz", settings="ibsi-C")  # doctest: +SKIP
    >>> result.features["image.original.morph.volume_voxels"]  # doctest: +SKIP
    """
    from radiomix.settings.study import check_modality, check_tag

    check_flag("resample_mask", resample_mask)
    modality = _image_modality(image, check_modality(modality))
    s = resolve_settings(settings)
    pre = s.preprocess
    check_tag(tag)
    check_organ_mask(organ_mask, pre)  # an organ mask the settings would ignore is refused
    scale = None
    if pre.normalise == "nyul":
        assert pre.nyul_landmarks is not None  # enforced by PreprocessSettings
        scale = standard_scale
        if scale is None:  # a cohort passes the scale it loaded and checked
            scale = load_standard_scale(pre.nyul_landmarks)
            check_scale_fits(scale, tag=tag, name=Path(pre.nyul_landmarks).name,
                             bias_field=pre.bias_field,
                             smoothing_sigma_mm=pre.smoothing_sigma_mm, modality=modality,
                             compare_tag=False)
    registration = None
    if reference is None:
        checked = load_case(
            image, mask, label=label, roi_name=roi_name, resample_mask=resample_mask,
            case_id=case_id,
        )
    else:
        checked, registration = _registered_case(
            load_image(image), mask, reference, label, roi_name, resample_mask, s, case_id, tag
        )
    others = other_lesions if pre.roi == "ring" and reference is None else ()
    if others:
        checked = replace(checked, other_lesions=_other_lesions_array(
            others, checked, resample_mask, case_id))
    units = None
    if modality == "CT":
        checked = check_ct_values(checked)
    elif modality == "PT":
        units = check_pt_values(checked)
        if units:
            log.warning("%s: %s", case_id or tag, units)
    organ = None
    if pre.ring_clip == "organ":
        if organ_mask is None:
            raise InputError(
                f"{_prefix(case_id)}preprocess.ring_clip is organ but no organ mask was given:"
                " fill the <tag>_organ column of the manifest, or pass --organ-mask"
            )
        organ = _organ_array(organ_mask, checked, pre, resample_mask, case_id)
    processed = process_case(checked, s, organ_mask=organ, scale=scale)
    processed.context.notes.update(checked.notes)
    if units:
        processed.context.notes["units"] = units
    if _per_slice(s):
        processed.context.notes["slices"] = slice_plane_note(checked.image.direction)
    embedded: dict[str, float] = {}
    deep_provenance = deep_slices = None
    if deep is not None:
        embedded, deep_provenance, deep_slices = _deep_columns(checked, deep, tag=tag)
    roi_voxels = checked.n_voxels
    read_sha256 = dict(checked.sha256)
    del checked  # the loaded arrays are not held while the features are computed
    features = compute_features(processed.context, s, tag=tag)
    for key in DEGENERATE_NOTES:  # said, not only recorded
        if key in processed.context.notes:
            log.warning("%s: %s", case_id or tag, processed.context.notes[key])
    for filt in s.response_maps.filters:
        features.update(response_map_features(processed.context, s, filt, tag=tag))
    features.update(embedded)  # the deep columns last, after the radiomic ones
    log.info("%s: %d features", case_id or tag, len(features))
    inputs = {"image_sha256": read_sha256.get(Path(image)) or file_hash(image),
              "mask_sha256": read_sha256.get(Path(mask)) or file_hash(mask)}
    if organ is not None and organ_mask is not None:
        inputs["organ_sha256"] = file_hash(organ_mask)
    for other in others:
        inputs[f"other_lesion_{other.lesion_id}_mask_sha256"] = file_hash(other.mask)
    if reference is not None:
        inputs["reference_image_sha256"] = file_hash(reference.image)
    provenance: dict[str, Any] = {
        "settings": settings_to_dict(s),
        "settings_hash": settings_hash(s),
        "versions": package_versions((*VERSIONED_PACKAGES, *DEEP_PACKAGES) if deep is not None
                                     else VERSIONED_PACKAGES),
        "inputs": inputs,
        "roi_voxels": roi_voxels,
        **({"modality": modality} if modality is not None else {}),
        "processed_spacing_mm_zyx": list(processed.spacing),
        "notes": dict(processed.context.notes),
    }
    if registration is not None:
        provenance["registration"] = registration
    if scale is not None:
        provenance["standardisation"] = {
            "method": "nyul_udupa_2000",
            "landmarks_file": pre.nyul_landmarks,
            "landmarks_sha256": scale.sha256,
            "region": scale.region,
            "n_training_images": scale.landmarks.n_images,
            "percentiles": list(scale.landmarks.percentiles),
            "standard": list(scale.landmarks.standard),
        }
    if deep_provenance is not None:
        provenance["deep"] = deep_provenance
    return CaseResult(features=features, provenance=provenance, deep_slices=deep_slices)


def _prefix(case_id: str | None) -> str:
    return f"[{case_id}] " if case_id else ""


def _registered_case(
    moving: sitk.Image,
    mask: str | Path,
    reference: Reference,
    label: int | None,
    roi_name: str | None,
    resample_mask: bool,
    s: ExtractionSettings,
    case_id: str | None,
    tag: str,
) -> tuple[CheckedCase, dict[str, Any]]:
    """Register ``moving`` onto the reference; the checked case on the reference grid and the
    registration QC record."""
    import SimpleITK as sitk

    from radiomix.process.registration import (
        moving_coverage,
        reference_coverage,
        register_with_settings,
        registration_qc,
        transform_mask,
    )

    fixed = load_image(reference.image)
    what = f"{_prefix(case_id)}registration of {tag} to {reference.tag}"
    result = register_with_settings(fixed, moving, reference.settings, what=what)
    qc = registration_qc(result)
    log.info(
        "%s: MI %.4f -> %.4f (%s)",
        what,
        result.metric_before,
        result.metric_after,
        "improved" if result.improved else "NOT improved",
    )
    if result.failed:
        stored = ("" if result.metric_stored is None
                  else f", {result.metric_stored:.4f} with the images as stored")
        raise InputError(
            f"{what} failed: Mattes MI {result.metric_after:.4f} after registration against "
            f"{result.metric_before:.4f} at its start{stored} (lower is better), so the "
            f"moved {tag} image would be misplaced; for images in one patient space (e.g. "
            "PET/CT) set registration: {initialisation: none}, or check the images' overlap"
        )
    registered = sitk.Cast(result.resampled, sitk.sitkFloat64)

    def own_case(image: sitk.Image, grid: sitk.Image) -> CheckedCase:
        return load_case(
            image, mask, label=label, roi_name=roi_name, resample_mask=resample_mask,
            case_id=case_id, grid=grid,
        )

    if reference.mask_on == "reference":
        checked = own_case(registered, fixed)
    else:
        own = own_case(moving, moving)
        own_roi = own.mask.array > 0
        # a view reads the image's buffer: the image must outlive it (held in a name)
        landing = reference_coverage(result, own.mask.to_sitk())
        lands = sitk.GetArrayViewFromImage(landing) > 0
        lost = int(np.count_nonzero(own_roi & ~lands))
        if lost:
            raise InputError(
                f"{what}: {lost} of {int(own_roi.sum())} voxels of the {tag} ROI land outside "
                f"the {reference.tag} image after registration, so the moved ROI would be cut; "
                "check the registration QC (MI "
                f"{result.metric_before:.4f} -> {result.metric_after:.4f}) and the images' "
                "overlap"
            )
        moved = transform_mask(own.mask.to_sitk(), result)
        checked = check_case(registered, moved, case_id=case_id)
    roi = checked.mask.array > 0
    coverage = moving_coverage(result, moving)  # held while its view is read
    covered = sitk.GetArrayViewFromImage(coverage) > 0
    outside = int(np.count_nonzero(roi & ~covered))
    if outside:
        raise InputError(
            f"{what}: {outside} of {int(roi.sum())} ROI voxels map outside the {tag} image "
            "after registration (too little overlap, or a failed registration); check the "
            f"images, or the registration QC (MI {result.metric_before:.4f} -> "
            f"{result.metric_after:.4f})"
        )
    qc.update(
        reference_tag=reference.tag,
        mask_on=reference.mask_on,
        settings=settings_to_dict(reference.settings),
        fraction_of_grid_covered=round(float(covered.mean()), 6),
    )
    return checked, qc


def _organ_array(
    organ_mask: str | Path,
    checked: CheckedCase,
    pre: PreprocessSettings,
    resample_mask: bool,
    case_id: str | None,
) -> np.ndarray:
    """The organ mask as a (Z, Y, X) bool array on the grid of ``checked`` (the reference
    grid of a registered case: organ masks of registered images are those of the
    reference). RTSTRUCT ROIs and SEG segments are chosen by ``pre.organ_roi_name`` (or the
    SEG segment number ``pre.organ_label``)."""
    return _mask_on_grid(
        organ_mask, checked.image, label=pre.organ_label, roi_name=pre.organ_roi_name,
        resample_mask=resample_mask, case_id=case_id, what="organ mask",
        read_hint=" (the organ's ROI is chosen by preprocess.organ_roi_name; --roi-name "
                  "chooses the tumour)",
        choose="preprocess.organ_label (a settings key; --label chooses the tumour's label)")


@dataclass(frozen=True, slots=True)
class OtherLesion:
    """Another lesion of the patient segmented on the same image (another manifest row):
    no peritumoral ring includes its voxels.

    Attributes
    ----------
    lesion_id : str
        Its manifest identifier, for messages.
    mask : str
        Its mask file (label image, RTSTRUCT or SEG).
    label, roi_name
        What selects it in that file, as for the lesion itself.
    """

    lesion_id: str
    mask: str
    label: int | None = None
    roi_name: str | None = None


def _other_lesions_array(
    others: Sequence[OtherLesion], checked: CheckedCase, resample_mask: bool,
    case_id: str | None,
) -> np.ndarray | None:
    """The union of ``others`` and the mask's other labels (``checked.other_lesions``) on
    the image grid, ``None`` when empty."""
    union = checked.other_lesions
    for other in others:
        voxels = _mask_on_grid(
            other.mask, checked.image, label=other.label, roi_name=other.roi_name,
            resample_mask=resample_mask, case_id=case_id,
            what=f"mask of lesion {other.lesion_id} of this patient",
            read_hint="", choose=None)
        union = voxels if union is None else union | voxels
    return union if union is not None and union.any() else None


def _mask_on_grid(
    path: str | Path,
    grid: Volume,
    *,
    label: int | None,
    roi_name: str | None,
    resample_mask: bool,
    case_id: str | None,
    what: str,
    read_hint: str,
    choose: str | None,
) -> np.ndarray:
    """A further mask (an organ, another lesion) as a (Z, Y, X) bool array on ``grid``:
    RTSTRUCT ROIs chosen by ``roi_name``, SEG segments and label-image labels by ``label``;
    on another grid it is an error unless ``resample_mask`` (nearest neighbour)."""
    dicom = is_dicom_object(path)
    try:
        voxels = read_mask(path, grid, roi_name=roi_name if dicom else None,
                           segment=label if dicom else None)
    except InputError as exc:
        raise type(exc)(f"{what}: {exc}{read_hint}") from exc
    diffs = geometry_differences(grid, voxels)
    if diffs and nifti_without_orientation(path):
        raise unplaced_grid_error(f"the {what} {Path(path).name}", diffs, case_id)
    if diffs:
        if not resample_mask:
            raise GeometryMismatchError(
                f"{_prefix(case_id)}the {what} is on another grid than the image: "
                f"{'; '.join(diffs)}. Fix: supply the {what} on the image grid, or set "
                "resample_mask (--resample-mask, roi.resample_mask) to resample it by "
                "nearest neighbour."
            )
        voxels = resample_mask_to_image(voxels, grid, whole=False)  # it only clips the ring
    try:
        return select_label(np.asarray(voxels.array), label=None if dicom else label,
                            case_id=case_id, name=Path(path).name, choose=choose)
    except InputError as exc:
        raise type(exc)(f"{what}: {exc}") from exc


_EMBEDDERS: dict[Any, Any] = {}
"""Networks built in this process, by settings and weight-file signature: a cohort worker
builds its ResNet once, not once per lesion (0.35 s CPU each)."""


def _weights_signature(weights: Any) -> tuple[Any, ...]:
    """What a rebuilt network could differ by: the weight file (or the weight cache folder)
    as it is on disk now (name, size, modification time)."""
    from radiomix.deep.weights import cache_dir

    path = Path(str(weights)).expanduser()
    files = [path] if path.is_file() else sorted(cache_dir().glob("*"))
    sig = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        sig.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(sig)


def _embedder(deep: DeepSettings) -> Any:
    """The embedding network of ``deep``, built once per process and weight-file state."""
    from radiomix.deep import DeepEmbedder

    key = (deep, _weights_signature(deep.weights))
    if key not in _EMBEDDERS:
        _EMBEDDERS.clear()  # one network at a time: a study has one deep setting
        _EMBEDDERS[key] = DeepEmbedder(deep)
    return _EMBEDDERS[key]


def _deep_columns(
    checked: CheckedCase, deep: DeepSettings, *, tag: str
) -> tuple[dict[str, float], dict[str, Any], Any]:
    """Lesion-level deep-feature columns of a checked case, their provenance, and the slice
    rows they summarise (``None`` unless the mode is ``slices``)."""
    from radiomix.deep import aggregate_slices, embed

    rows = embed(checked, embedder=_embedder(deep), tag=tag)
    provenance = dict(rows.attrs.get("radiomix.deep", {}))
    slices = None
    if deep.mode == "slices":
        slices = rows.reset_index(drop=True)
        rows = aggregate_slices(rows, by=[])
    prefix = f"{tag}.deep."
    names = [c for c in rows.columns if str(c).startswith(prefix)]
    # one row of plain floats (``rows.iloc[0][c]`` per column copied the frame's attrs,
    # the deep provenance, once per column: 10 ms a case)
    first = rows[names].to_numpy(dtype=np.float64)[0] if names else ()
    columns = {c: float(v) for c, v in zip(names, first, strict=True)}
    return columns, provenance, slices


def response_map_features(
    ctx: RoiContext, settings: ExtractionSettings, filt: FilterSettings, *, tag: str
) -> dict[str, float]:
    """Features of one filter response map over the ROI (IBSI 2 phase 2).

    The filter is applied to the processed image (after interpolation and rounding, with the
    crop margin of ``settings.response_maps``); the response is evaluated in the same
    intensity mask. For the intensity histogram and texture families the response inside
    the intensity mask is discretised by ``settings.response_maps.discretisation`` (no
    re-segmentation range applies to a response: ``fbs`` starts at its ROI minimum).
    Columns are ``<tag>.<filter tag>.<family>.<feature>[.<aggregation>]``.

    The crop margin is derived from the filter by default
    (:func:`radiomix.process.filters.margin.response_map_margin_mm`: the kernel radius, or
    the whole image for the Simoncelli wavelet and Riesz transforms). The boundary condition
    in force, the filter's reach and the ROI's distance to the border of the filtered array
    are written to ``ctx.notes["response_maps.<filter tag>"]`` (the provenance notes).
    """
    from radiomix.process.discretise import discretise
    from radiomix.process.filters import apply_filter
    from radiomix.process.filters.apply import filter_caveat
    from radiomix.settings.steps import ResegmentationSettings

    response = apply_filter(ctx.image, spacing=ctx.spacing, settings=filt)
    ctx.notes[f"response_maps.{filt.tag}"] = _response_map_note(ctx, filt)
    caveat = filter_caveat(filt, ctx.spacing)
    if caveat:  # said when the filter ran; kept with the map
        ctx.notes[f"response_maps.{filt.tag}"] += f"; {caveat}"
    nil = _nil_response(response[ctx.int_mask], ctx.image, filt)
    if nil is not None:  # rounding noise: its features would describe nothing
        ctx.notes[f"response_maps.{filt.tag}"] += f"; {nil}"
        log.warning("%s", nil)
        response = np.zeros_like(response)
    grey, n_levels = discretise(
        response[ctx.int_mask], settings.response_maps.discretisation, ResegmentationSettings(),
        key="response_maps.discretisation",
    )
    levels = np.zeros(response.shape, dtype=np.int64)
    levels[ctx.int_mask] = grey
    filtered = RoiContext(
        response,
        ctx.morph_mask,
        ctx.int_mask,
        ctx.spacing,
        levels=levels,
        n_levels=n_levels,
        ivh=ctx.ivh,
        settings=ctx.settings,
    )
    only = replace(
        settings, features=replace(settings.features, families=settings.response_maps.families)
    )
    features = compute_features(filtered, only, tag=tag, filter_name=filt.tag)
    return features if nil is None else dict.fromkeys(features, math.nan)


RESPONSE_NIL_RELATIVE = 1e-9
"""Largest magnitude of a response map in the ROI, relative to the largest magnitude of the
image it filters, below which the response is taken as zero (:func:`_nil_response`)."""


def _nil_response(inside: np.ndarray, image: np.ndarray, filt: FilterSettings) -> str | None:
    """Why a response map holds nothing but rounding noise in the ROI, ``None`` when it
    holds a response. A filter whose rotations cancel (a Laws kernel with an odd 1D factor
    averaged over rotations, an imaginary Gabor response averaged over a full turn), a
    wavelet level beyond the image's frequencies, or a high-pass filter across a single
    slice gives zero by construction; computed in floating point it is noise of about
    1e-14 of the image, which a discretisation into grey levels would spread into texture
    (and which changes with the storage order). Its features are not computed (NaN)."""
    scale = float(np.max(np.abs(image))) if image.size else 0.0
    peak = float(np.max(np.abs(inside))) if inside.size else 0.0
    if peak > RESPONSE_NIL_RELATIVE * scale or (scale == 0.0 and peak > 0.0):
        return None
    return (f"{filt.tag}: not computed: the response is zero within rounding in the ROI "
            f"(largest magnitude {peak:.3g}, the image's {scale:.3g}): this filter removes "
            "everything of this image (rotations that cancel, a level beyond the image's "
            "frequencies, a high-pass filter across one slice); its features would describe "
            "rounding noise")


def _per_slice(s: ExtractionSettings) -> bool:
    """Whether the settings compute anything per slice (2D, or 2D/2.5D aggregations)."""
    return s.dimensionality == "2d" or any(not a.is_3d for a in selected_aggregations(s))


def slice_plane_note(direction: Sequence[float]) -> str:
    """Provenance note of per-slice (2D, 2.5D) features: which anatomical plane the stored
    slices lie in.

    Slices are the image's stored slices (its third index axis, as pyradiomics'
    ``force2Ddimension: 0``), whatever their orientation: an image stored with another
    slice axis gives other 2D values. The plane is named by the patient axis (DICOM/ITK
    LPS) closest to the slice normal, the third column of ``direction`` (row-major 3 × 3,
    column j the world direction of index axis j); "oblique" when no patient axis is
    within about 25 degrees of it.

    Examples
    --------
    >>> slice_plane_note((1, 0, 0, 0, 1, 0, 0, 0, 1))[:36]
    'per-slice features on stored slices:'
    >>> "sagittal" in slice_plane_note((0, 0, 1, 1, 0, 0, 0, 1, 0))
    True
    """
    normal = np.abs(np.asarray(direction, dtype=float).reshape(3, 3)[:, 2])
    axis = int(np.argmax(normal))
    plane = ("sagittal", "coronal", "axial")[axis]
    if normal[axis] < 0.9:
        plane = f"oblique, nearest {plane}"
    return (f"per-slice features on stored slices: {plane} (the image's third index axis; "
            "an image stored with another slice axis gives other per-slice values)")


def _response_map_note(ctx: RoiContext, filt: FilterSettings) -> str:
    """Provenance note of one response map: boundary, reach, ROI distance to the array
    border (the crop border, or the image border where the crop reached it)."""
    from radiomix.process.filters.margin import support_radius_mm

    reach = support_radius_mm(filt, ctx.spacing)
    idx = np.nonzero(ctx.int_mask)
    gap = min(
        min(int(i.min()), n - 1 - int(i.max())) * float(sp)
        for i, n, sp in zip(idx, ctx.image.shape, ctx.spacing, strict=True)
    )
    reach_text = "the whole image (FFT)" if np.isinf(reach) else f"{reach:g} mm"
    axes = ("" if filt.kind in SYMMETRIC_FILTERS else
            "; computed on the stored index axes: the response can change when an axis of "
            "the image is stored reversed (see FilterSettings, Notes)")
    return (
        f"boundary {filt.boundary}; filter reach {reach_text}; ROI {gap:g} mm from the "
        f"border of the filtered array {list(ctx.image.shape)}{axes}"
    )


SYMMETRIC_FILTERS: frozenset[str] = frozenset({"mean", "gaussian", "log"})
"""Filter kinds whose response maps do not change when an axis of the stored array is
reversed (symmetric kernels, symmetric boundary conditions); the others say so in their
provenance note."""
