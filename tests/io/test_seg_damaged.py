"""Damaged DICOM SEG files and SEGs reaching outside the image fail with one clear line.

SEGs are written with highdicom from the STS_001 CT series, then damaged with pydicom (or
cut short on disk). Decoding failures must be a DicomError naming the file and the fix,
never an internal ValueError/RuntimeError; segment voxels that fall outside the image grid
(image series missing slices the SEG was drawn on) must be refused, never dropped.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pydicom
import pytest

from _data import require_data
from _seg import sorted_sources, write_seg
from radiomix.errors import DicomError, GeometryMismatchError, InputError
from radiomix.io import load_image, load_mask
from radiomix.io.seg import read_seg

UID_LIKE = re.compile(r"\d+(?:\.\d+){3,}")


@pytest.fixture(scope="module")
def ct_sources():
    folder = require_data("sts", "dicom", "STS_001", "CT", "image")
    return folder, sorted_sources(folder)


@pytest.fixture(scope="module")
def seg_path(tmp_path_factory, ct_sources):
    _, sources = ct_sources
    mask = np.zeros((len(sources), sources[0].Rows, sources[0].Columns), dtype=bool)
    mask[20:30, 90:120, 60:90] = True
    path = tmp_path_factory.mktemp("seg") / "seg.dcm"
    write_seg(path, sources, mask, ["GTV"], series_number=99)
    return path


@pytest.fixture(scope="module")
def ct_image(ct_sources):
    folder, _ = ct_sources
    return load_image(folder)


def _truncated(src, dst):
    data = src.read_bytes()
    dst.write_bytes(data[:-3000])


def _frames_over_counted(src, dst):
    ds = pydicom.dcmread(src)
    ds.NumberOfFrames = int(ds.NumberOfFrames) + 3
    ds.save_as(dst)


def _pixel_data_short(src, dst):
    ds = pydicom.dcmread(src)
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    ds.save_as(dst)


def _per_frame_groups_short(src, dst):
    ds = pydicom.dcmread(src)
    ds.PerFrameFunctionalGroupsSequence = ds.PerFrameFunctionalGroupsSequence[:-2]
    ds.save_as(dst)


def _assert_one_clean_line(message: str, name: str) -> None:
    assert "\n" not in message
    assert name in message
    assert "bug" not in message.lower()
    assert not UID_LIKE.search(message), message
    assert "STS_001" not in message  # patient name/ID never printed


@pytest.mark.parametrize(
    "damage",
    [_truncated, _frames_over_counted, _pixel_data_short, _per_frame_groups_short],
    ids=["file-cut-short", "number-of-frames-too-large", "pixel-data-short", "pffg-short"],
)
def test_damaged_seg_is_a_dicom_error(tmp_path, seg_path, ct_image, damage):
    path = tmp_path / f"{damage.__name__.strip('_')}.dcm"
    damage(seg_path, path)
    with pytest.raises(DicomError) as info:
        load_mask(path, ct_image)
    message = str(info.value)
    _assert_one_clean_line(message, path.name)
    assert "is damaged" in message
    assert "export it again" in message


def test_damaged_seg_without_reference_is_a_dicom_error(tmp_path, seg_path):
    path = tmp_path / "cut.dcm"
    _truncated(seg_path, path)
    with pytest.raises(DicomError, match=r"SEG cut\.dcm is damaged .*export it again"):
        read_seg(path)


def test_intact_seg_still_loads(seg_path, ct_image):
    import SimpleITK as sitk

    mask = sitk.GetArrayFromImage(load_mask(seg_path, ct_image))
    assert mask.shape == sitk.GetArrayFromImage(ct_image).shape
    assert int(mask.sum()) == 10 * 30 * 30


def test_seg_partly_outside_image_is_refused(tmp_path, ct_sources, seg_path):
    # The image series holds only the slices below the 26th: half of the segmented
    # frames (slices 20..29) have no image slice and must not be silently dropped.
    _, sources = ct_sources
    partial = tmp_path / "partial"
    partial.mkdir()
    for ds in sources[:25]:
        shutil.copy(ds.filename, partial)
    image = load_image(partial)
    with pytest.raises(GeometryMismatchError) as info:
        load_mask(seg_path, image)
    message = str(info.value)
    _assert_one_clean_line(message, seg_path.name)
    assert isinstance(info.value, InputError)
    assert "4500 of 9000 segment voxels" in message
    assert "5 of 10 segmented frames" in message
    assert "outside the image field of view" in message
    assert "full image series" in message


def test_seg_frames_shifted_off_the_image_grid_are_named_as_the_cause(seg_path, ct_image,
                                                                      tmp_path):
    """Frames moved by half a pixel got the generic grid message, listing frame counts and
    a reversed z that are not the problem; the shift is now named first."""
    from radiomix.case import load_case

    ds = pydicom.dcmread(seg_path)
    spacing = float(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
                    .PixelSpacing[1])
    for frame in ds.PerFrameFunctionalGroupsSequence:
        pos = frame.PlanePositionSequence[0]
        pos.ImagePositionPatient = [float(pos.ImagePositionPatient[0]) + spacing / 2,
                                    *pos.ImagePositionPatient[1:]]
    shifted = tmp_path / "shifted.dcm"
    ds.save_as(shifted)
    image = require_data("sts", "dicom", "STS_001", "CT", "image")
    with pytest.raises(GeometryMismatchError, match=r"the frames of SEG shifted\.dcm lie off "
                                                    r"the image's voxel grid \(by [+-]0\.50, "
                                                    r"\+0\.00, \+0\.00 voxel along x, y, z\), "
                                                    r"within the image.*; image and mask grids "
                                                    r"differ"):
        load_case(image, shifted, label=1)
