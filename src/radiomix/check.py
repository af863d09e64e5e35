"""Checks at the boundary: image against mask, label selection, ROI size, intensities.

Everything a user can get wrong about one case is checked here once, before processing;
each problem raises a typed error from :mod:`radiomix.errors` whose message gives the values
found, the values expected and the fix. Nothing is resampled or recoded silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from radiomix.errors import (
    AmbiguousLabelError,
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    InvalidIntensityError,
    LabelNotFoundError,
    RoiTooSmallError,
)
from radiomix.io.integrity import count_non_finite
from radiomix.io.volume import Volume, as_sitk, as_volume

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import SimpleITK as sitk

MAX_LABELS = 1000
"""More distinct non-zero values than this: the 'mask' is an image, not a label mask."""

GEOMETRY_TOLERANCE = 1e-3
"""Default tolerance: relative for spacing, in voxels for origin, absolute for direction."""


@dataclass(frozen=True, slots=True)
class CheckedCase:
    """An image with a binary ROI mask on the same grid, ready for processing.

    Attributes
    ----------
    image : Volume
        Scalar image in its stored pixel type (integer or float; processing converts the
        part around the ROI to float64, :func:`radiomix.process.pipeline.process_case`).
    mask : Volume
        uint8 mask with values 0/1 on the image grid.
    case_id : str or None
        Manifest identifier used in messages.
    n_voxels : int
        Number of ROI voxels.
    notes : tuple of (key, text)
        What the mask's reader noted about it (:data:`MASK_NOTE_KEY`), for the case's
        provenance notes.
    no_data : (low, high) or None
        Image values that are no measurement (pixel padding a DICOM series declares,
        :data:`PADDING_KEY`; a CT's fill below air, :func:`check_ct_values`): none lies in
        the ROI, and processing refuses them where it reads around the ROI
        (:func:`radiomix.process.pipeline.process_case`).
    other_lesions : (Z, Y, X) ndarray of bool or None
        The voxels of the mask's other labels when one label of several was selected (one
        lesion per label): no peritumoral ring includes them.
    sha256 : tuple of (Path, str)
        SHA-256 (hex) of the files read whose bytes were hashed as they were read (NIfTI
        files, :func:`radiomix.io.integrity.read_nifti`): their
        :func:`radiomix.table.file_hash`, without reading them again.
    """

    image: Volume
    mask: Volume
    case_id: str | None
    n_voxels: int
    notes: tuple[tuple[str, str], ...] = ()
    no_data: tuple[float, float] | None = None
    other_lesions: np.ndarray | None = None
    sha256: tuple[tuple[Path, str], ...] = ()


def _prefix(case_id: str | None) -> str:
    return f"[{case_id}] " if case_id else ""


def geometry_differences(
    image: Volume | sitk.Image,
    mask: Volume | sitk.Image,
    *,
    tolerance: float = GEOMETRY_TOLERANCE,
) -> list[str]:
    """Differences between the voxel grids of image and mask, one line each.

    Spacing is compared relatively, origin in units of the image spacing, direction
    cosines absolutely, all within ``tolerance``; sizes must be equal.
    """
    diffs = []
    dims = [x.array.ndim if isinstance(x, Volume) else x.GetDimension() for x in (image, mask)]
    if dims[0] != dims[1]:
        return [f"dimension: image {dims[0]}D, mask {dims[1]}D"]
    image, mask = as_volume(image), as_volume(mask)
    if image.size != mask.size:
        diffs.append(f"size (x, y, z): image {image.size}, mask {mask.size}")
    # on Python floats: numpy calls on 3 to 9 values cost more than the comparisons
    si, sm = [float(v) for v in image.spacing], [float(v) for v in mask.spacing]
    if any(abs(a - b) > tolerance * a for a, b in zip(si, sm, strict=True)):
        diffs.append(f"spacing (mm): image {_fmt(si)}, mask {_fmt(sm)}")
    oi, om = [float(v) for v in image.origin], [float(v) for v in mask.origin]
    if any(abs(a - b) > tolerance * s for a, b, s in zip(oi, om, si, strict=True)):
        diffs.append(f"origin (mm): image {_fmt(oi)}, mask {_fmt(om)}")
    di, dm = [float(v) for v in image.direction], [float(v) for v in mask.direction]
    if any(abs(a - b) > tolerance for a, b in zip(di, dm, strict=True)):
        diffs.append(f"direction: image {_fmt(di)}, mask {_fmt(dm)}")
    return diffs


def _fmt(a: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in a) + ")"


def resample_mask_to_image(mask: Volume | sitk.Image, image: Volume | sitk.Image, *,
                           whole: bool = True) -> Volume:
    """Resample a mask onto the image grid by nearest neighbour (only on request).

    With ``whole`` (an ROI), every non-zero voxel of the mask must lie inside the image; an
    organ mask that only clips a ring (``whole=False``) may extend beyond it.

    Raises
    ------
    GeometryMismatchError
        Voxels of the mask's ROI (its non-zero voxels) lie outside the image: resampling
        would cut the ROI without a word.
    """
    import SimpleITK as sitk

    outside = _roi_voxels_outside(as_volume(mask), as_volume(image)) if whole else None
    if outside:
        raise GeometryMismatchError(
            f"{outside[0]:,} of the mask's {outside[1]:,} ROI voxels lie outside the image; "
            "resampling onto the image grid would cut the ROI: pass the whole image the mask "
            "was drawn on"
        )

    moving = as_sitk(mask)
    return Volume.from_sitk(
        sitk.Resample(
            moving, as_sitk(image), sitk.Transform(), sitk.sitkNearestNeighbor, 0,
            moving.GetPixelID(),
        )
    )  # fmt: skip


def _roi_voxels_outside(mask: Volume, image: Volume) -> tuple[int, int] | None:
    """(outside, total) ROI voxel centres of ``mask`` outside ``image``'s grid, or None."""
    idx = np.argwhere(np.asarray(mask.array) != 0)[:, ::-1].astype(np.float64)  # (x, y, z)
    if idx.size == 0:
        return None
    dm = np.asarray(mask.direction, dtype=np.float64).reshape(3, 3)
    di = np.asarray(image.direction, dtype=np.float64).reshape(3, 3)
    world = (idx * np.asarray(mask.spacing)) @ dm.T + np.asarray(mask.origin)
    cont = ((world - np.asarray(image.origin)) @ di) / np.asarray(image.spacing)
    size = np.asarray(image.array.shape[::-1], dtype=np.float64)
    out = int(np.count_nonzero(np.any((cont < -0.5) | (cont > size - 0.5), axis=1)))
    return (out, len(idx)) if out else None


