"""Load images and masks: NIfTI, NRRD, MHA files, DICOM series, RTSTRUCT and DICOM SEG."""

from __future__ import annotations

from pathlib import Path

import pydicom
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.io.dicom import read_series
from radiomix.io.rtstruct import rasterise_rtstruct
from radiomix.io.seg import read_seg

FILE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def load_image(path: str | Path) -> sitk.Image:
    """Load an image as float64: a NIfTI/NRRD/MHA file or a DICOM series folder.

    Parameters
    ----------
    path : str or Path
        Image file, or a folder holding one DICOM image series (see
        :func:`radiomix.io.dicom.read_series`).

    Returns
    -------
    image : SimpleITK.Image
        Scalar float64 image with its geometry.
    """
    path = Path(path)
    if path.is_dir():
        return read_series(path)
    if not path.exists():
        raise InputError(f"image not found: {path}")
    if not str(path).lower().endswith(FILE_SUFFIXES):
        if _modality(path) is not None:
            raise InputError(f"{path} is a single DICOM file; pass the folder of its series")
        raise InputError(f"unsupported image format: {path} (expected {', '.join(FILE_SUFFIXES)})")
    image = sitk.ReadImage(str(path))
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{path} has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a scalar image is needed"
        )
    return sitk.Cast(image, sitk.sitkFloat64)


def _modality(path: Path) -> str | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    return str(ds.get("Modality", ""))


def is_dicom_object(path: str | Path) -> bool:
    """True when ``path`` is a single DICOM file (RTSTRUCT, SEG, ...) rather than a label
    image file or a folder."""
    path = Path(path)
    return (
        path.is_file()
        and not str(path).lower().endswith(FILE_SUFFIXES)
        and _modality(path) is not None
    )


def load_mask(
    path: str | Path,
    reference: sitk.Image,
    *,
    roi_name: str | None = None,
    segment: int | str | None = None,
) -> sitk.Image:
    """Load a mask: label image file, RTSTRUCT (rasterised on ``reference``) or DICOM SEG.

    Parameters
    ----------
    path : str or Path
        Mask file.
    reference : SimpleITK.Image
        The image; RTSTRUCT contours are rasterised on its grid.
    roi_name : str, optional
        RTSTRUCT ROI name, or SEG segment label.
    segment : int or str, optional
        SEG segment number (or label).

    Returns
    -------
    mask : SimpleITK.Image
        The mask with its own geometry and label values (checked later by
        :func:`radiomix.check.check_case`).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"mask not found: {path}")
    if path.is_file() and not str(path).lower().endswith(FILE_SUFFIXES):
        modality = _modality(path)
        if modality == "RTSTRUCT":
            return rasterise_rtstruct(path, reference, roi_name=roi_name)
        if modality == "SEG":
            return read_seg(
                path, segment=segment if segment is not None else roi_name, reference=reference
            )
        raise InputError(f"unsupported mask format: {path}")
    if path.is_dir():
        raise InputError(
            f"mask path {path} is a folder; pass the mask file (NIfTI, RTSTRUCT or SEG)"
        )
    return sitk.ReadImage(str(path))
