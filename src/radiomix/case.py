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

from pathlib import Path
from typing import TYPE_CHECKING

from radiomix.check import CheckedCase, check_case
from radiomix.io.image import is_dicom_object, read_mask, read_volume
from radiomix.io.volume import Volume

if TYPE_CHECKING:
    import SimpleITK as sitk


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
        The image (stored pixel type) and its binary ROI on the same grid.

    Raises
    ------
    InputError
        Any problem of the case; its subclasses name it (unreadable or damaged file,
        geometry mismatch, label not found or ambiguous, empty or too small ROI, NaN or
        infinite voxels).
    """
    # an image in memory is checked as it is (SimpleITK images: dimension, components)
    img = read_volume(image) if isinstance(image, str | Path) else image
    dicom_mask = is_dicom_object(mask)  # RTSTRUCT / SEG: label picks the SEG segment
    msk = read_mask(
        mask, img if grid is None else grid, roi_name=roi_name,
        segment=label if dicom_mask else None,
    )
    return check_case(
        img,
        msk,
        label=None if dicom_mask else label,
        resample_mask=resample_mask,
        min_voxels=min_voxels,
        case_id=case_id,
    )
