"""DICOM image series: reading, geometric sorting, rescaling and PET SUV conversion.

Slices are ordered by their position along the slice normal (the cross product of the
ImageOrientationPatient row and column directions), never by file name or instance
number. No patient attribute is ever copied into a message, a log or an output.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix.errors import DicomError, SuvConversionError

if TYPE_CHECKING:  # pydicom is imported where DICOM is read (it is slow to import)
    import pydicom

log = logging.getLogger(__name__)

FRAME_OF_REFERENCE_KEY = "0020|0052"
SERIES_KEY = "0020|000e"
"""Image metadata keys (DICOM tags) holding the series' FrameOfReferenceUID and
SeriesInstanceUID, for the RTSTRUCT/SEG checks."""

SLICE_SPACING_RTOL = 0.01
"""Largest accepted relative deviation of a slice gap from the median gap."""

IN_PLANE_TOLERANCE = 0.05
"""Largest accepted in-plane offset between slices, as a fraction of the pixel spacing
(slices of a series are stacked along the slice normal; a larger offset is a gantry tilt,
a sheared or a damaged series)."""

CT_HU_RANGE = (-32768, 32767)
"""Values a CT can hold (HU): a stored 16-bit range; values beyond come from damaged
rescaling or pixel representation."""

MAX_HALF_LIVES = 10
"""Longest accepted uptake time between injection and the decay-correction reference, in
half-lives of the tracer (an ¹⁸F scan 1 h after injection is 0.55; ⁸⁹Zr 7 days, 2.2): a
longer one comes from a wrong time, date or half-life unit, and divides the SUV by
2^-10 or less."""

BODY_WEIGHT_KG = (0.3, 500.0)
"""Plausible PET body weights (kg) for the SUV conversion."""

INJECTED_ACTIVITY_BQ = (1e5, 1e11)
"""Plausible injected activities (Bq, the unit of RadionuclideTotalDose) for the SUV
conversion: from 0.1 MBq (below a small-animal dose of a few MBq) to 100 GBq (above any
human dose, at most a few GBq). A value outside is in the wrong unit (MBq or mCi written
where Bq is required gives an SUV 10^6 or 3.7·10^7 times too large) or damaged."""

_ACTIVITY_UNITS = (("MBq", 1e6), ("mCi", 3.7e7))
"""Units a RadionuclideTotalDose is mistakenly written in, with their value in Bq."""


@dataclass(frozen=True, slots=True)
class _Slice:
    path: Path
    position: float
    ds: pydicom.Dataset


def _is_dicom(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        head = fh.read(132)
    return head[128:132] == b"DICM" or path.suffix.lower() == ".dcm"


def read_series(folder: str | Path, *, series_uid: str | None = None) -> sitk.Image:
    """Read a DICOM image series from a folder into a SimpleITK image.

    Parameters
    ----------
    folder : str or Path
        Folder holding the series' files (other series or non-image objects such as
        RTSTRUCT may be present; they are ignored when ``series_uid`` is given or when only
        one image series exists).
    series_uid : str, optional
        SeriesInstanceUID to read when the folder holds several series.

    Returns
    -------
    image : SimpleITK.Image
        float64 volume with origin, spacing and direction from the DICOM geometry. CT values
        are rescaled (slope, intercept) to HU; PET values are converted to SUV (body
        weight, see :func:`suv_factor`); other modalities are rescaled when rescale
        attributes exist.

    Raises
    ------
    DicomError
        No image series, several series without ``series_uid``, inconsistent orientation
        or pixel grid, missing or irregularly spaced slices.
    SuvConversionError
        PET in Bq/ml whose SUV factor cannot be computed; the message names the attribute.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DicomError(f"DICOM folder not found: {folder}")
    by_series: dict[str, list[pydicom.Dataset]] = {}
    incomplete: list[pydicom.Dataset] = []  # image objects without pixels or position
    others: list[str] = []  # non-image objects (RTSTRUCT, SEG...): modality and file name
    for path in sorted(folder.iterdir()):
        if path.is_symlink() and not path.exists():
            raise DicomError(
                f"{path.name} in {folder} is a link to a file that does not exist (a slice "
                "moved or deleted, or a link copied without its target): restore the file, "
                "or remove the link"
            )
        if not _is_dicom(path):
            continue
        try:
            import pydicom

            ds = pydicom.dcmread(path)
        except Exception as exc:  # pydicom raises several unrelated types
            reason = str(exc).split(" or use force=True")[0].split(". Use force=True")[0]
            raise DicomError(
                f"{path.name} in {folder} is not a readable DICOM file ({reason.rstrip('.')}): "
                "remove it from the series folder, or copy or export it again"
            ) from None
        frames = multiframe_count(ds)
        if frames > 1 and _is_image_object(ds):
            raise multiframe_error(path.name, frames, where=f" in {folder}")
        if "PixelData" not in ds or "ImagePositionPatient" not in ds:
            if _is_image_object(ds):
                incomplete.append(ds)
            else:
                others.append(f"{ds.get('Modality', 'non-image')} {path.name}")
            continue  # RTSTRUCT, SEG, reports...
        by_series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    if not by_series and others and not incomplete:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise DicomError(
            f"the folder {folder.name} holds no image slices, only {shown}: a segmentation or "
            "structure set is a mask, not an image; give the folder of the image series as "
            "the image and the RTSTRUCT or SEG file as the mask"
        )
    if not by_series and incomplete:
        lacking = sorted({"pixel data" if "PixelData" not in d else "ImagePositionPatient"
                          for d in incomplete})
        raise DicomError(
            f"the {len(incomplete)} DICOM image file(s) in {folder} all lack "
            f"{' or '.join(lacking)} (e.g. {_name(incomplete[0])}): no slice can be placed or "
            "read; the export dropped the attribute or the files are truncated: export the "
            "series again"
        )
    if not by_series:
        raise DicomError(
            f"no DICOM image slices found in {folder} (a file is read as DICOM when it has the "
            "'DICM' prefix or a .dcm suffix): check the folder, or give its files a .dcm suffix"
        )
    if series_uid is not None:
        if series_uid not in by_series:
            raise DicomError(
                f"the requested series is not in {folder}; it holds {_describe(by_series)}"
            )
        datasets = by_series[series_uid]
    elif len(by_series) > 1:
        raise DicomError(
            f"{folder} holds {len(by_series)} image series ({_describe(by_series)}); move "
            "each series into a folder of its own and pass the folder of the one to use"
        )
    else:
        datasets = next(iter(by_series.values()))
    uid = str(datasets[0].get("SeriesInstanceUID", ""))
    for damaged in incomplete:
        if str(damaged.get("SeriesInstanceUID", uid)) == uid:
            missing = "pixel data" if "PixelData" not in damaged else "ImagePositionPatient"
            raise DicomError(
                f"{_name(damaged)} in {folder} is an image of this series without {missing}: the "
                "file is truncated or damaged (the series would be read without this slice); "
                "copy or export it again"
            )
    return _assemble(datasets, where=str(folder))