def unplaced_grid_error(
    unplaced: str, diffs: Sequence[str], case_id: str | None
) -> GeometryMismatchError:
    """The error of a grid difference where ``unplaced`` (words naming a file, ``"the
    mask file m.nii.gz"``) has a NIfTI header without orientation: its voxels have no
    scanner position, so neither the grids nor a resampling can be trusted."""
    return GeometryMismatchError(
        f"{_prefix(case_id)}{unplaced} has no orientation in its NIfTI header (qform_code "
        "and sform_code 0), so its voxels have no position in the scanner and cannot be "
        f"matched to the other grid ({'; '.join(diffs)}); resampling cannot place them. "
        "Fix: write the file again with the header of the image it was drawn on (its qform "
        "and sform; e.g. nibabel.Nifti1Image(voxels, image.affine, image.header)), or "
        "export it again from the tool that made it"
    )


_LABEL_ELSEWHERE = "(label= in Python; the label column of a manifest)"
"""Where else than ``radiomix extract --label`` a label is chosen, said beside it."""


def select_label(
    values: np.ndarray, *, label: int | None, case_id: str | None = None,
    name: str | None = None, choose: str | None = None,
) -> np.ndarray:
    """Binary ROI from a label array.

    Parameters
    ----------
    values : ndarray
        Mask voxel values.
    label : int or None
        Label to select. Without it the mask must hold only 0 and 1.
    case_id : str, optional
        Manifest identifier put in front of every message.
    name : str, optional
        The mask file's name, given in every message (``"the mask m.nii.gz"``).
    choose : str, optional
        The option that chooses the label, named in the messages (default ``--label``, for
        the tumour mask; the settings' ``preprocess.organ_label`` for an organ mask).

    Raises
    ------
    LabelNotFoundError
        ``label`` does not occur in the mask.
    AmbiguousLabelError
        No label given and the mask is 0/255 coded or holds several labels.
    InputError
        Non-integer mask values (fractional masks must be thresholded explicitly).
    """
    the = f"the mask {name}" if name else "the mask"
    if values.dtype.kind not in "biuf":  # complex, RGB (structured), text: no label values
        raise InputError(
            f"{_prefix(case_id)}{the} holds {values.dtype} voxels; a label mask needs "
            "integer (or whole float) voxels: export the segmentation again as integer labels"
        )
    integer = values.dtype.kind in "biu"
    if not integer:
        finite = np.isfinite(values)
        if not finite.all():
            raise InputError(
                f"{_prefix(case_id)}{the} holds {int((~finite).sum()):,} NaN or infinite "
                "values, which are no label: fill them with 0 (background) or a label value, "
                "or export the segmentation again"
            )
        fraction = values != np.round(values)
        if fraction.any():
            example = float(values[fraction].flat[0])
            raise InputError(
                f"{_prefix(case_id)}{the} holds {int(fraction.sum()):,} non-integer values "
                f"(e.g. {_shortest_distinct(example)}): it is a fractional (probability or "
                "partial-volume) mask; threshold it explicitly (e.g. at 0.5, or DICOM SEG "
                "fraction_threshold) before extraction"
            )
    labels = _labels_present(values, integer=integer)
    if len(labels) > MAX_LABELS:
        raise AmbiguousLabelError(
            f"{_prefix(case_id)}{the} holds {len(labels):,} distinct non-zero values "
            f"{_listing(labels)}: it looks like an image, not a label mask; check that the "
            "mask argument (or manifest column) names the segmentation file"
        )
    if label is not None:
        if label not in labels:
            raise LabelNotFoundError(
                f"{_prefix(case_id)}label {label} not found in {the}; labels present: "
                f"{_listing(labels) if labels else 'none (mask is empty)'}"
            )
        return values == label
    if labels == [255]:
        raise AmbiguousLabelError(
            f"{_prefix(case_id)}{the} is coded 0/255; "
            + (f"pass --label 255 {_LABEL_ELSEWHERE}" if choose is None
               else f"choose label 255 with {choose}") + " to use it as the ROI"
        )
    if len(labels) > 1:
        raise AmbiguousLabelError(
            f"{_prefix(case_id)}{the} holds several labels {_listing(labels)}; choose one with "
            f"{choose or '--label ' + _LABEL_ELSEWHERE}"
        )
    if labels and labels != [1]:
        raise AmbiguousLabelError(
            f"{_prefix(case_id)}{the} holds only label {labels[0]} (no voxel of label 1); "
            + (f"pass --label {labels[0]} {_LABEL_ELSEWHERE}" if choose is None
               else f"choose label {labels[0]} with {choose}") + " to use it as the ROI"
        )
    return values == 1 if labels else np.zeros(values.shape, dtype=bool)


