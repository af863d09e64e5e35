"""One case from its files to a checked case: the single loading path of radiomix.

Every part that reads an image and its tumour mask (extraction and the cohort runner,
the IBSI check, the stability perturbations, the standard-scale fit, the report's QC
thumbnails) calls :func:`load_case`, so that a case is read, rasterised and checked the
same way everywhere: the image in its stored pixel type (no float64 copy of the whole
volume; :func:`radiomix.process.pipeline.process_case` converts the crop around the ROI),
the mask as a label file, an RTSTRUCT rasterised on the image grid or a DICOM SEG, and the
checks of :func:`radiomix.check.check_case` (geometry, label, ROI size, finite values).
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radiomix._memory import keep_freed_heap
from radiomix.check import CheckedCase, check_case, geometry_differences
from radiomix.errors import UsageError
from radiomix.io.image import (
    FILE_SUFFIXES,
    _modality,
    file_stat,
    is_dicom_object,
    nifti_without_orientation,
    read_mask,
    read_volume,
)
from radiomix.io.volume import Volume

if TYPE_CHECKING:
    import SimpleITK as sitk

    from radiomix.settings import PreprocessSettings


def check_label(label: Any) -> int | None:
    """``label`` as a Python int: Python and numpy integers are accepted, nothing else.

    A string (``"1"`` read from a table) would otherwise be looked for among the integer
    labels of the mask and reported missing next to the label 1 that is there.

    Raises
    ------
    UsageError
        ``label`` is not ``None`` nor an integer (a bool, str or float is refused).
    """
    import numbers

    if label is None:
        return None
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)  # int and the numpy integer types
    whole = _whole_number(label)
    fix = f"pass label={whole}" if whole is not None else "pass the mask value as an int"
    raise UsageError(
        f"label must be an integer (the mask value of the ROI); got {type(label).__name__} "
        f"{label!r}: {fix}"
    )


def _whole_number(value: Any) -> int | None:
    """The whole number a str or float holds (``"1"``, ``1.0``), for the fix; else None."""
    if not isinstance(value, str | float):
        return None
    try:
        number = float(value)
        return int(number) if number == int(number) else None
    except (ValueError, OverflowError):
        return None


def check_case_id(case_id: Any, *, name: str = "case id") -> str | None:
    """``case_id`` as the text written in the table and messages: text as it is, an
    integer (or a whole float, as pandas reads an id column with gaps) as its digits.

    Raises
    ------
    UsageError
        Another type (bytes, a bool, a tuple, NaN), or text that is blank, has surrounding
        spaces or an invisible character (a zero-width space): it would look like no id,
        or like another case's.
    """
    import math
    import numbers

    if case_id is None:
        return None
    if isinstance(case_id, numbers.Integral) and not isinstance(case_id, bool):
        return str(int(case_id))
    if isinstance(case_id, numbers.Real) and not isinstance(case_id, bool):
        number = float(case_id)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
    if not isinstance(case_id, str):
        raise UsageError(f"{name} {case_id!r} is a {type(case_id).__name__}: give the case's "
                         "identifier as text or an integer")
    if not case_id.strip() or case_id != case_id.strip() or not case_id.isprintable():
        raise UsageError(f"{name} {case_id!r} is blank, has surrounding spaces or an "
                         "invisible character: give the case's identifier as plain text, or "
                         "none")
    return case_id


def load_case(
    image: str | Path | Volume | sitk.Image,
    mask: str | Path,
    *,
    label: int | None = None,
    roi_name: str | None = None,
    resample_mask: bool = False,
    min_voxels: int = 1,
    case_id: str | None = None,
    grid: Volume | sitk.Image | None = None,
) -> CheckedCase:
    """Read and check one image and its tumour mask.

    Parameters
    ----------
    image : path, Volume or SimpleITK.Image
        Image file (NIfTI, NRRD, MHA), DICOM series folder, or an image already in memory
        (a registered image, a rounded phantom).
    mask : path
        Label image file, RTSTRUCT or DICOM SEG.
    label : int, optional
        Label of a label image, or the segment number of a SEG.
    roi_name : str, optional
        RTSTRUCT ROI name, or SEG segment label.
    resample_mask : bool
        Resample a label image on another grid to the image grid (nearest neighbour);
        without it a grid difference is an error.
    min_voxels : int
        Smallest accepted ROI size in voxels.
    case_id : str, optional
        Manifest identifier put in front of every message.
    grid : Volume or SimpleITK.Image, optional
        Grid on which RTSTRUCT contours are rasterised and the mask is checked, when it is
        not the image's own (the reference grid of a registered image).

    Returns
    -------
    CheckedCase
        The image (stored pixel type) and its binary ROI on the same grid, with the
        SHA-256 of the NIfTI files read (``sha256``).

    Raises
    ------
    InputError
        Any problem of the case; its subclasses name it (unreadable or damaged file,
        geometry mismatch, label not found or ambiguous, empty or too small ROI, NaN or
        infinite voxels).
    """
    keep_freed_heap()  # once per process: the next case reuses this one's freed pages
    mask = Path(mask)  # each path made once: the readers take it as it is
    if isinstance(image, str | Path):
        image = Path(image)
        _refuse_same_file(image, mask, case_id)
    # an image in memory is checked as it is (SimpleITK images: dimension, components)
    digests: dict[Path, str] = {}  # the files hashed as they were read (NIfTI)
    ranges: dict[Path, tuple[float, float]] = {}  # float voxels' extremes, found reading
    img = (read_volume(image, digests=digests, ranges=ranges) if isinstance(image, Path)
           else image)
    label = check_label(label)
    dicom_mask = is_dicom_object(mask)  # RTSTRUCT / SEG: label picks the SEG segment
    msk = read_mask(
        mask, img if grid is None else grid, roi_name=roi_name,
        segment=label if dicom_mask else None, digests=digests,
    )
    checked = check_case(
        img,
        msk,
        label=None if dicom_mask else label,
        resample_mask=resample_mask,
        min_voxels=min_voxels,
        case_id=case_id,
        empty_roi=_empty_roi_message(mask.name, label, roi_name, dicom_mask, case_id),
        # the headers are read again only for grids that differ (the common case reads none)
        unplaced=_unplaced_files(image, mask) if geometry_differences(img, msk) else None,
        mask_name=mask.name,
        value_range=next(iter(ranges.values()), None),  # the image's (the one file read)
    )
    return replace(checked, sha256=tuple(digests.items()))


def _unplaced_files(image: str | Path | Volume | sitk.Image, mask: str | Path) -> str | None:
    """Words naming the NIfTI files among image and mask whose header has no orientation
    (their names only), or ``None``."""
    named = [(what, Path(p)) for what, p in (("image", image), ("mask", mask))
             if isinstance(p, str | Path)]
    found = [f"the {what} file {p.name}" for what, p in named if nifti_without_orientation(p)]
    return " and ".join(found) or None


def _empty_roi_message(name: str, label: int | None, roi_name: str | None,
                       dicom_mask: bool, case_id: str | None) -> str:
    """What selected no voxel, in the mask file ``name``, and what to do (no path: the
    file's name)."""
    from radiomix.check import _prefix

    if dicom_mask and roi_name is not None:
        what = f"the ROI {roi_name!r} of {name}"
        fix = "check that the mask belongs to this image, or choose another --roi-name"
    elif dicom_mask and label is not None:
        what = f"segment {label} of {name}"
        fix = "check that the mask belongs to this image, or choose another --label"
    elif dicom_mask:
        what = f"the ROI of {name}"
        fix = "check that the mask belongs to this image"
    elif label is not None:
        what = f"label {label} of {name}"
        fix = "check that the mask belongs to this image, or choose another --label"
    else:
        return (f"{_prefix(case_id)}the ROI is empty: the mask {name} holds no non-zero "
                "voxel; give the mask of this lesion")
    return f"{_prefix(case_id)}the ROI is empty: {what} selects no voxel of the image; {fix}"


def _refuse_same_file(image: Path, mask: Path, case_id: str | None) -> None:
    """Refuse an image that is the mask's file, or a byte-for-byte copy of it (the mask
    given as the image, or the image as the mask: which one cannot be told from the
    arguments; a copy in another format is caught on its voxels,
    :func:`radiomix.check.check_case`). Only files of equal size are read. The message
    names the files by their base names only."""
    image_stat = file_stat(image)
    if image_stat is None or not stat.S_ISREG(image_stat.st_mode):
        return  # folders (DICOM series) and missing files: the readers say what is wrong
    mask_stat = file_stat(mask)
    if mask_stat is None or not stat.S_ISREG(mask_stat.st_mode):
        return
    same = os.path.samestat(image_stat, mask_stat)
    copy = False
    if not same and image_stat.st_size == mask_stat.st_size:
        from radiomix.table import file_hash

        copy = file_hash(image) == file_hash(mask)
    if not (same or copy):
        return
    from radiomix.check import _prefix
    from radiomix.errors import InputError

    names = mask.name if image.name == mask.name else f"{image.name} and {mask.name}"
    what = (f"the same file ({mask.name})" if same else
            f"copies of one file, byte for byte ({names})")
    raise InputError(
        f"{_prefix(case_id)}the image and the mask are {what}: one was given in place of "
        "the other; give the image and its mask as two different files"
    )


def check_organ_mask(
    organ_mask: str | os.PathLike[str] | None, preprocess: PreprocessSettings
) -> None:
    """Refuse an organ mask, or an organ option, that the settings would not use.

    The organ mask only clips the peritumoral ring (``preprocess: {roi: ring, ring_clip:
    organ}``); without that it would be read and ignored. Its ROI is chosen by
    ``preprocess.organ_label`` (a label value, or SEG segment number) or
    ``preprocess.organ_roi_name`` (an RTSTRUCT ROI, or SEG segment label), each of which
    applies to some kinds of mask only.

    Parameters
    ----------
    organ_mask : path or None
        The organ mask given (``--organ-mask``, ``organ_mask=``).
    preprocess : PreprocessSettings
        The preprocessing settings of the extraction.

    Raises
    ------
    UsageError
        An organ mask without ``ring_clip: organ``, or an organ option that does not apply
        to the kind of organ mask (the message says what to use instead).
    """
    if organ_mask is None:
        return
    if preprocess.ring_clip != "organ":
        raise UsageError(
            "an organ mask (--organ-mask, organ_mask=) only clips the peritumoral ring, and "
            f"these settings have preprocess.roi {preprocess.roi} and ring_clip "
            f"{preprocess.ring_clip}: drop the organ mask, or set preprocess: {{roi: ring, "
            "ring_outer_mm: MM, ring_clip: organ}"
        )
    path = Path(organ_mask)
    if not path.is_file():
        return  # a missing organ mask is reported when it is read
    name = path.name
    label_image = name.lower().endswith(FILE_SUFFIXES)
    modality = None if label_image else _modality(path)
    if label_image and preprocess.organ_roi_name is not None:
        raise UsageError(
            f"preprocess.organ_roi_name {preprocess.organ_roi_name!r} does not apply to the "
            f"label-image organ mask {name}, which has label values, not names: use "
            "preprocess.organ_label instead"
        )
    if modality == "RTSTRUCT" and preprocess.organ_label is not None:
        raise UsageError(
            f"preprocess.organ_label {preprocess.organ_label} does not apply to the RTSTRUCT "
            f"organ mask {name}, whose ROIs are chosen by name: use preprocess.organ_roi_name "
            "instead"
        )
