"""RTSTRUCT contours rasterised onto an image grid (even-odd rule, holes kept)."""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix.errors import DicomError, InputError, LabelNotFoundError
from radiomix.io.dicom import series_identity
from radiomix.text_keys import name_key
from radiomix.types import BoolArray, FloatArray, IntArray

if TYPE_CHECKING:  # imported where an RTSTRUCT is read (slow to import)
    import pydicom

log = logging.getLogger(__name__)

SLICE_TOLERANCE = 0.1
"""Largest accepted distance of a contour plane from a slice centre, in slice spacings."""

ZERO_WIDTH = 1e-3
"""Mean width (2 area / perimeter, in voxels) under which a contour encloses no area."""

REPEAT_TOLERANCE = 1e-3
"""Grid (mm) on which contour points are compared to find a contour listed twice."""


def roi_names(path: str | Path) -> list[str]:
    """Names of the ROIs of an RTSTRUCT file."""
    return list(_roi_table(_read(path), Path(path).name).values())


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


def _integer(item: pydicom.Dataset, keyword: str) -> int | None:
    """``item.<keyword>`` as an int; None when absent, empty or not an integer."""
    try:
        return int(item.get(keyword))
    except (TypeError, ValueError, OverflowError):
        return None


def _roi_table(ds: pydicom.Dataset, name: str) -> dict[int, str]:
    """ROI number -> ROI name, from the StructureSetROISequence.

    Raises a DicomError when an ROI has no usable ROINumber or two ROIs share one: their
    contours could not be told apart.
    """
    names: dict[int, str] = {}
    for i, item in enumerate(ds.get("StructureSetROISequence", []), start=1):
        roi = str(item.get("ROIName", "") or "")
        number = _integer(item, "ROINumber")
        if number is None:
            raise DicomError(
                f"ROI {roi or f'item {i}'!r} of RTSTRUCT {name} has no valid ROINumber, so "
                "its contours cannot be found: the structure set is damaged; export it again"
            )
        if number in names:
            raise DicomError(
                f"ROIs {names[number]!r} and {roi!r} of RTSTRUCT {name} share ROINumber "
                f"{number}, so their contours cannot be told apart: the structure set is "
                "damaged; export it again"
            )
        names[number] = roi
    return names


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
    DicomError
        The structure set is damaged: ROIs or contour sets that cannot be matched, several
        ROIs of the requested name, contour data that are not finite (x, y, z) triplets.
    InputError
        The ROI is not made of closed planar contours, or a contour is degenerate (fewer
        than 3 points, no area), repeats or crosses another contour of its slice, lies
        outside the image field of view or between slices.

    Notes
    -----
    Each closed planar contour is mapped to continuous voxel indices, assigned to the
    slice whose centre it lies on, and filled (pixel centres inside the polygon). Contours
    of one slice are combined with exclusive or, the even-odd rule, so a contour inside
    another is a hole. Hence a contour listed twice would erase itself: exact repeats are
    refused rather than filled; so are two contours of one slice whose outlines cross
    (partly overlapping: the even-odd rule would cut their overlap out, a union would
    fill it, and exporters differ, so no reading is safe). Image slices without contour
    between the ROI's first and last contoured slices are left empty with a logged
    warning (not refused: an ROI in separate parts skips slices; a lost contour too).
    """
    name = Path(path).name
    ds = _read(path)
    names = _roi_table(ds, name)
    number = _select_roi(names, roi_name, name)
    roi = names[number]
    _check_reference(ds, number, reference, name, roi)
    contours = _contour_sequence(ds, number, name, roi)
    if not contours:
        refs = (_integer(item, "ReferencedROINumber") for item in ds.get("ROIContourSequence", []))
        stray = sorted({ref for ref in refs if ref is not None} - set(names))
        hint = (
            f"; its ROIContourSequence holds contours for ROINumber "
            f"{', '.join(map(str, stray))}, which no ROI of the StructureSetROISequence "
            "declares: the structure set is damaged; export it again"
            if stray
            else ""
        )
        raise LabelNotFoundError(f"ROI {roi!r} in {name} has no contours{hint}")
    _check_closed_planar(contours, name, roi)
    planes = _planes(contours, reference, f"ROI {roi!r} in {name}")
    _check_no_repeats(planes, name, roi)
    _check_no_crossings(planes, name, roi)
    gaps = _warn_gaps(planes, name, roi)

    from skimage.draw import polygon2mask

    size = reference.GetSize()  # (x, y, z)
    mask = np.zeros((size[2], size[1], size[0]), dtype=bool)
    shared = Counter(plane.slice for plane in planes)
    fills: dict[int, list[tuple[_Plane, BoolArray]]] = {}
    for plane in planes:
        fill = polygon2mask((size[1], size[0]), plane.index[:, [1, 0]])
        if shared[plane.slice] > 1:
            for other, other_fill in fills.get(plane.slice, []):
                _check_nested_or_apart(other, other_fill, plane, fill, name, roi)
            fills.setdefault(plane.slice, []).append((plane, fill))
        mask[plane.slice] ^= fill
    out = sitk.GetImageFromArray(mask.astype(np.uint8))
    out.CopyInformation(reference)
    if gaps:
        from radiomix.check import MASK_NOTE_KEY

        out.SetMetaData(MASK_NOTE_KEY, gaps)
    return out


def _select_roi(names: dict[int, str], roi_name: str | None, name: str) -> int:
    """ROINumber of the ROI called ``roi_name`` (or of the only ROI when it is None)."""
    if not names:
        raise LabelNotFoundError(f"RTSTRUCT {name} holds no ROI")
    if roi_name is None:
        if len(names) > 1:
            shared = len(set(names.values())) < len(names)
            raise LabelNotFoundError(
                f"RTSTRUCT {name} holds {len(names)} ROIs "
                f"({', '.join(sorted(names.values()))}); choose one with --roi-name"
                + (
                    "; ROIs that share a name must first be renamed in the structure set"
                    if shared
                    else ""
                )
            )
        return next(iter(names))
    wanted = name_key(roi_name)
    matches = [n for n, roi in names.items() if name_key(roi) == wanted]
    if not matches:
        near = difflib.get_close_matches(roi_name, list(names.values()), n=1)
        hint = f" did you mean {near[0]!r}?" if near else ""
        raise LabelNotFoundError(
            f"ROI {roi_name!r} not found in RTSTRUCT {name};{hint} "
            f"ROIs present: {', '.join(sorted(names.values()))}"
        )
    if len(matches) > 1:
        raise DicomError(
            f"RTSTRUCT {name} holds {len(matches)} ROIs named {roi_name!r} (ROINumber "
            f"{', '.join(map(str, matches))}): the name does not say which to use; "
            "rename or delete the extra ROI in the structure set"
        )
    return matches[0]


def _coplanar(pts: np.ndarray, tolerance_mm: float = 0.05) -> bool:
    """Whether a contour's points lie on one plane (of any orientation): every point within
    ``tolerance_mm`` of the least-squares plane through them."""
    if len(pts) < 4:
        return True
    centred = pts - pts.mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
    return bool(np.abs(centred @ normal).max() <= tolerance_mm)


def _planes(contours: list[pydicom.Dataset], reference: sitk.Image, roi: str) -> list[_Plane]:
    """Validate each contour and place it on a slice of ``reference``.

    ``roi`` names the ROI and its file in messages. A contour must be finite (x, y, z)
    triplets lying on one slice centre, inside the field of view, with an area.
    """
    size = reference.GetSize()  # (x, y, z)
    origin = np.asarray(reference.GetOrigin())
    spacing = np.asarray(reference.GetSpacing())
    direction = np.asarray(reference.GetDirection()).reshape(3, 3)
    to_index = np.linalg.inv(direction * spacing[None, :])
    planes = []
    for i, contour in enumerate(contours, start=1):
        label = f"contour {i} of {len(contours)} of {roi}"
        pts = _contour_points(contour, label)
        idx = (pts - origin) @ to_index.T  # continuous (x, y, z) indices
        z = idx[:, 2]
        k = int(np.rint(z.mean()))
        where = f"{label} (z = {pts[:, 2].mean():.2f} mm)"
        if np.ptp(z) > 2 * SLICE_TOLERANCE:
            if _coplanar(pts):
                raise InputError(
                    f"{where} lies on a plane that is not parallel to the image's slices (its "
                    f"points span {np.ptp(z) * spacing[2]:.2f} mm along the slice normal): the "
                    "RTSTRUCT was drawn on a series of another orientation (axial contours on "
                    "a coronal or sagittal series); give the series it was drawn on"
                )
            raise InputError(
                f"{where} is not planar: its points span {np.ptp(z) * spacing[2]:.2f} mm "
                f"along the slice normal (slice index {z.min():.2f} to {z.max():.2f}), but a "
                "CLOSED_PLANAR contour lies on one plane: the RTSTRUCT is damaged; export it "
                "again or draw the contour again"
            )
        if abs(z.mean() - k) > SLICE_TOLERANCE:
            raise InputError(
                f"{where} does not lie on a slice of the image (slice index "
                f"{z.mean():.2f}); is the RTSTRUCT drawn on this series?"
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
                f"{where} lies outside the image field of view "
                f"(slice {k} of {size[2]}, x {lo[0]:.1f}..{hi[0]:.1f} of {size[0]}, "
                f"y {lo[1]:.1f}..{hi[1]:.1f} of {size[1]} voxels)"
            )
        _check_not_degenerate(idx[:, :2], where)
        planes.append(_Plane(i, k, float(pts[:, 2].mean()), idx[:, :2], pts))
    return planes


@dataclass(frozen=True)
class _Plane:
    """One validated contour: its 1-based position in the ContourSequence, image slice,
    plane position (patient z, mm), (x, y) continuous voxel indices and points (mm)."""

    number: int
    slice: int
    z: float
    index: FloatArray
    points: FloatArray


def _contour_sequence(
    ds: pydicom.Dataset, number: int, name: str, roi: str
) -> list[pydicom.Dataset]:
    """Contours of ROI ``number``: the ContourSequence of its one ROIContourSequence item.

    Every item must say which ROI it belongs to (ReferencedROINumber); two items for the
    same ROI are refused, as taking either would drop the other's contours silently.
    """
    found = []
    for i, item in enumerate(ds.get("ROIContourSequence", []), start=1):
        ref = _integer(item, "ReferencedROINumber")
        if ref is None:
            raise DicomError(
                f"item {i} of the ROIContourSequence of RTSTRUCT {name} has no valid "
                "ReferencedROINumber, so its contours cannot be matched to an ROI: the "
                "structure set is damaged; export it again"
            )
        if ref == number:
            found.append(item)
    if len(found) > 1:
        raise DicomError(
            f"ROI {roi!r} has {len(found)} contour sets in the ROIContourSequence of RTSTRUCT "
            f"{name} (DICOM allows one per ROI): the structure set is damaged; export it again"
        )
    return list(found[0].get("ContourSequence", [])) if found else []


def _check_closed_planar(contours: list[pydicom.Dataset], name: str, roi: str) -> None:
    """Only CLOSED_PLANAR contours bound an area; points and open lines enclose nothing.

    A missing ContourGeometricType is read as CLOSED_PLANAR (the geometry is checked to
    lie on one slice afterwards).
    """
    kinds = [
        str(c.get("ContourGeometricType", "CLOSED_PLANAR") or "CLOSED_PLANAR") for c in contours
    ]
    other = sorted({k for k in kinds if k != "CLOSED_PLANAR"})
    if other:
        counts = ", ".join(f"{kinds.count(k)} {k}" for k in other)
        raise InputError(
            f"ROI {roi!r} in {name} is not made of closed contours ({counts} of "
            f"{len(kinds)} contours): only "
            "CLOSED_PLANAR contours enclose a volume that can be filled into a mask; choose "
            "an ROI drawn as closed contours (or close them in the planning system)"
        )


def _contour_points(contour: pydicom.Dataset, label: str) -> FloatArray:
    """The (n, 3) points (mm) of a contour; refuses data that are not finite triplets,
    or that disagree with NumberOfContourPoints (a truncated export)."""
    damaged = "the RTSTRUCT is damaged; export it again"
    try:  # pydicom converts the DS strings on first access
        data = contour.get("ContourData")
        values = np.atleast_1d(np.asarray(data if data is not None else [], dtype=float))
    except (TypeError, ValueError, OverflowError):
        raise DicomError(f"{label} has a non-numeric value in its ContourData: {damaged}") from None
    values = values.ravel()
    if values.size == 0:
        raise DicomError(f"{label} has no ContourData: {damaged}")
    if values.size % 3:
        raise DicomError(
            f"{label} has {values.size} ContourData values, not a multiple of 3 (x, y, z per "
            f"point): {damaged}"
        )
    if not np.all(np.isfinite(values)):
        bad = values[~np.isfinite(values)][0]
        raise DicomError(
            f"{label} has a non-finite coordinate ({bad}) in its ContourData: {damaged}"
        )
    pts = values.reshape(-1, 3)
    declared = _integer(contour, "NumberOfContourPoints")
    if declared is not None and declared != len(pts):
        raise DicomError(
            f"{label} holds {len(pts)} points but declares NumberOfContourPoints {declared} "
            f"(a truncated or edited contour): {damaged}"
        )
    return pts


def _open_ring(points: np.ndarray) -> np.ndarray:
    """The points of a closed contour without a repeated closing point."""
    if len(points) > 1 and np.array_equal(points[0], points[-1]):
        return points[:-1]
    return points


def _check_not_degenerate(index: FloatArray, where: str) -> None:
    """A closed contour needs 3 distinct points and an area; a line or a point fills no
    voxel and would silently drop (or, under even-odd, change) its slice."""
    ring = _open_ring(index)
    distinct = len(np.unique(np.round(ring, 6), axis=0))
    if distinct < 3:
        raise InputError(
            f"{where} has {distinct} distinct point(s); a closed contour needs at least 3 "
            "enclosing an area: delete the contour from the RTSTRUCT or draw it again"
        )
    x, y = ring[:, 0], ring[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    perimeter = float(np.sum(np.hypot(np.diff(x, append=x[0]), np.diff(y, append=y[0]))))
    if 2 * area < ZERO_WIDTH * perimeter:  # mean width under ZERO_WIDTH voxel: a line
        raise InputError(
            f"{where} encloses no area (its points lie on a line): delete the contour "
            "from the RTSTRUCT or draw it again"
        )


def _warn_gaps(planes: list[_Plane], name: str, roi: str) -> str | None:
    """Log a warning when image slices between the ROI's first and last contoured slices
    have no contour (:func:`warn_slice_gaps`); returns the note for the case's provenance
    (``None`` without such slices)."""
    return warn_slice_gaps({plane.slice for plane in planes}, kind="RTSTRUCT",
                           what=f"ROI {roi!r}", noun="ROI", name=name)


def warn_slice_gaps(
    filled: Iterable[int], *, kind: str, what: str, noun: str, name: str,
    without: str = "contour", marked: str = "contoured",
    lost: str = "a contour lost in an export", slices: str = "image slices",
) -> str | None:
    """Log a warning when slices between a mask's first and last marked slices are empty.

    The one rule for every mask read from DICOM (an RTSTRUCT ROI, a SEG segment): the mask
    is empty on those slices. Not refused, as an ROI in separate parts skips slices
    legitimately, but a contour or frame lost in an export does the same.

    Parameters
    ----------
    filled : iterable of int
        Indices of the slices that hold part of the mask.
    kind : str
        The kind of file (``"RTSTRUCT"``, ``"SEG"``), leading the provenance note.
    what : str
        The mask in words (``"ROI 'GTV'"``, ``"segment 1 ('GTV')"``).
    noun : str
        What the mask is called (``"ROI"``, ``"segment"``).
    name : str
        The file's name, in the logged warning only.
    without, marked, lost : str
        What an empty slice lacks, what a filled slice is, and the likely cause.
    slices : str
        Whose slices the indices count (``"image slices"``).

    Returns
    -------
    note : str or None
        The note for the case's provenance (:data:`radiomix.check.MASK_NOTE_KEY`, no file
        name), ``None`` without empty slices.
    """
    filled = set(filled)
    if not filled:
        return None
    first, last = min(filled), max(filled)
    empty = last - first + 1 - len(filled)
    if not empty:
        return None
    log.warning(
        "%s in %s has %d slice(s) without %s between its first and last %s slices (%s %d "
        "to %d); they are left out of the mask: check the %s unless the %s is made of "
        "separate parts",
        what, name, empty, without, marked, slices, first, last, kind, noun,
    )
    return (f"{kind} {what} has {empty} slice(s) without {without} between its first and "
            f"last {marked} slices ({slices} {first} to {last}), left out of the mask: "
            f"{lost}, unless the {noun} is made of separate parts")


def _check_no_repeats(planes: list[_Plane], name: str, roi: str) -> None:
    """Refuse a contour that repeats another of the same slice: same points, from any
    starting point, in either orientation (exporter glitch). Under the even-odd rule the
    copy would cancel the original and empty the slice; a hole differs from its outline."""
    by_slice: dict[int, list[tuple[_Plane, IntArray]]] = {}
    for plane in planes:
        key = np.rint(_open_ring(plane.points) / REPEAT_TOLERANCE).astype(np.int64)
        for other, other_key in by_slice.get(plane.slice, []):
            if _same_ring(key, other_key):
                raise InputError(
                    f"contours {other.number} and {plane.number} of ROI {roi!r} in {name} "
                    f"are the same contour twice (z = {plane.z:.2f} mm, image slice "
                    f"{plane.slice}); under the even-odd rule the copy erases the slice: "
                    "remove the duplicate contour from the RTSTRUCT"
                )
        by_slice.setdefault(plane.slice, []).append((plane, key))


def _check_no_crossings(planes: list[_Plane], name: str, roi: str) -> None:
    """Refuse two contours of one slice whose outlines cross: they overlap in part, neither
    inside the other (a hole) nor apart (two islands). The even-odd fill would cut their
    overlap out of the ROI. Outlines that only touch (a shared point or a collinear piece
    of edge) are not crossings."""
    by_slice: dict[int, list[_Plane]] = {}
    for plane in planes:
        for other in by_slice.get(plane.slice, []):
            if _rings_cross(other.index, plane.index):
                raise InputError(
                    f"contours {other.number} and {plane.number} of ROI {roi!r} in {name} "
                    f"cross each other (z = {plane.z:.2f} mm, image slice {plane.slice}): "
                    "contours of one slice must lie apart or one inside the other (a hole); "
                    "under the even-odd rule their overlap would be cut out of the ROI: "
                    "merge them into one contour in the RTSTRUCT"
                )
        by_slice.setdefault(plane.slice, []).append(plane)


def _check_nested_or_apart(
    first: _Plane, first_fill: BoolArray, second: _Plane, second_fill: BoolArray, name: str,
    roi: str,
) -> None:
    """Refuse two contours of one slice whose filled voxels overlap in part (neither fill
    inside the other): the even-odd fill would cut the shared voxels out of the ROI.

    This is the raster form of :func:`_check_no_crossings`: outlines that overlap only
    through shared vertices or collinear pieces of edge (a contour copied with a shift
    along the grid of its points, for instance) have no proper edge crossing, yet their
    overlap is cut all the same. Outlines that only touch (their shared voxels all lie on
    the outline of one of them: no voxel inside both is more than one voxel from both
    outlines) are, as there, not an overlap.
    """
    from scipy.ndimage import binary_erosion

    both = first_fill & second_fill
    shared = int(np.count_nonzero(both))
    if not shared or shared in (int(np.count_nonzero(first_fill)),
                                int(np.count_nonzero(second_fill))):  # fmt: skip
        return  # apart, or one inside the other (a hole, or an island in a hole)
    # voxels inside both fills away from either outline: outlines that merely touch (a
    # shared edge or corner through voxel centres) share only voxels of both outlines
    rows, cols = np.nonzero(both)
    box = (slice(max(0, rows.min() - 1), rows.max() + 2),
           slice(max(0, cols.min() - 1), cols.max() + 2))  # fmt: skip
    core = binary_erosion(first_fill[box]) & binary_erosion(second_fill[box])
    if not core.any():
        return
    raise InputError(
        f"contours {first.number} and {second.number} of ROI {roi!r} in {name} overlap in "
        f"part (z = {second.z:.2f} mm, image slice {second.slice}): {shared} voxel(s) lie "
        "inside both, and neither contour lies inside the other; under the even-odd rule "
        "their overlap would be cut out of the ROI: merge them into one contour in the "
        "RTSTRUCT"
    )


def _rings_cross(a: FloatArray, b: FloatArray) -> bool:
    """Whether an edge of closed ring ``a`` properly crosses an edge of ring ``b`` ((N, 2)
    points, the closing point optional): the endpoints of each edge lie strictly on
    either side of the other edge's line (orientation tests; zero within 1e-9 of the
    rings' extent squared counts as touching)."""
    a0, b0 = _open_ring(a), _open_ring(b)
    lo = np.minimum(a0.min(axis=0), b0.min(axis=0))
    hi = np.maximum(a0.max(axis=0), b0.max(axis=0))
    if np.any(a0.max(axis=0) < b0.min(axis=0)) or np.any(b0.max(axis=0) < a0.min(axis=0)):
        return False  # bounding boxes apart
    eps = 1e-9 * float(np.max(hi - lo)) ** 2
    p, p2 = a0[:, None, :], np.roll(a0, -1, axis=0)[:, None, :]
    q, q2 = b0[None, :, :], np.roll(b0, -1, axis=0)[None, :, :]

    def side(o: FloatArray, d: FloatArray, x: FloatArray) -> FloatArray:
        v = (d[..., 0] - o[..., 0]) * (x[..., 1] - o[..., 1]) - (
            d[..., 1] - o[..., 1]
        ) * (x[..., 0] - o[..., 0])
        return np.where(np.abs(v) <= eps, 0.0, np.sign(v))

    crosses = (side(p, p2, q) * side(p, p2, q2) < 0) & (side(q, q2, p) * side(q, q2, p2) < 0)
    return bool(crosses.any())


def _same_ring(a: IntArray, b: IntArray) -> bool:
    """True when rings ``a`` and ``b`` hold the same points in the same cyclic order,
    read forwards or backwards from any start."""
    if a.shape != b.shape:
        return False
    for candidate in (b, b[::-1]):
        for start in np.flatnonzero(np.all(candidate == a[0], axis=1)):
            if np.array_equal(np.roll(candidate, -int(start), axis=0), a):
                return True
    return False