def _listing(labels: list[int], limit: int = 10) -> str:
    """At most ``limit`` labels, then how many more: messages stay one short line."""
    shown = ", ".join(str(v) for v in labels[:limit])
    more = f", ... {len(labels) - limit} more" if len(labels) > limit else ""
    return f"[{shown}{more}]"


def _shortest_distinct(value: float) -> str:
    """``value`` with the fewest significant digits (6 or more) that tell it from the
    nearest integer (1.000000000001, not 1).

    Examples
    --------
    >>> _shortest_distinct(0.5), _shortest_distinct(1 + 1e-12)
    ('0.5', '1.000000000001')
    """
    for digits in range(6, 18):
        text = f"{value:.{digits}g}"
        if float(text) != round(value):
            return text
    return repr(value)


def _labels_present(values: np.ndarray, *, integer: bool) -> list[int]:
    """Sorted non-zero values of an integer-valued label array.

    A 0/1 mask (the common case) is recognised from its minimum and maximum without the
    sort or hash of :func:`numpy.unique`.
    """
    if values.size == 0:
        return []
    if integer or values.dtype.kind == "f":
        hi = values.max()
        # (unsigned and boolean values need no minimum: none is below 0)
        if hi <= 1 and (values.dtype.kind in "bu" or values.min() >= 0):
            return [1] if hi == 1 else []
    return [int(v) for v in np.unique(values) if v != 0]


def check_case(
    image: Volume | sitk.Image,
    mask: Volume | sitk.Image,
    *,
    label: int | None = None,
    resample_mask: bool = False,
    min_voxels: int = 1,
    tolerance: float = GEOMETRY_TOLERANCE,
    case_id: str | None = None,
    empty_roi: str | None = None,
    unplaced: str | None = None,
    mask_name: str | None = None,
    value_range: tuple[float, float] | None = None,
) -> CheckedCase:
    """Validate an image and its mask; return the binary ROI on the image grid.

    Parameters
    ----------
    image, mask : Volume or SimpleITK.Image
        The image and its mask (label image).
    label : int, optional
        Mask label forming the ROI (required for 0/255 and multi-label masks).
    resample_mask : bool
        Resample the mask to the image grid (nearest neighbour) when the grids differ.
        Without it a difference is an error.
    min_voxels : int
        Smallest accepted number of ROI voxels.
    tolerance : float
        Geometry tolerance (see :func:`geometry_differences`).
    case_id : str, optional
        Manifest identifier, put in front of every message.
    empty_roi : str, optional
        The message of an empty ROI when the caller can say more (which file, which label
        or segment selected nothing; :func:`radiomix.case.load_case`).
    unplaced : str, optional
        The file(s) whose header gives the voxels no position (a NIfTI header without
        orientation, :func:`radiomix.io.image.nifti_without_orientation`), as words such as
        ``"the mask file m.nii.gz"``. When the grids differ this is an error even with
        ``resample_mask``: resampling would put the ROI at an arbitrary place.
    mask_name : str, optional
        The mask file's name, given in the label messages (:func:`select_label`).
    value_range : (float, float), optional
        The minimum and maximum of ``image``'s voxels, when its reader found them
        (:func:`radiomix.io.integrity.read_nifti`): not computed again.

    Raises
    ------
    GeometryMismatchError
        Grids differ; the message lists every difference and the fix.
    LabelNotFoundError, AmbiguousLabelError, InputError
        Label problems (see :func:`select_label`).
    EmptyRoiError, RoiTooSmallError
        The ROI is empty or smaller than ``min_voxels``.
    InvalidIntensityError
        NaN or infinite image values.

    Examples
    --------
    >>> import SimpleITK as sitk, numpy as np
    >>> img = sitk.GetImageFromArray(np.zeros((3, 4, 5)))
    >>> msk = sitk.GetImageFromArray(np.zeros((3, 4, 6), dtype=np.uint8))
    >>> check_case(img, msk)
    Traceback (most recent call last):
    ...
    radiomix.errors.GeometryMismatchError: image and mask grids differ: size (x, y, z): ...
    """
    if not isinstance(image, Volume):
        if image.GetDimension() != 3:
            raise InputError(f"{_prefix(case_id)}image must be 3D, got {image.GetDimension()}D")
        if image.GetNumberOfComponentsPerPixel() != 1:
            raise InputError(
                f"{_prefix(case_id)}the image has {image.GetNumberOfComponentsPerPixel()} "
                "components per voxel; a scalar image is needed"
            )
    note = reader_note(mask, MASK_NOTE_KEY)
    notes: tuple[tuple[str, str], ...] = (("mask", note),) if note else ()
    diffs = geometry_differences(image, mask, tolerance=tolerance)
    if diffs and unplaced:
        raise unplaced_grid_error(unplaced, diffs, case_id)
    if diffs:
        if not resample_mask:
            why = "; ".join(note for note in (reader_note(image, GRID_NOTE_KEY),
                                              reader_note(mask, GRID_NOTE_KEY)) if note)
            raise GeometryMismatchError(
                f"{_prefix(case_id)}{f'{why}; ' if why else ''}image and mask grids differ: "
                f"{'; '.join(diffs)}. Fix: "
                "resample the mask to the image grid by nearest neighbour (--resample-mask in "
                "radiomix extract, roi: {resample_mask: true} for the tag in a study file, "
                "resample_mask=True in Python), or supply a mask on the image grid."
            )
        mask = resample_mask_to_image(mask, image)
    image, mask = as_volume(image), as_volume(mask)
    roi = select_label(np.asarray(mask.array), label=label, case_id=case_id, name=mask_name)
    # the slices holding the ROI (a contiguous slab: the ROI's voxels in the same order)
    planes = np.flatnonzero(roi.any(axis=(1, 2)))
    slab = slice(int(planes[0]), int(planes[-1]) + 1) if planes.size else slice(0, 0)
    n = int(np.count_nonzero(roi[slab]))
    if n == 0:
        raise EmptyRoiError(
            empty_roi or f"{_prefix(case_id)}the ROI is empty (no mask voxel selected)")
    if n < min_voxels:
        raise RoiTooSmallError(
            f"{_prefix(case_id)}the ROI has {n} voxels, fewer than the minimum {min_voxels}"
        )
    voxels = image.array
    if voxels.dtype.kind not in "biuf":
        raise InputError(
            f"{_prefix(case_id)}the image holds {voxels.dtype} voxels; a real-valued (integer "
            "or float) image is needed"
        )
    # one minimum and one maximum prove the voxels all finite and below the no-data
    # magnitude (NaN propagates through both; an infinity or a huge value is an extreme)
    finite_range = True  # 64-bit integers can hold no-data magnitudes too (-2**63)
    if voxels.size and (voxels.dtype.kind == "f" or voxels.dtype.itemsize == 8):
        lo, hi = value_range or (float(voxels.min()), float(voxels.max()))
        finite_range = math.isfinite(lo) and math.isfinite(hi) and max(-lo, hi) < NO_DATA_MAGNITUDE
    if not finite_range and count_non_finite(voxels):
        bad = ~np.isfinite(voxels)
        raise InvalidIntensityError(
            f"{_prefix(case_id)}the image holds {int(bad.sum())} NaN/infinite values "
            f"({int(bad[roi].sum())} inside the ROI); fill or crop them before extraction"
        )
    # the ROI's voxels on its first slice: where they hold more than LABEL_MAP_VALUES
    # values, the ROI is not constant and the image neither a mask nor a label map
    # (:func:`_refuse_mask_as_image` passes it), and the whole ROI is read only for a
    # declared pixel padding
    head = voxels[slab.start][roi[slab.start]]
    inside = None if not _few_values(head) else voxels[slab][roi[slab]]
    constant = inside is not None and bool(inside.min() == inside.max())
    if inside is not None:
        _refuse_mask_as_image(voxels, np.asarray(mask.array), inside, constant, case_id)
    if n > 1 and constant and inside is not None:  # (constant: inside was read)
        notes += (("roi", (
            f"the ROI's {n} voxels all hold {inside[0].item():g} on the image's grid: its "
            "intensity spread and texture are nil, or come from interpolating its edge")),)
    if not finite_range:
        # anywhere: interpolation, filters and image-wide normalisation read beyond the ROI
        huge = (voxels >= NO_DATA_MAGNITUDE) | (voxels <= -NO_DATA_MAGNITUDE)
        if huge.any():
            raise InvalidIntensityError(
                f"{_prefix(case_id)}the image holds {int(huge.sum())} voxels of magnitude "
                f"{NO_DATA_MAGNITUDE:g} or more ({int(huge[roi].sum())} inside the ROI), which "
                "no scanner measures: a no-data value (1e20, the float32 maximum 3.4e38) or "
                "damaged data; fill or crop them before extraction"
            )
    no_data = _declared_padding(image)
    if no_data is not None:
        refuse_no_data_in_roi(voxels[slab][roi[slab]] if inside is None else inside, no_data,
                              n, case_id, "the series' pixel padding (PixelPaddingValue)")
    # the image keeps its stored pixel type: no float64 copy of the whole volume here; the
    # ROI is a fresh boolean array, read as 0/1 bytes without a copy
    out = Volume.like(roi.view(np.uint8), image)
    labels = np.asarray(mask.array)
    others = None
    if label is not None and labels.dtype.kind in "biuf":
        rest = (labels != 0) & ~roi
        others = rest if rest.any() else None
    return CheckedCase(image=image, mask=out, case_id=case_id, n_voxels=n, notes=notes,
                       no_data=no_data, other_lesions=others)


