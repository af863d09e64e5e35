"""Load images and masks: NIfTI, NRRD, MHA files, DICOM series, RTSTRUCT and DICOM SEG."""

from __future__ import annotations

from pathlib import Path

import pydicom
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.io.dicom import read_series
from radiomix.io.integrity import check_nifti
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
    image = _read_file(path, what="image")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{path} has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a scalar image is needed"
        )
    return sitk.Cast(_as_3d(image, path, what="image"), sitk.sitkFloat64)


def _read_file(path: Path, *, what: str) -> sitk.Image:
    """Read an image file with SimpleITK after the integrity checks it lacks.

    Empty files and NIfTI files that are truncated or hold NaN/inf (which SimpleITK would
    read as zeros) are refused by :func:`radiomix.io.integrity.check_nifti`; SimpleITK's
    own errors (unknown format, damaged NRRD/MHA data) become one-line input errors.
    """
    if path.stat().st_size == 0:
        raise InputError(f"{what} file {path} is empty (0 bytes); copy or export it again")
    if str(path).lower().endswith((".nii", ".nii.gz")):
        check_nifti(path)
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = lines[-1].removeprefix("sitk::ERROR:").strip() if lines else "unknown error"
        raise InputError(
            f"cannot read {what} file {path}: {reason[:200]}; check that it is a complete "
            f"{', '.join(FILE_SUFFIXES)} file"
        ) from None


def _as_3d(image: sitk.Image, path: Path, *, what: str) -> sitk.Image:
    """A 3D image: a 4D image with a single volume is reduced to it; others are refused."""
    dim = image.GetDimension()
    if dim == 3:
        return image
    size = image.GetSize()
    if dim == 4 and size[3] == 1:
        return sitk.Extract(image, (*size[:3], 0), (0, 0, 0, 0))
    if dim == 4:
        raise InputError(
            f"{what} {path} is 4D with {size[3]} volumes (size {size}); radiomix needs one 3D "
            "volume: extract the one to use first (e.g. fslroi or sitk.Extract)"
        )
    raise InputError(
        f"{what} {path} is {dim}D (size {size}); radiomix needs a 3D volume (a single slice "
        "must be stored as a 3D image of one slice)"
    )


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
    if not str(path).lower().endswith(FILE_SUFFIXES):
        raise InputError(
            f"unsupported mask format: {path} (expected {', '.join(FILE_SUFFIXES)}, an "
            "RTSTRUCT or a DICOM SEG)"
        )
    mask = _read_file(path, what="mask")
    if mask.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"mask {path} has {mask.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a label image is needed"
        )
    return _as_3d(mask, path, what="mask")
