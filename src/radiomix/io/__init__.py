"""Loading of images and masks (SimpleITK, pydicom, highdicom)."""

from radiomix.io.dicom import read_series, suv_factor
from radiomix.io.image import is_dicom_object, load_image, load_mask
from radiomix.io.rtstruct import rasterise_rtstruct, roi_names
from radiomix.io.seg import read_seg

__all__ = [
    "is_dicom_object",
    "load_image",
    "load_mask",
    "rasterise_rtstruct",
    "read_seg",
    "read_series",
    "roi_names",
    "suv_factor",
]
