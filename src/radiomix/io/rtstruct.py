"""RTSTRUCT contours rasterised onto an image grid (even-odd rule, holes kept)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix.errors import DicomError, InputError, LabelNotFoundError
from radiomix.io.dicom import series_identity

if TYPE_CHECKING:  # imported where an RTSTRUCT is read (slow to import)
    import pydicom

SLICE_TOLERANCE = 0.1
"""Largest accepted distance of a contour plane from a slice centre, in slice spacings."""


def roi_names(path: str | Path) -> list[str]:
    """Names of the ROIs of an RTSTRUCT file."""
    ds = _read(path)
    return [str(r.ROIName) for r in ds.get("StructureSetROISequence", [])]


def _read(path: str | Path) -> pydicom.Dataset:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"RTSTRUCT file not found: {path}")
    try:
        import pydicom

        ds = pydicom.dcmread(path)
    except Exception as exc:  # pydicom raises several unrelated types
        raise DicomError(f"{path.name} is not a readable DICOM file: {exc}") from None
    if str(ds.get("Modality", "")) != "RTSTRUCT":
        raise DicomError(f"{path.name} is not an RTSTRUCT (Modality {ds.get('Modality')!r})")
    return ds


def _check_reference(
    ds: pydicom.Dataset, number: int, reference: sitk.Image, name: str, roi: str
) -> None:
    """The ROI must be drawn in the image's frame of reference and, when the structure set
    lists the series it was drawn on, on the image's series (DICOM PS3.3 C.8.8.5).

    Only for images read from DICOM (files carry no UIDs; their geometry is checked
    later). UIDs are compared, never printed.
    """
    image_for, image_series = series_identity(reference)
    if image_for is None and image_series is None:
        return
    roi_for = None
    for item in ds.get("StructureSetROISequence", []):
        if int(item.ROINumber) == number:
            roi_for = str(item.get("ReferencedFrameOfReferenceUID", "") or "") or None
    frames = ds.get("ReferencedFrameOfReferenceSequence", [])
    declared = {roi_for} if roi_for else {str(f.get("FrameOfReferenceUID", "")) for f in frames}
    declared.discard("")
    if image_for is not None and declared and image_for not in declared:
        raise DicomError(
            f"ROI {roi!r} of RTSTRUCT {name} is defined in another frame of reference than the "
            "image (FrameOfReferenceUID differs): it was drawn on another scan; pass the image "
            "series it was drawn on"
        )
    series = {
        str(se.get("SeriesInstanceUID", ""))
        for f in frames
        for st in f.get("RTReferencedStudySequence", [])
        for se in st.get("RTReferencedSeriesSequence", [])
    }
    series.discard("")
    if image_series is not None and series and image_series not in series:
        raise DicomError(
            f"RTSTRUCT {name} was drawn on another series than the image (its referenced "
            "series is not the image's SeriesInstanceUID); pass the image series it was drawn "
            "on, or convert the contours to a mask on this image's grid after registration"
        )


def rasterise_rtstruct(
    path: str | Path, reference: sitk.Image, *, roi_name: str | None
) -> sitk.Image:
    """Rasterise one ROI of an RTSTRUCT onto the voxel grid of ``reference``.

    Parameters
    ----------
    path : str or Path
        RTSTRUCT file.
    reference : SimpleITK.Image
        Image whose grid receives the mask (the series the contours were drawn on).
    roi_name : str or None
        ROI to rasterise; may be ``None`` only when the file holds a single ROI.

    Returns
    -------
    mask : SimpleITK.Image
        uint8 mask (0/1) on the reference grid.

    Raises
    ------
    LabelNotFoundError
        ``roi_name`` is not in the file (the message lists the names present), or no name
        was given and the file holds several ROIs.
    InputError
        A contour lies outside the image field of view or between slices.

    Notes
    -----
    Each closed planar contour is mapped to continuous voxel indices, assigned to the
    slice whose centre it lies on, and filled (pixel centres inside the polygon). Contours
    of one slice are combined with exclusive or, the even-odd rule, so a contour inside
    another is a hole.
    """
    ds = _read(path)
    names = {int(r.ROINumber): str(r.ROIName) for r in ds.get("StructureSetROISequence", [])}
    if not names:
        raise LabelNotFoundError(f"RTSTRUCT {Path(path).name} holds no ROI")
    if roi_name is None:
        if len(names) > 1:
            raise LabelNotFoundError(
                f"RTSTRUCT {Path(path).name} holds {len(names)} ROIs "
                f"({', '.join(sorted(names.values()))}); choose one with --roi-name"
            )
        number = next(iter(names))
    else:
        matches = [n for n, name in names.items() if name == roi_name]
        if not matches:
            near = difflib.get_close_matches(roi_name, list(names.values()), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise LabelNotFoundError(
                f"ROI {roi_name!r} not found in RTSTRUCT {Path(path).name}{hint} "
                f"ROIs present: {', '.join(sorted(names.values()))}"
            )
        number = matches[0]
    _check_reference(ds, number, reference, Path(path).name, names[number])
    contours = []
    for item in ds.get("ROIContourSequence", []):
        if int(item.ReferencedROINumber) == number:
            contours = list(item.get("ContourSequence", []))
    name = names[number]
    if not contours:
        raise LabelNotFoundError(f"ROI {name!r} in {Path(path).name} has no contours")

    size = reference.GetSize()  # (x, y, z)
    mask = np.zeros((size[2], size[1], size[0]), dtype=bool)
    origin = np.asarray(reference.GetOrigin())
    spacing = np.asarray(reference.GetSpacing())
    direction = np.asarray(reference.GetDirection()).reshape(3, 3)
    to_index = np.linalg.inv(direction * spacing[None, :])
    for contour in contours:
        kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
        if kind == "POINT":
            continue
        pts = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
        idx = (pts - origin) @ to_index.T  # continuous (x, y, z) indices
        z = idx[:, 2]
        k = int(np.rint(z.mean()))
        if np.ptp(z) > 2 * SLICE_TOLERANCE or abs(z.mean() - k) > SLICE_TOLERANCE:
            raise InputError(
                f"a contour of ROI {name!r} does not lie on a slice of the image "
                f"(slice index {z.mean():.2f}); is the RTSTRUCT drawn on this series?"
            )
        lo, hi = idx[:, :2].min(axis=0), idx[:, :2].max(axis=0)
        if (
            k < 0
            or k >= size[2]
            or np.any(lo < -0.5)
            or hi[0] > size[0] - 0.5
            or hi[1] > size[1] - 0.5
        ):
            raise InputError(
                f"a contour of ROI {name!r} lies outside the image field of view "
                f"(slice {k} of {size[2]}, x {lo[0]:.1f}..{hi[0]:.1f} of {size[0]}, "
                f"y {lo[1]:.1f}..{hi[1]:.1f} of {size[1]} voxels)"
            )
        from skimage.draw import polygon2mask

        filled = polygon2mask((size[1], size[0]), idx[:, [1, 0]])
        mask[k] ^= filled
    out = sitk.GetImageFromArray(mask.astype(np.uint8))
    out.CopyInformation(reference)
    return out
