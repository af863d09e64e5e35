"""RTSTRUCT damage of the third test round, on the STS_001 PET structure set.

A contour with one point moved by a slice is not planar and is refused as such (not as a
contour "between slices"); a contour deleted inside the ROI leaves a slice without
contour between contoured ones, which is read (an ROI may be made of separate parts) but
logged as a warning naming the ROI and the number of empty slices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import InputError
from radiomix.io import load_image, load_mask

ROI = "GTV_Mass_PET"


@pytest.fixture(scope="module")
def image() -> sitk.Image:
    return load_image(require_data("sts", "dicom", "STS_001", "PET", "image"))


def _rs(tmp_path: Path, edit: Callable[[pydicom.Dataset], None]) -> Path:
    ds = pydicom.dcmread(require_data("sts", "dicom", "STS_001", "PET", "mask", "RS.dcm"))
    edit(ds)
    path = tmp_path / "RS.dcm"
    ds.save_as(path)
    return path


def _voxels(mask: sitk.Image) -> int:
    return int(sitk.GetArrayFromImage(mask).sum())


def test_non_planar_contour_says_so(tmp_path, image):
    def edit(ds: pydicom.Dataset) -> None:
        contour = ds.ROIContourSequence[0].ContourSequence[5]
        data = [float(v) for v in contour.ContourData]
        data[2] += 3.27  # one point a slice higher
        contour.ContourData = data

    with pytest.raises(InputError) as err:
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)
    msg = str(err.value)
    assert msg.startswith(f"contour 6 of 32 of ROI {ROI!r} in RS.dcm (z = ")
    assert "is not planar: its points span 3.27 mm along the slice normal" in msg
    assert "does not lie on a slice" not in msg


def test_contour_between_slices_keeps_its_message(tmp_path, image):
    def edit(ds: pydicom.Dataset) -> None:
        contour = ds.ROIContourSequence[0].ContourSequence[5]
        pts = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
        pts[:, 2] += 1.6  # the whole contour half a slice off
        contour.ContourData = [f"{v:.4f}" for v in pts.ravel()]

    with pytest.raises(InputError, match=r"contour 6 of 32 .* does not lie on a slice of the "
                                         r"image \(slice index"):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)


def test_missing_interior_contour_is_warned(tmp_path, image, caplog):
    def edit(ds: pydicom.Dataset) -> None:
        del ds.ROIContourSequence[0].ContourSequence[10]  # the only contour of its slice

    with caplog.at_level(logging.WARNING, logger="radiomix"):
        whole = _voxels(load_mask(
            require_data("sts", "dicom", "STS_001", "PET", "mask", "RS.dcm"), image,
            roi_name=ROI))
    assert not caplog.records  # the intact ROI has no gap
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        gapped = _voxels(load_mask(_rs(tmp_path, edit), image, roi_name=ROI))
    assert 0 < gapped < whole  # read, not refused
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"ROI {ROI!r} in RS.dcm has 1 slice(s) without contour between its first and " \
           "last contoured slices" in warnings[0]
    assert "\n" not in warnings[0]


def test_a_contour_on_a_plane_across_the_slices_names_the_orientation(tmp_path, image):
    """An axial RTSTRUCT on a coronal series was called damaged ("not planar ... export it
    again"): its contours are planar, on planes across the image's slices."""
    def edit(ds: pydicom.Dataset) -> None:
        contour = ds.ROIContourSequence[0].ContourSequence[5]
        pts = np.asarray([float(v) for v in contour.ContourData]).reshape(-1, 3)
        centre = pts.mean(axis=0)
        tilted = pts.copy()  # the contour turned about x into a plane across the slices
        tilted[:, 1] = centre[1]
        tilted[:, 2] = centre[2] + (pts[:, 1] - centre[1])
        contour.ContourData = [float(v) for v in tilted.ravel()]

    with pytest.raises(InputError, match=r"contour 6 of 32 .* lies on a plane that is not "
                                         r"parallel to the image's slices .* drawn on a series of "
                                         r"another orientation"):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)