def multiframe_count(ds: pydicom.Dataset) -> int:
    """Frames of an image object (``NumberOfFrames``; 1 when absent or unreadable)."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def multiframe_error(name: str, frames: int, *, where: str = "") -> DicomError:
    """The refusal of a multi-frame (enhanced) image object: radiomix reads a series as one
    file per slice."""
    return DicomError(
        f"{name}{where} is a multi-frame (enhanced) DICOM image of {frames} frames; radiomix "
        "reads a series stored as one file per slice: convert it first (e.g. dcm2niix to "
        "NIfTI, or highdicom's legacy conversion to single-frame files)"
    )


def _is_image_object(ds: pydicom.Dataset) -> bool:
    """Whether a DICOM object is of an image storage SOP class (CT, MR, PET ... images; not
    RTSTRUCT, SEG, structured reports or a DICOMDIR), by its SOP class UID."""
    import pydicom

    meta = getattr(ds, "file_meta", None)
    sop = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
    if not sop:
        return False
    return "Image Storage" in pydicom.uid.UID(str(sop)).name


def _describe(by_series: dict[str, list[pydicom.Dataset]]) -> str:
    """Series described without identifiers: series number, modality, slice count, the
    range of slice positions along z and the first file's name (two series of one number
    and size are then told apart)."""
    parts = []
    for datasets in by_series.values():
        first = datasets[0]
        number = first.get("SeriesNumber")
        label = f"series number {number}" if number not in (None, "") else "unnumbered series"
        text = f"{label}: {first.get('Modality', '?')}, {len(datasets)} slices"
        try:
            z = [float(ds.ImagePositionPatient[2]) for ds in datasets]
            text += f", z {min(z):g} to {max(z):g} mm"
        except (AttributeError, IndexError, TypeError, ValueError):
            pass
        files = sorted(Path(str(f)).name for ds in datasets
                       if (f := getattr(ds, "filename", None)))
        if files:
            text += f", first file {files[0]}"
        parts.append(text)
    return "; ".join(parts)



def first_clause(text: str, limit: int = 160) -> str:
    """The first clause of a library's error text, for a one-line message: up to the first
    line break, " - " or sentence end, cut at a word (with an ellipsis) beyond ``limit``
    characters, never mid-word or mid-parenthesis.

    Examples
    --------
    >>> first_clause("fewer bytes than expected (6 vs 8 bytes) - the dataset may be corrupted")
    'fewer bytes than expected (6 vs 8 bytes)'
    """
    line = text.strip().splitlines()[0] if text.strip() else ""
    for stop in (" - ", ". "):
        line = line.split(stop)[0]
    if len(line) <= limit:
        return line.rstrip(".")
    cut = line[:limit].rsplit(" ", 1)[0]
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rfind("(")].rstrip()
    return cut + " …"

def _name(ds: pydicom.Dataset) -> str:
    filename = getattr(ds, "filename", None)
    return Path(filename).name if isinstance(filename, str | Path) else "a slice"


def _require(ds: pydicom.Dataset, keyword: str, where: str) -> object:
    value = ds.get(keyword)
    if value is None or value == "":
        raise DicomError(
            f"{_name(ds)} in {where} has no {keyword}; radiomix needs it to place the slice "
            "(convert the series with a tool that writes full geometry, e.g. dcm2niix)"
        )
    return value


def _check_slices(datasets: Sequence[pydicom.Dataset], where: str) -> None:
    """Every slice must share the first one's grid, orientation, spacing and rescale scheme;
    a CT's RescaleType, when present, must be HU.

    Raises
    ------
    DicomError
        Naming the first slice (file name) that differs, the attribute and both values.
    """
    first = datasets[0]
    for ds in datasets:
        for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
            _require(ds, keyword, where)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            raise DicomError(
                f"{_name(ds)} in {where} is a multi-frame DICOM image ({frames} frames); "
                "radiomix reads one slice per file: convert it to NIfTI (e.g. dcm2niix)"
            )
    row, col, _ = _orientation(first)
    spacing = np.asarray(first.PixelSpacing, dtype=float)
    if spacing.shape != (2,) or not np.all(spacing > 0):
        raise DicomError(
            f"{_name(first)} in {where} has an invalid PixelSpacing {_fmt(spacing)}; "
            "two positive values (mm) are needed"
        )
    for ds in datasets:
        if ("RescaleSlope" in ds) != ("RescaleIntercept" in ds):
            has, lacks = (("RescaleSlope", "RescaleIntercept") if "RescaleSlope" in ds
                          else ("RescaleIntercept", "RescaleSlope"))
            raise DicomError(
                f"{_name(ds)} in {where} has {has} but no {lacks} (DICOM requires both or "
                "neither): its stored values cannot be rescaled; fix or remove the damaged "
                "slice, or export the series again"
            )
    has_rescale = "RescaleSlope" in first
    modality = str(first.get("Modality", ""))
    if modality in ("CT", "PT") and not has_rescale:
        kind, unit = ("CT", "Hounsfield units") if modality == "CT" else ("PET", "activity or SUV")
        raise DicomError(
            f"{_name(first)} in {where} is a {kind} slice without RescaleSlope and "
            f"RescaleIntercept (both required for {kind}): its stored values cannot be turned "
            f"into {unit}; export the series again with them"
        )
    frame = str(first.get("FrameOfReferenceUID", "") or "")
    for ds in datasets[1:]:
        r, c, _ = _orientation(ds)
        if not (np.allclose(r, row, atol=1e-4) and np.allclose(c, col, atol=1e-4)):
            raise DicomError(
                f"slices in {where} differ in ImageOrientationPatient: {_name(ds)} has "
                f"{_fmt(np.r_[r, c])}, {_name(first)} {_fmt(np.r_[row, col])}; a series must "
                "have one orientation (reformat or split it)"
            )
        if (ds.Rows, ds.Columns) != (first.Rows, first.Columns):
            raise DicomError(
                f"slices in {where} differ in size: {_name(first)} {(first.Rows, first.Columns)}"
                f" vs {_name(ds)} {(ds.Rows, ds.Columns)}"
            )
        other = np.asarray(ds.PixelSpacing, dtype=float)
        if other.shape != spacing.shape or np.any(np.abs(other - spacing) > 1e-4 * spacing):
            raise DicomError(
                f"slices in {where} differ in PixelSpacing: {_name(ds)} has {_fmt(other)} mm, "
                f"{_name(first)} {_fmt(spacing)} mm; a series must have one pixel grid "
                "(resample or split it)"
            )
        if str(ds.get("FrameOfReferenceUID", "") or "") != frame:  # compared, never shown
            raise DicomError(
                f"slices in {where} differ in FrameOfReferenceUID: {_name(ds)} and "
                f"{_name(first)} belong to different frames of reference (slices of "
                "different acquisitions mixed in one series); remove the stray slice or "
                "export the series again"
            )
        if ("RescaleSlope" in ds) != has_rescale:
            with_, without = (first, ds) if has_rescale else (ds, first)
            raise DicomError(
                f"slices in {where} differ in rescaling: {_name(with_)} has RescaleSlope/"
                f"RescaleIntercept, {_name(without)} has none, so their values are in "
                "different units; fix or remove the inconsistent slice"
            )
        for keyword in ("Modality", "RescaleType", "Units", "BitsAllocated", "BitsStored",
                        "PixelRepresentation", "PhotometricInterpretation",
                        "SamplesPerPixel"):
            if str(ds.get(keyword, "")) != str(first.get(keyword, "")):
                raise DicomError(
                    f"slices in {where} differ in {keyword}: {_name(ds)} has "
                    f"{ds.get(keyword, 'none')!r}, {_name(first)} {first.get(keyword, 'none')!r}; "
                    "their pixel values cannot be read alike: export the series again, or "
                    "remove the slice that does not belong"
                )
    rescale_type = str(first.get("RescaleType", "") or "").strip()
    if modality == "CT" and rescale_type and rescale_type.upper() != "HU":
        # CT Image module: RescaleType is Type 1C, present when the values are not HU
        raise DicomError(
            f"the CT series in {where} declares RescaleType {rescale_type!r} (0028,1054): its "
            "rescaled values are not Hounsfield units, in which radiomix reads a CT; export "
            "the series again in HU, or, if its values are meant to be read as they are, "
            "convert it to NIfTI and extract it without --modality CT"
        )


def _check_stacked(slices: Sequence[pydicom.Dataset], row: np.ndarray, col: np.ndarray,
                   where: str) -> None:
    """Every slice must sit on the line through the first one along the slice normal
    (in-plane offsets within :data:`IN_PLANE_TOLERANCE` of a pixel)."""
    origin = np.asarray(slices[0].ImagePositionPatient, dtype=float)
    ps = np.asarray(slices[0].PixelSpacing, dtype=float)
    for ds in slices[1:]:
        d = np.asarray(ds.ImagePositionPatient, dtype=float) - origin
        along_row, along_col = float(np.dot(d, row)), float(np.dot(d, col))
        if abs(along_row) > IN_PLANE_TOLERANCE * ps[1] or \
                abs(along_col) > IN_PLANE_TOLERANCE * ps[0]:
            raise DicomError(
                f"{_name(ds)} in {where} is offset by ({along_row:.3g}, {along_col:.3g}) mm "
                "within the slice plane from the first slice: its slices are not stacked "
                "along the slice normal (a gantry tilt, a sheared or a damaged series); "
                "resample the series onto a regular grid first (e.g. dcm2niix)"
            )


def _rescale(ds: pydicom.Dataset, where: str) -> tuple[float, float]:
    """A slice's rescale slope and intercept (1 and 0 when absent), refused when the
    slope is zero or either is not a finite number."""
    try:
        slope = float(ds.get("RescaleSlope", 1.0))
        intercept = float(ds.get("RescaleIntercept", 0.0))
    except (TypeError, ValueError):
        slope = intercept = float("nan")
    if not (math.isfinite(slope) and math.isfinite(intercept) and slope != 0.0):
        raise DicomError(
            f"{_name(ds)} in {where} has RescaleSlope {ds.get('RescaleSlope')!r} and "
            f"RescaleIntercept {ds.get('RescaleIntercept')!r}; a finite non-zero slope and a "
            "finite intercept are needed: the attributes are damaged"
        )
    return slope, intercept


def _check_ct_rescale_agrees(slices: Sequence[pydicom.Dataset], rescales: np.ndarray,
                             volume: np.ndarray, where: str) -> None:
    """Refuse a CT series with a slice rescaled apart from the rest: a slice whose
    RescaleSlope or RescaleIntercept differ from the series' most common ones, and whose
    5th, 50th or 95th percentile of HU then lies more than :data:`RESCALE_JUMP_HU` from its
    nearest commonly rescaled slice's. A slice edited or damaged that way is read in other
    units (one slice with slope 10 gave -10 000 HU; one with intercept -1024 sat 1 000 HU
    below its neighbours). A slice encoded otherwise whose HU agree (stored HU + 1024 with intercept
    -1024) is read, as is one whose values, read with the common rescale instead, would
    lie even farther from its neighbour's (the anatomy changes between the two slices, as
    at a crop's edge, and the slice's own rescale is the better reading).

    Slices rescaled apart that stand less than :data:`RESCALE_JUMP_HU` from their nearest
    commonly rescaled slice, but more than :data:`RESCALE_WARN_HU` farther than the
    common rescale would put them (a header edited by 50 to 300 HU), are read with a
    logged warning: a jump that small may be anatomy."""
    pairs = np.round(rescales, 9)  # each slice's (slope, intercept), as read
    values, inverse, counts = np.unique(pairs, axis=0, return_inverse=True,
                                        return_counts=True)
    if len(values) < 2:
        return
    common = int(np.argmax(counts))
    usual = np.flatnonzero(inverse.ravel() == common)
    doubtful: list[tuple[int, float]] = []  # (slice index, HU from its nearest usual slice)
    for odd in np.flatnonzero(inverse.ravel() != common):
        k = int(odd)
        near = int(usual[np.argmin(np.abs(usual - k))])
        there = np.percentile(volume[near], RESCALE_PERCENTILES)
        shifts = np.percentile(volume[k], RESCALE_PERCENTILES) - there
        jump = float(shifts[np.argmax(np.abs(shifts))])
        # the same stored values read with the series' common rescale: an edited header
        # leaves values that this reading puts beside the neighbour's; a slice truly encoded
        # otherwise (stored HU + 1024 with intercept -1024) is read farther by it than by its
        # own rescale, whatever the anatomy does between the two slices (a crop's edge)
        (slope, intercept), (c_slope, c_intercept) = rescales[k], values[common]
        other = (volume[k] - intercept) / slope * c_slope + c_intercept
        common_jump = float(np.max(np.abs(np.percentile(other, RESCALE_PERCENTILES) - there)))
        if abs(jump) > RESCALE_JUMP_HU and common_jump < abs(jump):
            raise DicomError(
                f"slice {k + 1} of {len(slices)} ({_name(slices[k])}) of the CT series in "
                f"{where} is rescaled apart from the rest (RescaleSlope {pairs[k][0]:g}, "
                f"RescaleIntercept {pairs[k][1]:g}; {int(counts[common])} slices have "
                f"{values[common][0]:g}, {values[common][1]:g}) and its values lie {jump:+.0f} "
                f"HU from slice {near + 1}'s (5th, 50th or 95th percentile): the slice was "
                "edited or damaged; export the series again"
            )
        if abs(jump) - common_jump > RESCALE_WARN_HU:
            doubtful.append((k, jump))
    if doubtful:
        first, last = doubtful[0][0] + 1, doubtful[-1][0] + 1
        worst = max((jump for _, jump in doubtful), key=abs)
        which = (f"slice {first}" if first == last else f"slices {first} to {last}"
                 if last - first + 1 == len(doubtful) else f"among slices {first} to {last}")
        log.warning(
            "%d slice(s) of the CT series in %s (%s of %d) are rescaled apart from the rest (%d "
            "slices have RescaleSlope %g, RescaleIntercept %g) and lie up to %+.0f HU from "
            "their nearest commonly rescaled slice, farther than the common rescale would "
            "put them: their RescaleIntercept or RescaleSlope may have been edited; read as "
            "declared, check the series", len(doubtful), where, which, len(slices),
            int(counts[common]), values[common][0], values[common][1], worst)


def _check_rescale_factor_agrees(slices: Sequence[pydicom.Dataset], rescales: np.ndarray,
                                 volume: np.ndarray, where: str) -> None:
    """Refuse a PET, MR or other non-CT series with slices scaled apart from their
    neighbours: a run of 1 to :data:`RESCALE_RUN` slices, bounded by slices rescaled
    otherwise (a RescaleSlope or RescaleIntercept that differs across each end of the
    run), whose every slice has its 25th, 50th, 75th and 90th percentiles of positive
    values more than :data:`RESCALE_FACTOR` times above the geometric mean of the two
    slices bounding the run, and more than the square root of that factor above each of
    them (or all below, by those factors); the run that stands out most is named.

    PET slices are each scaled to the stored range (a slope per slice) and MR series may be
    encoded per slice, so a rescale that differs is no damage by itself; a slice of the
    sarcoma data's PET and MR stands at most 6 % apart from its neighbours, whereas a slope
    edited or damaged on one slice, or on a few adjacent ones, scales all their values alike
    (a doubled slope raised a PET's SUVmax by 46 %). A run touching the first or last slice
    has one neighbour and is not judged, nor is a slope edited from a slice to the end of
    the series: real series step by up to 1.4 (PET) and 5 (MR) between two slices, so a
    step alone tells no damage; CT has its own check (:func:`_check_ct_rescale_agrees`).
    """
    n = len(slices)
    if n < 3:
        return
    pairs = np.round(rescales, 9)
    differs = np.any(pairs[1:] != pairs[:-1], axis=1)  # slice k differs from slice k + 1
    edges = [k for k in range(n - 1) if differs[k]]  # a run starts after an edge, ends at one
    if len(edges) < 2:
        return
    cache: dict[int, np.ndarray | None] = {}

    def percentiles(k: int) -> np.ndarray | None:
        if k not in cache:
            values = volume[k].ravel()
            values = values[:: max(1, values.size // RESCALE_SAMPLE)]  # a regular sample
            values = values[values > 0]
            cache[k] = (np.log(np.percentile(values, RESCALE_FACTOR_PERCENTILES))
                        if values.size >= RESCALE_MIN_VALUES else None)
        return cache[k]

    limit = math.log(RESCALE_FACTOR)
    worst, run = 0.0, (-1, -1)
    for i, first_edge in enumerate(edges):
        for last in edges[i + 1:]:
            a, b = first_edge + 1, last  # the run of slices a .. b
            if b - a + 1 > RESCALE_RUN:
                break
            before, after = percentiles(a - 1), percentiles(b + 1)
            inside = [percentiles(j) for j in range(a, b + 1)]
            if before is None or after is None or any(p is None for p in inside):
                continue
            # log ratios to each bounding slice (each beyond half the limit: a bounding slice
            # stands apart from the mean of the two too, but not from its other side)
            steps = np.concatenate([np.concatenate([p - before, p - after])
                                    for p in inside if p is not None])
            apart = np.concatenate([p - (before + after) / 2.0 for p in inside if p is not None])
            if np.all(steps > limit / 2) and np.all(apart > limit):
                step = float(apart.min())
            elif np.all(steps < -limit / 2) and np.all(apart < -limit):
                step = float(apart.max())
            else:
                continue
            if abs(step) > abs(worst):
                worst, run = step, (a, b)
    if run[0] >= 0:
        a, b = run
        modality = {"PT": "PET"}.get(str(slices[0].get("Modality", "")),
                                     str(slices[0].get("Modality", "")) or "image")
        factor = math.exp(worst)
        which = (f"slice {a + 1} of {n} ({_name(slices[a])})" if a == b else
                 f"slices {a + 1} to {b + 1} of {n} ({_name(slices[a])} to {_name(slices[b])})")
        rescale = (f"with RescaleSlope {pairs[a][0]:g} and RescaleIntercept {pairs[a][1]:g} "
                   "its values are" if a == b else "their values are")
        raise DicomError(
            f"{which} of the {modality} series in {where} "
            f"{'is' if a == b else 'are'} scaled apart from {'its' if a == b else 'their'} "
            f"neighbours: {rescale} {factor:.3g} times those of slices {a} and {b + 2} (in "
            "each of the 25th to 90th percentiles, against their geometric mean), where "
            "neighbouring slices differ by a few per cent: the rescaling was edited or "
            "damaged; export the series again"
        )


RESCALE_FACTOR = 1.2
"""Factor by which every compared percentile of a slice rescaled otherwise than a
neighbour may lie above (or below) its neighbours' geometric mean in a PET or MR series
before it is refused (:func:`_check_rescale_factor_agrees`): a slice of the sarcoma data's
PET and MR stands at most 6 % apart from its neighbours; a slope edited by 1.3 or 2 stands
out."""

RESCALE_FACTOR_PERCENTILES = (25.0, 50.0, 75.0, 90.0)
"""Percentiles of a slice's positive values compared by
:func:`_check_rescale_factor_agrees`."""

RESCALE_RUN = 8
"""Longest run of adjacent slices judged as one by :func:`_check_rescale_factor_agrees`
(two or three edited slices in a row stand apart from the slices around them, not from
each other)."""

RESCALE_SAMPLE = 16384
"""About how many of a slice's pixels (a regular sample) give its percentiles there."""

RESCALE_MIN_VALUES = 50
"""Fewest positive values a slice needs for its percentiles to be compared."""


RESCALE_PERCENTILES = (5.0, 50.0, 95.0)
"""Percentiles of a slice's HU compared by :func:`_check_ct_rescale_agrees`."""

RESCALE_JUMP_HU = 300.0
"""HU by which a slice rescaled apart from the rest of its CT series may differ from
its nearest commonly rescaled slice (neighbouring slices of one body differ by tens)."""

RESCALE_WARN_HU = 50.0
"""HU by which a CT slice rescaled apart from the rest may lie farther from its nearest
commonly rescaled slice than the common rescale would put it before a warning is logged
(:func:`_check_ct_rescale_agrees`): a slice encoded otherwise with the same HU is read
nearer by its own rescale, never farther."""


SUV_TYPES = {"BSA": "body surface area", "LBM": "lean body mass", "LBMJANMA":
             "lean body mass (Janmahasatian)", "IBW": "ideal body weight"}
"""SUVType (0054,1006) codes other than BW (DICOM PS3.3 C.8.9.1.1.3), in words."""


def _padding_range(ds: pydicom.Dataset) -> tuple[float, float] | None:
    """The stored values that mark pixel padding (no data, e.g. outside a CT's circular
    field of view): ``PixelPaddingValue`` (0028,0120) alone, or the range up to
    ``PixelPaddingRangeLimit`` (0028,0121) when present (DICOM PS3.3 C.7.5.1.1.2);
    ``None`` when the series declares none."""
    value = ds.get("PixelPaddingValue")
    if value is None or isinstance(value, bytes):
        return None
    limit = ds.get("PixelPaddingRangeLimit")
    first = float(value)
    last = first if limit is None or isinstance(limit, bytes) else float(limit)
    return (min(first, last), max(first, last))


def _fmt(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


ORIENTATION_TOLERANCE = 1e-3
"""Largest departure of ImageOrientationPatient's two vectors from unit length, and of
their dot product from zero, read as the rounding of its decimal text (a 5° oblique
series written to 4 decimals departs by about 5e-5); a larger one is refused."""


def _orientation(ds: pydicom.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and slice-normal unit vectors of a slice (ImageOrientationPatient,
    normalised: its decimal text is rounded, and an unnormalised normal would scale the
    slice spacing measured along it)."""
    iop = np.asarray(ds.ImageOrientationPatient, dtype=float).ravel()
    row, col = (iop[:3], iop[3:]) if iop.shape == (6,) else (np.zeros(3), np.zeros(3))
    lengths = (float(np.linalg.norm(row)), float(np.linalg.norm(col)))
    if (iop.shape != (6,) or not np.all(np.isfinite(iop))
            or max(abs(n - 1.0) for n in lengths) > ORIENTATION_TOLERANCE
            or abs(float(np.dot(row, col))) > ORIENTATION_TOLERANCE):
        raise DicomError(
            f"{_name(ds)} has ImageOrientationPatient {_fmt(iop)}, which is not two unit "
            "vectors at right angles (row and column directions): the file is damaged or "
            "was edited; export the series again")
    row, col = row / lengths[0], col / lengths[1]
    normal = np.cross(row, col)
    return row, col, normal / np.linalg.norm(normal)


def _assemble(datasets: Sequence[pydicom.Dataset], *, where: str) -> sitk.Image:
    _check_slices(datasets, where)
    first = datasets[0]
    row, col, normal = _orientation(first)
    slices = sorted(
        datasets, key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal))
    )
    pos = np.array([np.dot(np.asarray(d.ImagePositionPatient, float), normal) for d in slices])
    _check_stacked(slices, row, col, where)
    if len(slices) > 1:
        gaps = np.diff(pos)
        if np.any(gaps < 1e-6):
            dup = int(np.argmin(gaps))
            raise DicomError(
                f"two slices in {where} ({_name(slices[dup])} and {_name(slices[dup + 1])}) "
                f"share the position {pos[dup]:.3f} mm along the slice normal (a duplicated "
                "slice, or several acquisitions in one series): remove the copy, or move each "
                "acquisition into a folder of its own"
            )
        median = float(np.median(gaps))
        bad = np.flatnonzero(np.abs(gaps - median) > SLICE_SPACING_RTOL * median)
        if bad.size:
            k = int(bad[0])
            ratio = gaps[k] / median
            missing = ratio > 1.5 and abs(ratio - round(ratio)) < SLICE_SPACING_RTOL * ratio
            kind = f"{round(ratio) - 1} missing slice(s)" if missing else "irregular slice spacing"
            raise DicomError(
                f"{kind} in {where}: gap of {gaps[k]:.3f} mm between slices at "
                f"{pos[k]:.3f} and {pos[k + 1]:.3f} mm along the normal, where the median "
                f"gap is {median:.3f} mm ({bad.size} irregular gap(s) in {len(slices)} slices)"
            )
        dz = median
    else:
        dz = _single_slice_thickness(first, where)
    modality = str(first.get("Modality", ""))
    volume = np.empty((len(slices), int(first.Rows), int(first.Columns)), dtype=np.float64)
    rescales = np.empty((len(slices), 2))  # each slice's (slope, intercept)
    padding = _padding_range(first)
    padded: list[float] = []  # the smallest and largest value a padding voxel got
    for k, ds in enumerate(slices):
        try:
            arr = np.asarray(ds.pixel_array, dtype=np.float64)
        except Exception as exc:  # pydicom/numpy raise several types for damaged data
            raise DicomError(
                f"slice {k + 1} of {len(slices)} ({_name(ds)}) in {where} has unreadable pixel "
                f"data ({type(exc).__name__}: {first_clause(str(exc))}); the file is "
                "truncated or damaged: copy or export it again"
            ) from None
        if arr.shape != volume.shape[1:]:
            raise DicomError(
                f"slice {k + 1} of {len(slices)} ({_name(ds)}) in {where} decodes to pixel "
                f"array {arr.shape}, not Rows x Columns {volume.shape[1:]}"
            )
        slope, intercept = rescales[k] = _rescale(ds, where)
        volume[k] = arr * slope + intercept
        if padding is not None:
            pad = (arr >= padding[0]) & (arr <= padding[1])
            if pad.any():
                values = volume[k][pad]
                padded[:] = [min([*padded, float(values.min())]),
                             max([*padded, float(values.max())])]
    if modality == "CT":
        low, high = float(volume.min()), float(volume.max())
        if low < CT_HU_RANGE[0] or high > CT_HU_RANGE[1]:
            k = int(np.argmax((volume.min(axis=(1, 2)) < CT_HU_RANGE[0])
                              | (volume.max(axis=(1, 2)) > CT_HU_RANGE[1])))
            raise DicomError(
                f"slice {k + 1} of {len(slices)} ({_name(slices[k])}) in {where} holds CT "
                f"values from {low:.6g} to {high:.6g} HU, outside what a CT can hold "
                f"({CT_HU_RANGE[0]} to {CT_HU_RANGE[1]} HU): its rescaling (RescaleSlope, "
                "RescaleIntercept) or pixel representation is damaged"
            )
        _check_ct_rescale_agrees(slices, rescales, volume, where)
    elif "RescaleSlope" in first:
        _check_rescale_factor_agrees(slices, rescales, volume, where)
    if modality == "PT":
        volume *= _suv_factors(slices)[:, None, None]
        units = str(first.get("Units", "")).upper()
        top = float(volume.max())
        if str(first.get("Units", "")).upper() == "BQML" and top < SUV_MAX_FLOOR:
            raise SuvConversionError(
                f"PET series {where} converts to SUVs no higher than {top:.3g} anywhere (any "
                f"tissue, and the injected tracer, lie well above {SUV_MAX_FLOOR:g}): its "
                "values are not in Bq/ml as its Units BQML says (already SUV, or kBq/ml); "
                "correct Units (GML for SUV) or the values"
            )
    ps = [float(v) for v in first.PixelSpacing]
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((ps[1], ps[0], dz))
    image.SetOrigin(tuple(float(v) for v in slices[0].ImagePositionPatient))
    direction = np.column_stack([row, col, normal])
    image.SetDirection(tuple(direction.ravel()))
    uids = ((FRAME_OF_REFERENCE_KEY, "FrameOfReferenceUID"), (SERIES_KEY, "SeriesInstanceUID"))
    for key, keyword in uids:
        value = str(first.get(keyword, "") or "")
        if value:
            image.SetMetaData(key, value)
    if modality == "PT":
        from radiomix.check import SUV_KEY

        # what the values claim to be, for the SUV range check of the case
        image.SetMetaData(SUV_KEY, f"SUV (Units {units})")
    if padded:
        from radiomix.check import PADDING_KEY

        # the values padding voxels hold: refused in the ROI and in what processing reads
        image.SetMetaData(PADDING_KEY, f"{padded[0]!r} {padded[1]!r}")
    log.debug("read %d slices (%s) from %s", len(slices), modality, where)
    return image


def series_identity(image: sitk.Image) -> tuple[str | None, str | None]:
    """FrameOfReferenceUID and SeriesInstanceUID of an image read by :func:`read_series`.

    Returns ``(None, None)`` for images from files (NIfTI, NRRD, MHA), which carry neither;
    the UIDs are used for comparisons only and never printed.
    """
    keys = image.GetMetaDataKeys()
    return tuple(  # type: ignore[return-value]
        image.GetMetaData(k) if k in keys else None for k in (FRAME_OF_REFERENCE_KEY, SERIES_KEY)
    )


def _dicom_datetime(date: str | None, time: str | None) -> datetime | None:
    """A DICOM DA and TM as one moment, fractional seconds kept (``HHMMSS.FFFFFF``)."""
    if not time:
        return None
    whole, _, fraction = str(time).strip().partition(".")
    date = str(date or "19000101")
    moment = datetime.strptime(date + whole.ljust(6, "0"), "%Y%m%d%H%M%S")
    if fraction:
        if not fraction.isdigit() or len(fraction) > 6:
            raise ValueError(f"not a DICOM time: {time!r}")
        moment += timedelta(microseconds=int(fraction.ljust(6, "0")))
    return moment


def _after(moment: datetime, other: datetime, *, dated: bool) -> bool:
    """Whether ``moment`` is later than ``other``: by date and time when ``moment`` carries
    a date, else by time of day."""
    if dated:
        return moment > other
    return _time_of_day(moment) > _time_of_day(other)


def _scan_start(slices: Sequence[pydicom.Dataset]) -> datetime | None:
    """Earliest acquisition date and time of a PET series (AcquisitionDate, else the
    SeriesDate, with AcquisitionTime); None when no slice gives a readable one."""
    times = []
    for ds in slices:
        try:
            moment = _dicom_datetime(ds.get("AcquisitionDate") or ds.get("SeriesDate"),
                                     ds.get("AcquisitionTime"))
        except ValueError:
            moment = None
        if moment is not None:
            times.append(moment)
    return min(times) if times else None


def _time_of_day(moment: datetime) -> timedelta:
    """Time elapsed since midnight of ``moment``'s day."""
    return moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)


INJECTION_TIMES_TOLERANCE_S = 2.0
"""Largest difference (s) accepted between the time of day of a PET's
RadiopharmaceuticalStartDateTime and its RadiopharmaceuticalStartTime (the two are
written from one clock, rounded or truncated to the second): a larger one is a
contradiction, and the SUV would follow whichever attribute is read (an hour is 46 % for
F-18)."""

_DICOM_DT = re.compile(
    r"(?P<date>\d{8})(?P<h>\d{2})?(?P<m>\d{2})?(?P<s>\d{2})?(?P<frac>\.\d{1,6})?"
    r"(?:[+-]\d{4})?"
)
_DICOM_TM = re.compile(r"(?P<h>\d{2})(?P<m>\d{2})?(?P<s>\d{2})?(?P<frac>\.\d{1,6})?")


def _time_of_day_s(text: object) -> float | None:
    """Seconds since midnight of a DICOM TM value (``HHMMSS.FFFFFF``, lower precision or
    the old ``HH:MM:SS`` form); ``None`` when absent or not a time."""
    if text is None or str(text).strip() == "":
        return None
    m = _DICOM_TM.fullmatch(str(text).strip().replace(":", ""))
    if m is None:
        return None
    return (int(m["h"]) * 3600 + int(m["m"] or 0) * 60 + int(m["s"] or 0)
            + float(m["frac"] or 0.0))


def _clock(seconds: float, fields: int = 3) -> str:
    """``HH:MM:SS`` (or ``HH:MM``, ``HH`` for fewer ``fields``) of seconds since midnight."""
    whole = int(seconds)
    parts = (whole // 3600, whole % 3600 // 60, whole % 60)
    return ":".join(f"{v:02d}" for v in parts[:fields])


def _duration(seconds: float) -> str:
    """A positive duration in words: ``1 h``, ``25 min``, ``3 s``."""
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def _injection_datetime(info: pydicom.Dataset) -> datetime:
    """The injection date and time of a PET (``RadiopharmaceuticalStartDateTime``), checked
    against ``RadiopharmaceuticalStartTime`` when both are given.

    Fractions of a second and a time-zone offset are dropped. A date-time of lower
    precision (a date alone, or hours and minutes) takes its time of day from the start
    time when the two agree to the date-time's precision.

    Raises
    ------
    ValueError
        The date-time is not a DICOM DT value (the caller names the attributes).
    SuvConversionError
        The two attributes give times of day more than
        :data:`INJECTION_TIMES_TOLERANCE_S` apart (compared on the clock, so a date-time
        whose date is the day before still agrees with its start time).
    """
    text = str(info.RadiopharmaceuticalStartDateTime).strip()
    m = _DICOM_DT.fullmatch(text)
    if m is None:
        raise ValueError(f"not a DICOM date-time: {text!r}")
    fields = [int(v) for v in (m["h"], m["m"], m["s"]) if v is not None]
    day = datetime.strptime(m["date"], "%Y%m%d")
    given = sum(v * unit for v, unit in zip(fields, (3600, 60, 1), strict=False))
    exact = given + (float(m["frac"] or 0.0) if len(fields) == 3 else 0.0)
    start = _time_of_day_s(info.get("RadiopharmaceuticalStartTime"))
    if start is None:
        return day + timedelta(seconds=exact)
    if len(fields) == 3:
        gap = abs(exact - start) % 86400.0
        gap = min(gap, 86400.0 - gap)  # on the clock: 23:59:59 and 00:00:00 are 1 s apart
        if gap <= INJECTION_TIMES_TOLERANCE_S:
            # the start time's moment (fractional seconds kept), on the date-time's day:
            # adding an agreeing date-time changes no SUV
            step = (start - exact + 43200.0) % 86400.0 - 43200.0
            return day + timedelta(seconds=exact + step)
    else:  # lower precision: the start time must fall within the date-time's hour/minute
        unit = (86400, 3600, 60)[len(fields)]
        gap = abs(start // unit * unit - given)
        if gap == 0:
            return day + timedelta(seconds=start)
        gap = abs(start - given)
    raise SuvConversionError(
        "cannot convert PET to SUV: RadiopharmaceuticalStartDateTime gives the injection at "
        f"{_clock(given, len(fields))} and RadiopharmaceuticalStartTime at {_clock(start)} "
        f"({_duration(gap)} apart), and the decay correction of every SUV depends on which "
        "is right: correct the wrong attribute (or delete RadiopharmaceuticalStartDateTime "
        "if the start time is right)"
    )


def suv_factor(ds: pydicom.Dataset, *, acquisition: datetime | None = None,
               scan_start: datetime | None = None) -> float:
    """Body-weight SUV factor of one PET slice: SUV = value × factor.

    Parameters
    ----------
    ds : pydicom.Dataset
        PET image slice (Modality PT).
    acquisition : datetime, optional
        Time the activity is referenced to when ``DecayCorrection`` is ``NONE`` (the slice's
        acquisition time by default).
    scan_start : datetime, optional
        The series' earliest acquisition date and time. With ``DecayCorrection`` ``START``
        the reference is the series date and time, unless it is later than ``scan_start``
        (a series reconstructed or exported again after the scan gets a new SeriesTime):
        then ``scan_start`` is the reference, as in QIBA's vendor-neutral SUV rule.

    Returns
    -------
    factor : float
        1 when ``Units`` is ``GML`` (already SUV); otherwise, for ``BQML``,
        weight [g] / injected dose decayed to the reference time [Bq].

    Raises
    ------
    SuvConversionError
        Units other than BQML/GML, a missing attribute (named in the message), or an
        injection after the decay-correction reference (also when only times of day are
        given: the day of the injection is then unknown).

    Notes
    -----
    .. math:: SUV_{bw} = \\frac{C \\cdot W}{D \\cdot 2^{-\\Delta t / T_{1/2}}}

    with activity concentration C (Bq/ml), body weight W (g), injected dose D (Bq), half
    life T½ and Δt from injection to the decay-correction reference: the series start for
    ``DecayCorrection = START``, zero for ``ADMIN``, the acquisition for ``NONE``.
    """
    units = str(ds.get("Units", "")).upper()
    if units == "GML":
        suv_type = str(ds.get("SUVType", "") or "").strip().upper()
        if suv_type not in ("", "BW"):
            raise SuvConversionError(
                "the PET series is stored as SUV normalised by "
                f"{SUV_TYPES.get(suv_type, suv_type)} "
                f"(Units GML, SUVType {suv_type}), not by body weight, and radiomix's PET "
                "intensities are body-weight SUV: export the series in Bq/ml (Units BQML) with "
                "its dose, weight and times, or as body-weight SUV (SUVType BW)"
            )
        return 1.0
    if units != "BQML":
        raise SuvConversionError(
            f"PET Units is {units or 'missing'!r}; SUV conversion needs BQML (or GML, already SUV)"
        )

    def need(container: pydicom.Dataset, keyword: str) -> object:
        value = container.get(keyword)
        if value is None or value == "":
            raise SuvConversionError(
                f"cannot convert PET to SUV: DICOM attribute {keyword} is missing"
            )
        return value

    def positive(container: pydicom.Dataset, keyword: str) -> float:
        raw = need(container, keyword)
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = float("nan")
        if not (np.isfinite(value) and value > 0):
            raise SuvConversionError(
                f"cannot convert PET to SUV: DICOM attribute {keyword} is {raw!r}, a positive "
                "number is needed; fix the attribute or give the image in SUV (Units GML)"
            )
        return value

    weight_kg = positive(ds, "PatientWeight")
    _check_body_mass_index(ds, weight_kg)
    info_seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not info_seq:
        raise SuvConversionError(
            "cannot convert PET to SUV: DICOM attribute RadiopharmaceuticalInformationSequence "
            "is missing or empty (it holds the injected dose and the half life)"
        )
    info = info_seq[0]
    dose = positive(info, "RadionuclideTotalDose")
    half_life = positive(info, "RadionuclideHalfLife")
    _check_half_life(info, half_life)
    correction = str(need(ds, "DecayCorrection")).upper()
    if correction == "ADMIN":
        decay = 1.0
    else:
        try:
            injection_dated = bool(info.get("RadiopharmaceuticalStartDateTime"))
            if injection_dated:
                injection = _injection_datetime(info)
            else:
                start = need(info, "RadiopharmaceuticalStartTime")
                injection = _dicom_datetime(ds.get("SeriesDate"), str(start))  # type: ignore[assignment]
        except SuvConversionError:
            raise
        except ValueError:
            raise SuvConversionError(
                "cannot convert PET to SUV: the injection time (RadiopharmaceuticalStartDateTime"
                " or RadiopharmaceuticalStartTime) is not a valid DICOM date/time"
            ) from None
        try:
            if correction == "START":
                ref_dated = bool(ds.get("SeriesDate"))
                ref = _dicom_datetime(ds.get("SeriesDate"), str(need(ds, "SeriesTime")))
                if scan_start is not None and ref is not None and _after(ref, scan_start,
                                                                         dated=ref_dated):
                    ref = scan_start
            elif correction == "NONE":
                ref_dated = acquisition is not None or bool(
                    ds.get("AcquisitionDate") or ds.get("SeriesDate"))
                ref = acquisition or _dicom_datetime(
                    ds.get("AcquisitionDate") or ds.get("SeriesDate"),
                    str(need(ds, "AcquisitionTime")),
                )
            else:
                raise SuvConversionError(f"unsupported PET DecayCorrection {correction!r}")
        except SuvConversionError:
            raise
        except ValueError:
            raise SuvConversionError(
                "cannot convert PET to SUV: the series or acquisition date/time is not a valid "
                "DICOM date/time"
            ) from None
        assert ref is not None
        assert injection is not None
        if injection_dated and ref_dated:
            delta = ref - injection
            if delta < timedelta(0):
                raise SuvConversionError(
                    "cannot convert PET to SUV: the injection (RadiopharmaceuticalStartDateTime)"
                    " is after the decay-correction reference (series or acquisition time); "
                    "check the injection date and time"
                )
        else:  # times of day only: the days cannot be told apart
            delta = _time_of_day(ref) - _time_of_day(injection)
            if delta < timedelta(0):
                source = ("RadiopharmaceuticalStartDateTime" if injection_dated
                          else "RadiopharmaceuticalStartTime")
                reference = "SeriesTime" if correction == "START" else "AcquisitionTime"
                raise SuvConversionError(
                    f"cannot convert PET to SUV: the injection time of day ({source}) is "
                    f"{-delta.total_seconds() / 3600:.3g} h after the decay-correction "
                    f"reference ({reference}) and no dates tell the days apart (an injection "
                    "the day before, or a wrong time): give the injection date and time "
                    "(RadiopharmaceuticalStartDateTime) and the SeriesDate, or fix the times"
                )
        if delta.total_seconds() > MAX_HALF_LIVES * half_life:
            raise SuvConversionError(
                f"cannot convert PET to SUV: the injection is {delta.total_seconds() / 3600:.3g}"
                f" h before the decay-correction reference, more than {MAX_HALF_LIVES} half-"
                f"lives (RadionuclideHalfLife {half_life:g} s): check the injection time, the "
                "series/acquisition time and that the half-life is in seconds"
            )
        decay = 2.0 ** (-delta.total_seconds() / half_life)
    return weight_kg * 1000.0 / (dose * decay)


def _suv_inputs(ds: pydicom.Dataset) -> dict[str, str]:
    """The series-level inputs of a slice's SUV factor, as text, each value in one spelling
    (:func:`_one_spelling`)."""
    info_seq = ds.get("RadiopharmaceuticalInformationSequence")
    info = info_seq[0] if info_seq else {}
    out = {k: str(ds.get(k, "")) for k in ("Units", "PatientWeight", "DecayCorrection",
                                            "SeriesDate", "SeriesTime")}
    for k in ("RadionuclideTotalDose", "RadionuclideHalfLife", "RadiopharmaceuticalStartTime",
              "RadiopharmaceuticalStartDateTime"):
        out[k] = str(info.get(k, ""))
    return {k: _one_spelling(k, v) for k, v in out.items()}


_DS_INPUTS = frozenset({"PatientWeight", "RadionuclideTotalDose", "RadionuclideHalfLife"})
_TM_INPUTS = frozenset({"SeriesTime", "RadiopharmaceuticalStartTime"})


def _one_spelling(key: str, text: str) -> str:
    """A DICOM number (DS) or time (TM) in one spelling, so that slices that write one value
    differently (``71`` and ``71.0``, ``6.588E3`` and ``6588``, ``102011`` and
    ``102011.000``) agree; text that is neither is kept as written.

    Examples
    --------
    >>> _one_spelling("PatientWeight", " 71.0"), _one_spelling("RadionuclideHalfLife", "6.588E3")
    ('71.0', '6588.0')
    >>> _one_spelling("SeriesTime", "102011.000"), _one_spelling("SeriesTime", "1020")
    ('102011', '102000')
    """
    value = text.strip()
    try:
        if key in _DS_INPUTS and value:
            return repr(float(value))
        if key in _TM_INPUTS and value:
            moment = _dicom_datetime(None, value)
            if moment is not None:
                return moment.strftime("%H%M%S") + (f".{moment.microsecond:06d}"
                                                    if moment.microsecond else "")
    except ValueError:
        pass
    return value


_SUV_VALUES_SHOWN = frozenset({"Units", "DecayCorrection", "RadionuclideTotalDose",
                               "RadionuclideHalfLife"})
"""SUV inputs whose values a message may show (the others are patient attributes, dates and
times)."""


HALF_LIVES_S: dict[tuple[str, int], float] = {
    ("F", 18): 6586.2, ("C", 11): 1221.8, ("N", 13): 597.9, ("O", 15): 122.24,
    ("Ga", 68): 4062.6, ("Cu", 64): 45720.0, ("Zr", 89): 282276.0, ("Rb", 82): 76.38,
    ("I", 124): 360806.0, ("Y", 86): 53064.0, ("Sc", 44): 14292.0,
}
"""Half-lives (s) of PET radionuclides, by element symbol and mass number (NNDC / DDEP
evaluated values), to check a RadionuclideHalfLife against the coded radionuclide."""

_ELEMENTS = {"fluorine": "F", "carbon": "C", "nitrogen": "N", "oxygen": "O",
             "gallium": "Ga", "copper": "Cu", "zirconium": "Zr", "rubidium": "Rb",
             "iodine": "I", "yttrium": "Y", "scandium": "Sc"}

HALF_LIFE_TOLERANCE = 0.02
"""Largest relative difference accepted between RadionuclideHalfLife and the coded
radionuclide's half-life (scanners write rounded values: 6588 or 6600 s for F-18)."""


def _coded_nuclide(info: pydicom.Dataset) -> tuple[str, int] | None:
    """(symbol, mass number) of the RadionuclideCodeSequence's code meaning, e.g.
    ``^18^Fluorine``, ``Fluorine-18``, ``F-18`` or ``18F``; without that code, F-18 for an
    FDG radiopharmaceutical; None when neither tells."""
    seq = info.get("RadionuclideCodeSequence")
    meaning = str(seq[0].get("CodeMeaning", "")) if seq else ""
    mass = re.search(r"\d{1,3}", meaning)
    if mass is None:
        # no radionuclide code: FDG, the tracer of most PET, names its nuclide (F-18)
        drug = info.get("RadiopharmaceuticalCodeSequence")
        texts = [str(info.get("Radiopharmaceutical", "")),
                 str(drug[0].get("CodeMeaning", "")) if drug else ""]
        fdg = any(re.search(r"\bfdg\b|fluorodeoxyglucose|fludeoxyglucose", t, re.IGNORECASE)
                  for t in texts)
        return ("F", 18) if fdg else None
    words = re.findall(r"[A-Za-z]+", meaning)
    for word in words:
        symbol = _ELEMENTS.get(word.lower()) or next(
            (v for v in _ELEMENTS.values() if v == word), None)
        if symbol is not None:
            return symbol, int(mass.group(0))
    return None


def _check_half_life(info: pydicom.Dataset, half_life: float) -> None:
    """Refuse a RadionuclideHalfLife that contradicts the coded radionuclide (a C-11 value
    beside an F-18 code): the decay correction, and so every SUV, would follow it."""
    nuclide = _coded_nuclide(info)
    if nuclide is None or nuclide not in HALF_LIVES_S:
        return
    known = HALF_LIVES_S[nuclide]
    if abs(half_life - known) > HALF_LIFE_TOLERANCE * known:
        name = f"{nuclide[0]}-{nuclide[1]}"
        unit = next((f" (it looks like {word}: the attribute is in seconds)"
                     for word, factor in (("minutes", 60.0), ("hours", 3600.0))
                     if abs(half_life * factor - known) <= HALF_LIFE_TOLERANCE * known), "")
        raise SuvConversionError(
            f"PET RadionuclideHalfLife {half_life:g} s does not match the coded radionuclide "
            f"{name} ({known:g} s){unit}: the decay correction of the SUV would be wrong; "
            "correct the half-life or the RadionuclideCodeSequence"
        )


def _single_slice_thickness(ds: pydicom.Dataset, where: str) -> float:
    """The slice thickness of a one-slice series: its ``SliceThickness`` (or
    ``SpacingBetweenSlices``). Without either it is unknown, and a guess (1 mm) would set
    every volume and 3D shape feature; refused."""
    for keyword in ("SliceThickness", "SpacingBetweenSlices"):
        try:
            value = float(ds.get(keyword) or 0.0)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    raise DicomError(
        f"the one-slice series in {where} gives no SliceThickness (nor SpacingBetweenSlices): "
        "its voxels' depth, and so every volume, is unknown; add the attribute, or give the "
        "image as NIfTI with its spacing"
    )


def _check_body_mass_index(ds: pydicom.Dataset, weight_kg: float) -> None:
    """Refuse a PatientWeight that no body of the recorded PatientSize has (a body mass
    index outside :data:`BMI_RANGE`): a typo (7.1 for 71 kg) scales every SUV by 10.
    A PatientSize missing, 0 (unknown) or outside 0.4 to 2.5 m (not metres) is not used;
    an adult's weight (PatientAge in years, 18 or more) is then checked against
    :data:`ADULT_WEIGHT_MIN_KG`."""
    try:
        height = float(ds.get("PatientSize") or 0.0)
    except (TypeError, ValueError):
        height = 0.0
    if not 0.4 <= height <= 2.5:
        age = str(ds.get("PatientAge") or "")
        if age.endswith("Y") and age[:-1].isdigit() and int(age[:-1]) >= 18 \
                and weight_kg < ADULT_WEIGHT_MIN_KG:
            raise SuvConversionError(
                f"cannot convert PET to SUV: PatientWeight {weight_kg:g} kg at PatientAge "
                f"{age}, below any adult's ({ADULT_WEIGHT_MIN_KG:g} kg): a typo in the weight "
                "would scale every SUV; correct the attribute"
            )
        return
    bmi = weight_kg / (height * height)
    if not BMI_RANGE[0] <= bmi <= BMI_RANGE[1]:
        raise SuvConversionError(
            f"cannot convert PET to SUV: PatientWeight {weight_kg:g} kg with PatientSize "
            f"{height:g} m gives a body mass index of {bmi:.1f}, which no patient has "
            f"({BMI_RANGE[0]:g} to {BMI_RANGE[1]:g}): a typo in the weight (or the size) would "
            "scale every SUV; correct the attribute"
        )


ADULT_WEIGHT_MIN_KG = 20.0
"""Lightest weight taken for an adult's (``PatientAge`` 18 years or more) when no usable
``PatientSize`` gives a body mass index (the lightest recorded adults weigh about 25 kg)."""

BMI_RANGE = (8.0, 100.0)
"""Body mass indices (kg/m²) a patient can have: the lowest recorded in adults and children
lie near 10, the highest near 100 (wide on purpose: only typos are refused)."""


SUV_MAX_FLOOR = 0.05
"""Highest SUV of a PET series below which its values cannot be Bq/ml: tissue takes up
SUV 0.5 or more and the tracer's sites far more; values already in SUV (or kBq/ml) read as
Bq/ml give 0.0001 to 0.01."""


def _suv_factors(slices: Sequence[pydicom.Dataset]) -> np.ndarray:
    """Each slice's SUV factor; the inputs that belong to the series (weight, dose, half
    life, injection time, units, decay correction) must be the same on every slice, the
    weight a plausible body weight and the dose a plausible activity in Bq."""
    first = _suv_inputs(slices[0])
    for ds in slices[1:]:
        other = _suv_inputs(ds)
        for key, value in first.items():
            if other[key] != value:
                # technical values only: no patient attribute, date or time in a message
                values = (f" ({other[key] or 'none'} against {value or 'none'})"
                          if key in _SUV_VALUES_SHOWN else "")
                raise SuvConversionError(
                    f"PET slices differ in {key}: {_name(ds)} and {_name(slices[0])}{values};"
                    " the SUV inputs of a series must be the same on every slice: the series is"
                    " damaged or mixed"
                )
    corrected = {str(v).upper() for v in (slices[0].get("CorrectedImage") or [])}
    missing = [c for c in ("ATTN", "DECY") if c not in corrected]
    if corrected and missing:
        what = {"ATTN": "attenuation", "DECY": "decay"}
        raise SuvConversionError(
            f"PET CorrectedImage lacks {' and '.join(missing)} "
            f"({', '.join(sorted(corrected))}): the series is not "
            f"{' or '.join(what[c] for c in missing)}-corrected (a non-attenuation-corrected "
            "reconstruction beside the corrected one, or raw activity), and SUV needs both; "
            "give the corrected series"
        )
    if str(slices[0].get("Units", "")).upper() == "BQML":
        try:
            weight = float(slices[0].get("PatientWeight"))
        except (TypeError, ValueError):
            weight = float("nan")
        if math.isfinite(weight) and not BODY_WEIGHT_KG[0] <= weight <= BODY_WEIGHT_KG[1]:
            raise SuvConversionError(
                f"PET PatientWeight is not a plausible body weight ({BODY_WEIGHT_KG[0]:g} to "
                f"{BODY_WEIGHT_KG[1]:g} kg); fix the attribute"
            )
        _check_activity(slices[0])
    start = None
    if str(slices[0].get("DecayCorrection", "")).upper() == "START":
        start = _scan_start(slices)
        try:
            series = _dicom_datetime(slices[0].get("SeriesDate"), slices[0].get("SeriesTime"))
        except ValueError:
            series = None
        if (start is not None and series is not None
                and _after(series, start, dated=bool(slices[0].get("SeriesDate")))):
            log.warning(
                "PET SeriesTime is later than the series' first AcquisitionTime (a series "
                "reconstructed or exported again after the scan): the decay correction (START) "
                "is referenced to the first acquisition time, as in QIBA's SUV rule")
    return np.array([suv_factor(ds, scan_start=start) for ds in slices], dtype=np.float64)


def _check_activity(ds: pydicom.Dataset) -> None:
    """Refuse an injected activity (RadionuclideTotalDose, Bq) outside
    :data:`INJECTED_ACTIVITY_BQ`, saying which wrong unit it looks like; a missing or
    non-numeric dose is left to :func:`suv_factor`, which names it."""
    info_seq = ds.get("RadiopharmaceuticalInformationSequence")
    try:
        dose = float(info_seq[0].get("RadionuclideTotalDose"))
    except (TypeError, ValueError, IndexError):
        return
    low, high = INJECTED_ACTIVITY_BQ
    if not math.isfinite(dose) or dose <= 0 or low <= dose <= high:
        return
    units = [(unit, dose * bq) for unit, bq in _ACTIVITY_UNITS if low <= dose * bq <= high]
    hint = (
        "; it looks like a value in " + " or ".join(u for u, _ in units) + " ("
        + ", ".join(f"{dose:g} {u} = {v:.4g} Bq" for u, v in units) + ")"
        if dose < low and units
        else ""
    )
    raise SuvConversionError(
        f"PET RadionuclideTotalDose {dose:g} Bq is not a plausible injected activity "
        f"({low:g} to {high:g} Bq){hint}: give the activity in Bq, as DICOM requires"
    )