def _declared_padding(image: Volume) -> tuple[float, float] | None:
    """The (low, high) values of the pixel padding the DICOM reader found
    (:data:`PADDING_KEY`), or ``None``."""
    note = reader_note(image, PADDING_KEY)
    if note is None:
        return None
    low, high = (float(v) for v in note.split())
    return (low, high)


def refuse_no_data_in_roi(inside: np.ndarray, no_data: tuple[float, float], n: int,
                          case_id: str | None, what: str) -> None:
    """Refuse ROI voxels (``inside``, ``n`` of them) holding a no-data value.

    Raises
    ------
    InputError
        Naming how many, the value and the fix.
    """
    low, high = no_data
    hit = int(np.count_nonzero((inside >= low) & (inside <= high)))
    if hit:
        value = (f", {low:g}" if low == high else "" if math.isinf(low)
                 else f", {low:g} to {high:g}")
        raise InputError(
            f"{_prefix(case_id)}{hit} of the ROI's {n} voxels hold {what}{value}: not tissue "
            "(no data: outside the scanner's reconstructed field of view, or no measurement); "
            "draw the ROI on measured voxels only, or leave the case out"
        )


def _refuse_mask_as_image(voxels: np.ndarray, labels: np.ndarray, inside: np.ndarray,
                          constant: bool, case_id: str | None) -> None:
    """Refuse an image that is a mask: the mask's own values, the mask rescaled or
    relabelled (constant on each of the mask's labels), or another binary label map (two
    values in all). Its features would be those of a constant ROI, with the true volume
    beside them.

    ``inside`` holds the image's ROI voxels (``constant``: all equal); only an image
    constant there is examined in full, and another one through a sample of its ROI
    (:func:`_refuse_label_map`), so a real image costs little. A real image constant on its
    ROI (a ROI of one or two voxels) varies outside it, and holds more than two values."""
    if inside.size == 0 or inside.size == voxels.size:
        return  # a ROI over the whole image (IBSI 2's two-valued phantoms) has no mask shape
    if not constant:
        _refuse_label_map(voxels, inside, case_id)
        return
    if voxels.min() == voxels.max():
        return  # a constant image is no mask (its ROI gets a note: notes.roi)
    if voxels.shape == labels.shape and np.array_equal(voxels, labels):
        raise InputError(
            f"{_prefix(case_id)}the image's voxels are the mask's values, voxel for voxel: the "
            "mask was given as the image; give the image file as the image"
        )
    fix = "give the image file as the image"
    if voxels.shape == labels.shape and _constant_on_labels(voxels, labels):
        raise InputError(
            f"{_prefix(case_id)}the image is constant on each of the mask's labels (the "
            f"ROI's voxels all hold {inside[0].item():g}): it is the mask rescaled or "
            f"relabelled, not an image; {fix}"
        )
    values = np.unique(voxels)
    if values.size <= 2:
        shown = " and ".join(f"{v.item():g}" for v in values)
        raise InputError(
            f"{_prefix(case_id)}the image holds only the values {shown}, one of them over the "
            f"whole ROI: it is a mask or label map, not an image; {fix}"
        )


