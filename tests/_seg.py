"""DICOM SEG files for the tests, written with highdicom from real source slices."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from highdicom.sr.coding import CodedConcept
from pydicom.sr.codedict import codes


def sorted_sources(folder: Path) -> list[pydicom.Dataset]:
    """The slices of a DICOM series folder, ordered along z."""
    sources = [pydicom.dcmread(f) for f in sorted(folder.glob("*.dcm"))]
    sources.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    return sources


def write_seg(path: Path, sources: Sequence[pydicom.Dataset], masks: np.ndarray,
              labels: Sequence[str], seg_type: Any = hd.seg.SegmentationTypeValues.BINARY,
              **extra: Any) -> Path:
    """A SEG of ``masks`` (one segment per label, numbered from 1) on ``sources``."""
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=CodedConcept("108369006", "SCT", "Neoplasm"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for i, label in enumerate(labels)
    ]
    hd.seg.Segmentation(
        source_images=list(sources),
        pixel_array=masks,
        segmentation_type=seg_type,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=extra.pop("series_number", 100),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="radiomix-tests",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
        **extra,
    ).save_as(path)
    return path
