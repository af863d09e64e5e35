"""DICOM SEG (binary and fractional, multi-segment) read with highdicom."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import (
    DicomError,
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    LabelNotFoundError,
)
from radiomix.io.dicom import series_identity
from radiomix.io.rtstruct import warn_slice_gaps
from radiomix.text_keys import name_key


def read_seg(
    path: str | Path,
    *,
    segment: int | str | None = None,
    fraction_threshold: float = 0.5,
    reference: sitk.Image | None = None,
) -> sitk.Image:
    """Read one segment of a DICOM SEG as a mask image.

    Parameters
    ----------
    path : str or Path
        DICOM SEG file.
    segment : int or str, optional
        Segment number or segment label; may be omitted when the SEG has one segment.
    fraction_threshold : float
        For FRACTIONAL segmentations, voxels with fraction (stored value divided by the
        SEG's MaximumFractionalValue) >= threshold form the mask.
    reference : SimpleITK.Image, optional
        The image; SEG frames lying exactly on its grid are placed on the full grid.

    Returns
    -------
    mask : SimpleITK.Image
        uint8 mask (0/1) on the reference grid when the SEG lies on it, else on the SEG's
        own grid (geometry against the image is checked by :mod:`radiomix.check`).

    Raises
    ------
    LabelNotFoundError
        Segment not present (the message lists the segments) or not chosen.
    EmptyRoiError
        A FRACTIONAL segment with fractions above 0 but none reaching
        ``fraction_threshold`` (the message gives the threshold and the largest fraction).
    DicomError, GeometryMismatchError
        A damaged SEG, one of another scan, or segment voxels outside the image.

    Notes
    -----
    Slices between the segment's first and last segmented slices without a segment voxel
    (a frame missing from the SEG, or an empty one) are left empty with a logged warning
    and a note for the case's provenance (:data:`radiomix.check.MASK_NOTE_KEY`), by the
    rule of RTSTRUCT ROIs (:func:`radiomix.io.rtstruct.warn_slice_gaps`): not refused, as
    a segment in separate parts skips slices.
    """
    import highdicom as hd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"SEG file not found: {path}")
    try:
        seg = hd.seg.segread(path)
    except Exception as exc:
        raise DicomError(f"{path.name} is not a readable DICOM SEG: {exc}") from exc
    if reference is not None:
        _check_reference(seg, reference, path.name)
    segments = {int(d.SegmentNumber): str(d.SegmentLabel) for d in seg.SegmentSequence}
    listing = ", ".join(f"{n}: {label!r}" for n, label in segments.items())
    if segment is None:
        if len(segments) != 1:
            raise LabelNotFoundError(
                f"SEG {path.name} holds {len(segments)} segments ({listing}); choose one "
                "with --label (number) or --roi-name (label)"
            )
        number = next(iter(segments))
    elif isinstance(segment, (int, np.integer)):  # --label: a segment number
        number = int(segment)
        if number not in segments:
            raise LabelNotFoundError(f"segment {number} not in SEG {path.name} ({listing})")
    else:  # --roi-name: a segment label, never a number ("1" may be another segment's label)
        wanted = name_key(str(segment))
        hits = [n for n, label in segments.items() if name_key(label) == wanted]
        if not hits:
            hint = (f"; to choose segment number {segment}, pass --label {segment}"
                    if str(segment).isdigit() and int(str(segment)) in segments else "")
            raise LabelNotFoundError(
                f"no segment labelled {segment!r} in SEG {path.name} ({listing}){hint}")
        if len(hits) > 1:
            raise LabelNotFoundError(
                f"SEG {path.name} holds {len(hits)} segments labelled {segment!r} (numbers "
                f"{', '.join(map(str, hits))}): the label does not say which to use; choose "
                "one by number with --label")
        number = hits[0]
    fractional = str(seg.SegmentationType) == "FRACTIONAL"
    try:
        # highdicom decodes the frames here; a damaged file (pixel data cut short, frame
        # count or per-frame positions not matching the frames) fails with these errors
        volume = seg.get_volume(segment_numbers=[number], rescale_fractional=fractional)
        array = np.asarray(volume.array)  # (slices, rows, columns[, 1]), axes of the affine
        affine = np.asarray(volume.affine, dtype=float)  # (slice, row, column) -> LPS mm
    except (ValueError, RuntimeError, IndexError, KeyError, AttributeError) as exc:
        raise DicomError(
            f"SEG {path.name} is damaged ({_short_reason(exc)}): export it again"
        ) from exc
    if array.ndim == 4:
        array = array[..., 0]
    if fractional:
        top = float(array.max()) if array.size else 0.0
        array = array >= fraction_threshold
        if top > 0 and not array.any():
            raise EmptyRoiError(
                f"segment {number} ({segments[number]!r}) of the FRACTIONAL SEG {path.name} "
                f"has no voxel whose fraction reaches the threshold {fraction_threshold:g} (its "
                f"largest fraction is {top:.3g}), so its mask is empty: export the segmentation "
                f"with the lesion at fractions of {fraction_threshold:g} or more, or as a "
                "BINARY SEG"
            )
    # SimpleITK wants (x=column, y=row, z=slice) order.
    rot = affine[:3, :3][:, [2, 1, 0]]
    spacing = np.linalg.norm(rot, axis=0)
    direction = rot / spacing[None, :]
    image = sitk.GetImageFromArray(np.ascontiguousarray(array).astype(np.uint8))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(v) for v in affine[:3, 3]))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    placed = False  # on the image grid: its slices are the image's
    if reference is not None:
        own = image
        image = _onto_reference(image, reference, path.name)
        placed = image is not own
    # frames lost in an export (or empty) inside the segment: the RTSTRUCT rule
    zyx = sitk.GetArrayViewFromImage(image)
    gaps = warn_slice_gaps(
        np.flatnonzero(zyx.any(axis=(1, 2))), kind="SEG", name=path.name,
        what=f"segment {number} ({segments[number]!r})", noun="segment",
        without="segment voxels", marked="segmented", lost="a frame lost in an export",
        slices="image slices" if placed else "SEG slices")
    if gaps:
        from radiomix.check import MASK_NOTE_KEY

        image.SetMetaData(MASK_NOTE_KEY, gaps)
    return image


def _short_reason(exc: BaseException, limit: int = 120) -> str:
    """One line from a decoding error: its first line, cut at ``limit`` characters."""
    text = str(exc).strip().splitlines()[0].strip().rstrip(".") if str(exc).strip() else ""
    text = re.sub(r"\d+(?:\.\d+){3,}", "<UID>", text)  # never print DICOM UIDs
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_reference(seg: object, reference: sitk.Image, name: str) -> None:
    """The SEG must share the image's frame of reference and, when it lists the series it
    segments (ReferencedSeriesSequence), include the image's series. Only for images read
    from DICOM; UIDs are compared, never printed."""
    image_for, image_series = series_identity(reference)
    seg_for = str(getattr(seg, "FrameOfReferenceUID", "") or "")
    if image_for is not None and seg_for and seg_for != image_for:
        raise DicomError(
            f"SEG {name} is defined in another frame of reference than the image "
            "(FrameOfReferenceUID differs): it segments another scan; pass the image series "
            "it was made on"
        )
    series = {
        str(item.get("SeriesInstanceUID", ""))
        for item in getattr(seg, "ReferencedSeriesSequence", None) or []
    }
    series.discard("")
    if image_series is not None and series and image_series not in series:
        raise DicomError(
            f"SEG {name} segments another series than the image (its referenced series is "
            "not the image's SeriesInstanceUID); pass the image series it was made on"
        )


def _onto_reference(
    seg: sitk.Image, reference: sitk.Image, name: str = "SEG", tol: float = 1e-3
) -> sitk.Image:
    """Place SEG frames on the image grid when they lie exactly on it.

    A SEG stores only the frames that hold segment voxels, so its volume usually covers a
    subset of the image slices, possibly in another slice order. When every SEG voxel
    centre coincides with an image voxel centre, copying them onto the full grid changes
    no value; otherwise the SEG grid is returned unchanged and the geometry check decides.

    Raises
    ------
    GeometryMismatchError
        Segment voxels lie on the image grid but outside the image (e.g. the image series
        lacks slices the SEG was drawn on): resampling would silently drop them.
    """

    def index_to_world(img: sitk.Image) -> np.ndarray:
        d = np.asarray(img.GetDirection()).reshape(3, 3)
        return d * np.asarray(img.GetSpacing())[None, :]

    # seg index -> reference index: must be a signed permutation plus an integer offset
    m = np.linalg.solve(index_to_world(reference), index_to_world(seg))
    if np.any(np.abs(m - np.round(m)) > tol) or np.any(np.abs(np.round(m)).sum(axis=0) != 1):
        return seg
    index = np.asarray(reference.TransformPhysicalPointToContinuousIndex(seg.GetOrigin()))
    if np.any(np.abs(index - np.round(index)) > tol):
        off = index - np.round(index)
        voxels = np.argwhere(sitk.GetArrayViewFromImage(seg))[:, ::-1]  # (x, y, z) indices
        size = np.asarray(reference.GetSize())
        inside = True
        if voxels.size:  # the corners of the segment's bounding box, in image indices
            box = np.array(np.meshgrid(*zip(voxels.min(axis=0), voxels.max(axis=0),
                                            strict=True))).reshape(3, -1).T
            at = np.array([reference.TransformPhysicalPointToContinuousIndex(
                seg.TransformContinuousIndexToPhysicalPoint([float(c) for c in corner]))
                for corner in box])  # fmt: skip
            inside = bool(np.all((at > -0.5) & (at < size - 0.5)))
        where = "within the image" if inside else "partly or wholly outside the image"
        from radiomix.check import GRID_NOTE_KEY

        seg.SetMetaData(GRID_NOTE_KEY, (
            f"the frames of SEG {name} lie off the image's voxel grid (by "
            f"{', '.join(f'{v:+.2f}' for v in off)} voxel along x, y, z), {where}: it was "
            "drawn on another grid or its frame positions are damaged"))
        return seg
    _check_inside(seg, reference, np.round(m), np.round(index), name)
    return sitk.Resample(
        seg, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8
    )


def _check_inside(
    seg: sitk.Image, reference: sitk.Image, m: np.ndarray, offset: np.ndarray, name: str
) -> None:
    """Refuse a SEG whose segment voxels fall outside the image grid (they would be lost).

    ``m`` maps SEG (x, y, z) indices to image index steps and ``offset`` is the image index
    of the SEG origin, both integral (checked by the caller)."""
    zyx = np.argwhere(sitk.GetArrayViewFromImage(seg) > 0)
    if zyx.size == 0:
        return
    xyz = zyx[:, ::-1]
    ref = xyz @ m.T + offset[None, :]
    size = np.asarray(reference.GetSize())
    outside = np.any((ref < 0) | (ref >= size[None, :]), axis=1)
    n_out = int(outside.sum())
    if n_out == 0:
        return
    frames_out = len(np.unique(zyx[outside, 0]))
    frames = len(np.unique(zyx[:, 0]))
    raise GeometryMismatchError(
        f"SEG {name}: {n_out} of {len(zyx)} segment voxels ({frames_out} of {frames} "
        "segmented frames) lie outside the image field of view; pass the full image "
        "series the SEG was drawn on"
    )
