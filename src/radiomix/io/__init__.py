"""Loading of images and masks (SimpleITK, pydicom, highdicom).

The names below are imported on first use, so that importing one reader (a NIfTI file's,
:mod:`radiomix.io.image`) does not import the others and SimpleITK with them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiomix.io.dicom import read_series, suv_factor
    from radiomix.io.image import (
        is_dicom_object,
        load_image,
        load_mask,
        read_image,
        read_mask,
        read_volume,
    )
    from radiomix.io.rtstruct import rasterise_rtstruct, roi_names
    from radiomix.io.seg import read_seg
    from radiomix.io.volume import Volume

_SOURCES = {
    "is_dicom_object": "radiomix.io.image",
    "load_image": "radiomix.io.image",
    "load_mask": "radiomix.io.image",
    "read_image": "radiomix.io.image",
    "read_mask": "radiomix.io.image",
    "read_volume": "radiomix.io.image",
    "rasterise_rtstruct": "radiomix.io.rtstruct",
    "read_seg": "radiomix.io.seg",
    "read_series": "radiomix.io.dicom",
    "roi_names": "radiomix.io.rtstruct",
    "suv_factor": "radiomix.io.dicom",
    "Volume": "radiomix.io.volume",
}

__all__ = [
    "Volume",
    "is_dicom_object",
    "load_image",
    "load_mask",
    "rasterise_rtstruct",
    "read_image",
    "read_mask",
    "read_seg",
    "read_series",
    "read_volume",
    "roi_names",
    "suv_factor",
]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'radiomix.io' has no attribute {name!r}")
    return getattr(importlib.import_module(_SOURCES[name]), name)