def _refuse_label_map(voxels: np.ndarray, inside: np.ndarray, case_id: str | None) -> None:
    """Refuse an image of at most :data:`LABEL_MAP_VALUES` distinct values, wherever the ROI
    lies on them (a label map, or another structure's mask, misregistered against this
    one): no CT, PET or MR holds so few. A sample of the ROI's voxels decides whether the
    whole image is counted, so a real image costs one strided read (and mostly a look at
    its first values: distinct ones there are distinct in the sample)."""
    if not _few_values(inside):
        return
    values = np.unique(voxels)
    if values.size <= LABEL_MAP_VALUES:
        shown = ", ".join(f"{v.item():g}" for v in values)
        raise InputError(
            f"{_prefix(case_id)}the image holds only the values {shown} in all its voxels: it "
            "is a mask or label map, not an image; give the image file as the image"
        )


def _few_values(values: np.ndarray) -> bool:
    """Whether a strided sample of ``values`` (4096 at most) holds at most
    :data:`LABEL_MAP_VALUES` distinct values; mostly decided by its first 64 (distinct ones
    there are distinct in the sample). False says for sure that ``values`` hold more."""
    sample = values[:: max(1, values.size // 4096)]
    return not (len(set(sample[:64].tolist())) > LABEL_MAP_VALUES
                or np.unique(sample).size > LABEL_MAP_VALUES)


LABEL_MAP_VALUES = 3
"""Most distinct values of an image refused as a label map when its ROI is part of it (no
scanner image holds so few; the IBSI 1 digital phantom holds 5; IBSI 2's phantoms, with
two values, have a ROI over the whole image)."""


def _constant_on_labels(voxels: np.ndarray, labels: np.ndarray) -> bool:
    """Whether ``voxels`` take one value on each set of equal ``labels`` (the image a
    function of the label map)."""
    _, index = np.unique(labels.ravel(), return_inverse=True)
    values = voxels.ravel()
    low = np.full(int(index.max()) + 1, np.inf)
    high = np.full_like(low, -np.inf)
    np.minimum.at(low, index, values)
    np.maximum.at(high, index, values)
    return bool(np.array_equal(low, high))


NO_DATA_MAGNITUDE = 1e15
"""Intensities this large are no measurement (activity in Bq/ml and MR signal stay below
1e9): a no-data value written into the image (1e20, the float32 maximum 3.4e38) or damaged
bytes; refused anywhere in the image, as NaN is."""


SUV_KEY = "radiomix_suv"
"""Metadata key under which the DICOM reader says a PET series' values are SUV (``SUV
(Units GML)``, or converted from ``BQML``): their ROI median is then checked against the
SUV range (:func:`check_pt_values`) as a refusal, not a note."""

GRID_NOTE_KEY = "radiomix_grid_note"
"""Metadata key of an image's or a mask's own account of why the two grids may differ (a
DICOM SEG whose frames lie between the image's voxels; a NIfTI file whose qform and sform
disagree), led with in the grid-mismatch message."""

PADDING_KEY = "radiomix_padding"
"""Metadata key under which the DICOM reader gives the smallest and largest value of the
voxels its series marks as pixel padding (``PixelPaddingValue``, up to
``PixelPaddingRangeLimit``), after rescaling: no data (outside a CT's reconstructed field
of view), refused in the ROI (:func:`check_case`) and where processing reads around it."""

MASK_NOTE_KEY = "radiomix_note_mask"
"""Metadata key under which a mask reader leaves a note on the SimpleITK mask it returns
(an RTSTRUCT ROI with slices left without contour), carried into the case's provenance."""


def reader_note(mask: Volume | sitk.Image, key: str) -> str | None:
    """The note a mask reader left under metadata ``key`` (:data:`MASK_NOTE_KEY`, the
    provenance note; :data:`GRID_NOTE_KEY`, why a SEG is off the image grid), on the
    SimpleITK image itself or the one a :class:`Volume` views."""
    image = mask._image if isinstance(mask, Volume) else mask
    if image is None or not image.HasMetaDataKey(key):
        return None
    return str(image.GetMetaData(key))


CT_ROI_MEDIAN_HU = (-1024.0, 3071.0)
"""Range a CT tumour ROI's median can take in Hounsfield units: air (-1000, stored down to
-1024) to the top of the 12-bit CT scale (3071, dense bone); a median outside it is not HU
(a voxel type or byte order misread, a missing rescale)."""


def check_ct_values(case: CheckedCase) -> CheckedCase:
    """Refuse a case declared CT whose voxels cannot be Hounsfield units; return it with
    its fill value below air as no data.

    A NIfTI, MetaImage or NRRD header that relabels int16 voxels as uint16 (or flips their
    byte order) keeps the data length, so no reader can tell; the values tell: a CT image
    holds values within a signed 16-bit store (the DICOM reader's rule,
    :data:`radiomix.io.dicom.CT_HU_RANGE`), and the median of a tumour ROI lies within
    :data:`CT_ROI_MEDIAN_HU` (soft tissue is -100 to 100 HU; uint16-relabelled CT puts it
    near 65 000 - 1 000, byte-swapped int16 in the thousands).

    A CT's fill outside the reconstructed field of view is one exact value below air
    (:data:`BELOW_AIR_HU`; -3024 or -2048 HU), the image's minimum, held by at least
    :data:`FILL_MIN_VOXELS` voxels: ROI voxels holding it are refused (the tumour reaches
    beyond the field of view), and the returned case carries it as ``no_data``, which
    processing refuses where it reads around the ROI.

    Returns
    -------
    CheckedCase
        ``case``, with ``no_data`` set to the fill value when there is one (and none was
        declared).

    Raises
    ------
    InputError
        Values outside either range, with the values and the likely causes; ROI voxels
        holding the fill.
    """
    from radiomix.io.dicom import CT_HU_RANGE

    arr = case.image.array
    low, high = float(arr.min()), float(arr.max())
    where = f"{_prefix(case.case_id)}the image, declared CT (modality: CT),"
    if (arr.dtype.kind in "biu" and arr.dtype.itemsize == 1) or (low >= 0 and high <= 255):
        raise InputError(
            f"{where} holds values from {low:g} to {high:g} ({arr.dtype}), 8-bit values with "
            "nothing below 0 HU where air and fat lie: an export for display (a window mapped "
            "to 0-255), not Hounsfield units; give the CT in HU (the DICOM series, or a 16-bit "
            "export)"
        )
    causes = ("its voxel type is misread (a header that says unsigned for signed data, or the "
              "wrong byte order) or its rescale slope/intercept were not applied: convert it to "
              "HU, or correct the modality of the tag")
    if low < CT_HU_RANGE[0] or high > CT_HU_RANGE[1]:
        raise InputError(
            f"{where} holds values from {low:.6g} to {high:.6g}, beyond what a CT holds "
            f"({CT_HU_RANGE[0]} to {CT_HU_RANGE[1]} HU): {causes}"
        )
    median = float(np.median(arr[case.mask.array > 0]))
    if not CT_ROI_MEDIAN_HU[0] <= median <= CT_ROI_MEDIAN_HU[1]:
        raise InputError(
            f"{where} has a median of {median:.6g} in the ROI, outside the Hounsfield scale "
            f"of tissue ({CT_ROI_MEDIAN_HU[0]:g} to {CT_ROI_MEDIAN_HU[1]:g} HU): {causes}"
        )
    if low >= 0 and median >= CT_OFFSET_MEDIAN_HU:
        raise InputError(
            f"{where} has no value below 0 and a median of {median:.6g} in the ROI: air and "
            "fat lie below 0 HU and soft tissue near 0 to 100, so these look like stored "
            "values without the rescale intercept (usually -1024); convert it to HU (or, if "
            "its values are right, leave its modality undeclared)"
        )
    if high - low < CT_MIN_SPAN_HU:
        raise InputError(
            f"{where} spans only {low:.6g} to {high:.6g}, less than {CT_MIN_SPAN_HU:g} HU "
            "(image noise alone spans more): its values are not Hounsfield units (kHU, or a "
            "normalised image); convert it to HU, or correct the modality of the tag"
        )
    if median < SHIFTED_MEDIAN_HU and low <= SHIFTED_AIR_HU[1] and _shifted_air(arr):
        raise InputError(
            f"{where} has a median of {median:.6g} in the ROI and a spread peak of voxels "
            f"between {SHIFTED_AIR_HU[0]:g} and {SHIFTED_AIR_HU[1]:g} HU: air (-1000 HU) and "
            "soft tissue moved down by about 1024, the rescale intercept applied twice (HU "
            "values stored with RescaleIntercept -1024 kept); convert it to HU (or, if its "
            "values are right, leave its modality undeclared)"
        )
    if low <= SCALED_AIR_HU[1] and _scaled_air(arr):
        raise InputError(
            f"{where} has a spread peak of voxels between {SCALED_AIR_HU[0]:g} and "
            f"{SCALED_AIR_HU[1]:g} HU and fewer from -1100 to -900 HU: air (-1000 HU) lies "
            "near -2000, so its values are scaled (a rescale slope applied twice, or HU "
            "multiplied by 2); convert it to HU (or, if its values are right, leave its "
            "modality undeclared)"
        )
    if high >= FLIPPED_AIR_HU[0] and _flipped_air(arr):
        raise InputError(
            f"{where} has a peak of voxels between {FLIPPED_AIR_HU[0]:g} and "
            f"{FLIPPED_AIR_HU[1]:g} HU with almost none above it and fewer below -900 HU: air "
            "(-1000 HU) with its sign flipped, not bone (a negative rescale slope, an "
            "inverted image); convert it to HU (or, if its values are right, leave its "
            "modality undeclared)"
        )
    if low < BELOW_AIR_HU:
        spread = _spread_in(arr, (float(low), BELOW_AIR_HU))
        if spread >= BELOW_AIR_SHARE * arr.size:
            raise InputError(
                f"{where} has {spread / arr.size:.1%} of its voxels spread from {low:.6g} to "
                f"{BELOW_AIR_HU:g} HU, below air (-1000 HU), where no tissue lies (a fill "
                "outside the field of view is one exact value): its rescale slope or "
                "intercept is wrong; convert it to HU (or, if its values are right, leave its "
                "modality undeclared)"
            )
        inside = arr[case.mask.array > 0]
        fill = int(np.count_nonzero(arr == low)) >= FILL_MIN_VOXELS
        if fill:
            refuse_no_data_in_roi(inside, (low, low), case.n_voxels, case.case_id,
                                  "the CT's fill value below air")
        refuse_no_data_in_roi(inside, (-math.inf, CT_FLOOR_HU), case.n_voxels, case.case_id,
                              f"values of {CT_FLOOR_HU:g} HU or below, which no tissue or air "
                              "takes (a fill, or the dark streak of a metal artefact)")
        if case.no_data is None and (fill or low <= CT_FLOOR_HU):
            # the fill (the image's minimum) and whatever lies at the floor or below: no
            # data where interpolation, the local peak or a filter reads around the ROI
            return replace(case, no_data=(-math.inf, max(low, CT_FLOOR_HU) if fill
                                          else CT_FLOOR_HU))
    return case


def _flipped_air(arr: np.ndarray) -> bool:
    """Whether a CT looks sign-flipped: air (-1000 HU, with noise down from -900) turns
    into a peak of at least :data:`FLIPPED_AIR_SHARE` of the voxels in
    :data:`FLIPPED_AIR_HU` with almost nothing above it (under 5 % as many voxels from 1050
    to 1200 HU), and fewer voxels below -900 HU than in the peak. Bone, the only tissue that
    high, spreads from 900 HU to 2000 HU and more, and a real CT with that much air holds it
    below -900. HU clipped at a maximum (some deep-learning preprocessing) pile bone on
    that value, which flipped air does not: an image with 60 % of the peak on its maximum
    is not flagged. Checked on the 51 sarcoma CTs: no real one flagged, clipped at 1000 or
    not; every flipped one with more than 1 % air caught."""
    low, high = FLIPPED_AIR_HU
    band = int(np.count_nonzero((arr >= low) & (arr <= high)))
    if band < FLIPPED_AIR_SHARE * arr.size:
        return False
    beyond = int(np.count_nonzero((arr > high) & (arr <= high + (high - low))))
    below = int(np.count_nonzero(arr <= -low))
    if not (beyond < 0.05 * band and below < band):
        return False
    # HU clipped at a maximum piles bone on that one value (80 to 95 % of the peak in the
    # cohort's CTs clipped at 1000); flipped air spreads (at most 41 % on its top value)
    top = int(np.count_nonzero(arr == arr.max()))
    return top < 0.6 * band


def _spread_in(arr: np.ndarray, band: tuple[float, float]) -> int:
    """Voxels of ``arr`` within ``band`` (inclusive) once its most frequent value there is
    left out: what a real CT stores below air is a fill outside its field of view, one
    exact value (-2000, -2048), never a spread peak. 0 when the band holds fewer than
    :data:`FLIPPED_AIR_SHARE` of the voxels (not counted further)."""
    low, high = band
    values = arr[(arr >= low) & (arr <= high)]
    if values.size < FLIPPED_AIR_SHARE * arr.size:
        return 0
    _, counts = np.unique(values, return_counts=True)
    return values.size - int(counts.max())


def _shifted_air(arr: np.ndarray) -> bool:
    """Whether a CT holds air moved down by its rescale intercept a second time: at least
    :data:`FLIPPED_AIR_SHARE` of its voxels spread in :data:`SHIFTED_AIR_HU` (-2024 HU,
    with air's noise; :func:`_spread_in`)."""
    return _spread_in(arr, SHIFTED_AIR_HU) >= FLIPPED_AIR_SHARE * arr.size


def _scaled_air(arr: np.ndarray) -> bool:
    """Whether a CT holds air scaled by 2: at least :data:`FLIPPED_AIR_SHARE` of its voxels
    spread in :data:`SCALED_AIR_HU` (:func:`_spread_in`; air clipped at -1000 and doubled
    piles on one value, left out), and fewer voxels where air lies in HU (-1100 to -900).
    Checked on the 51 sarcoma CTs: none flagged (under 0.1 % of any image in the band);
    every doubled copy with 1 % of its voxels there caught (the band outweighs -1100 to
    -900 HU in each)."""
    spread = _spread_in(arr, SCALED_AIR_HU)
    if spread < FLIPPED_AIR_SHARE * arr.size:
        return False
    return int(np.count_nonzero((arr >= -1100.0) & (arr <= -900.0))) < spread


BELOW_AIR_HU = -1150.0
"""HU below which a CT holds nothing measured: air is -1000 with noise of tens of HU, and
what a scanner stores lower is a fill, one exact value. A spread of at least
:data:`BELOW_AIR_SHARE` of the voxels there is air (or tissue) moved by a wrong rescale
(air at -3000 from a slope of 2 and an intercept of -1000)."""

CT_FLOOR_HU = -2000.0
"""HU at and below which a CT's ROI voxel is no measurement, however few: air is -1000 with
noise of tens of HU; a scanner's fill outside the field of view (-3024, -2048) or a metal
artefact's dark streak lies there."""

FILL_MIN_VOXELS = 100
"""Voxels of one exact value below :data:`BELOW_AIR_HU` that make it a CT's fill (outside
the reconstructed field of view, thousands of voxels): noise in air reaches that low in
single voxels of differing values."""

BELOW_AIR_SHARE = 0.05
"""Share of a CT's voxels spread below :data:`BELOW_AIR_HU` that is refused: more than the
blurred rim between a fill and air that resampling leaves at the edge of the field of view
(a rim 2 voxels wide around a 512 x 512 field is about 1.2 % of the voxels)."""

SCALED_AIR_HU = (-2150.0, -1850.0)
"""Where air (-1000 HU, with its noise up to -925) lies in a CT whose values were doubled."""

SHIFTED_AIR_HU = (-2150.0, -1900.0)
"""Where air (-1000 HU and its noise) lies in a CT whose rescale intercept of -1024 was
applied twice."""

SHIFTED_MEDIAN_HU = -900.0
"""ROI median below which a CT is checked for doubly shifted air: soft tissue moved down by
1024 HU lies near -1000; a tumour (ground glass included, about -600) lies above."""

CT_OFFSET_MEDIAN_HU = 700.0
"""A CT with no value below 0 whose ROI median is at least this (soft tissue plus the
usual intercept of 1024) is taken for stored values without their rescale intercept."""

CT_MIN_SPAN_HU = 20.0
"""Smallest span (maximum minus minimum) of a CT image in HU: noise alone spans more, so a
smaller one is an image in other units (kHU: -1 to 3) or normalised."""

FLIPPED_AIR_HU = (900.0, 1050.0)
"""Where air (-1000 HU, and its noise up to -900) lies in a CT whose sign is flipped (a
rescale slope of -1)."""

FLIPPED_AIR_SHARE = 0.01
"""Smallest share of an image's voxels in :data:`FLIPPED_AIR_HU` taken for flipped air
(the cropped CTs of the sarcoma cohort hold 1 to 40 % air)."""


def check_pt_values(case: CheckedCase) -> str | None:
    """Refuse a case declared PT whose voxels cannot be activity concentration or SUV;
    say when they are activity concentration.

    Activity and SUV are not negative beyond reconstruction noise, which is symmetric about
    a non-negative mean: at most about half the voxels of an empty region fall below 0, so
    an image with more than :data:`PT_NEGATIVE_SHARE` of its voxels below 0, or a tumour ROI
    whose median is below 0, had an offset subtracted or a wrong rescale intercept.

    A ROI median above :data:`SUV_MEDIAN_MAX` is no SUV: the image holds activity
    concentration (Bq/ml). A DICOM series read as SUV (:data:`SUV_KEY`) is then refused
    (its Units contradict its values). Other images' features are valid in those units, but
    depend on the injected activity, the patient's weight and the time of the scan, so they
    do not compare between
    patients as SUV features do; the returned note says so (radiomix converts a DICOM PET
    series to SUV itself; a NIfTI carries no units).

    Returns
    -------
    str or None
        The provenance note on activity units, None for values that can be SUV.

    Raises
    ------
    InputError
        Naming the share or the median, and the fix.
    """
    arr = case.image.array
    where = f"{_prefix(case.case_id)}the image, declared PT (modality: PT),"
    fix = ("activity and SUV are not negative beyond noise: an offset was subtracted or the "
           "rescale intercept is wrong; correct the image, or the modality of the tag")
    negative = int(np.count_nonzero(arr < 0))
    if negative > PT_NEGATIVE_SHARE * arr.size:
        raise InputError(f"{where} has {negative / arr.size:.0%} of its voxels below 0: {fix}")
    median = float(np.median(arr[case.mask.array > 0]))
    if median < 0:
        raise InputError(f"{where} has a median of {median:.6g} in the ROI: {fix}")
    claimed = reader_note(case.image, SUV_KEY)
    if median > SUV_MEDIAN_MAX and claimed:
        raise InputError(
            f"{_prefix(case.case_id)}the PET series, read as {claimed}, has a median of "
            f"{median:.4g} in "
            f"the ROI, above any SUV ({SUV_MEDIAN_MAX:g}): its values are activity "
            "concentration, not what its Units says (BQML with values already multiplied, or "
            "GML over Bq/ml values); correct Units or the values"
        )
    top = float(arr.max())
    if top < SUV_TOP_MIN:
        return (f"the PT image's maximum is {top:.4g}, below any SUV of tissue or tracer "
                f"({SUV_TOP_MIN:g}): its values are in other units (MBq/ml) or scaled, and its "
                "features do not compare with SUV features; convert it to SUV to compare "
                "patients")
    if median > SUV_MEDIAN_MAX:
        return (f"the PT image's ROI median is {median:.4g}, above any SUV "
                f"({SUV_MEDIAN_MAX:g}): its values are activity concentration (Bq/ml), and "
                "its features depend on the injected activity, weight and scan time; convert "
                "it to SUV (or give the DICOM series) to compare patients")
    return None


SUV_TOP_MIN = 0.05
"""Image maximum below which a PET image is not in SUV (tissue takes up SUV 0.5 or more, and
the tracer's sites far more): the DICOM reader's floor (``SUV_MAX_FLOOR``) for a NIfTI."""

SUV_MEDIAN_MAX = 100.0
"""ROI median above which a PET image is not in SUV: a tumour's SUV rarely exceeds 30 at its
maximum (the 51 sarcoma PETs: ROI medians 0.6 to 13, maxima up to 30), while activity
concentration after a usual injection is thousands of Bq/ml."""


PT_NEGATIVE_SHARE = 0.75
"""Share of a PET image's voxels below 0 that noise about a non-negative activity cannot
give (about half at most, in an empty region)."""
