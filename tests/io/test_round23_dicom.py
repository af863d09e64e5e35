"""DICOM findings of outside tester 23c: a SEG frame lost inside a segment, a CT series
declaring RescaleType US, a fractional SEG wholly below its threshold, a CT intercept
edited on a few slices by less than the refused jump.

SEGs are written with highdicom from the STS_001 CT series (copies of the frames, never
the shared files); CT series are copies of its slices edited with pydicom.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import require_data
from _seg import sorted_sources, write_seg
from radiomix.case import load_case
from radiomix.errors import DicomError, EmptyRoiError
from radiomix.io import load_image

SEG_NOTE = ("SEG segment 1 ('GTV') has 1 slice(s) without segment voxels between its first "
            "and last segmented slices (image slices 20 to 29), left out of the mask: a frame "
            "lost in an export, unless the segment is made of separate parts")


@pytest.fixture(scope="module")
def ct_sources():
    folder = require_data("sts", "dicom", "STS_001", "CT", "image")
    return folder, sorted_sources(folder)


@pytest.fixture(scope="module")
def ct_image(ct_sources):
    return load_image(ct_sources[0])


def _box(sources) -> np.ndarray:
    mask = np.zeros((len(sources), sources[0].Rows, sources[0].Columns), dtype=bool)
    mask[20:30, 90:120, 60:90] = True
    return mask


# --- finding 1: a SEG frame missing (or empty) inside the segment -----------------------

@pytest.mark.parametrize("omit_empty_frames", [True, False], ids=["frame-missing", "frame-empty"])
def test_a_seg_slice_lost_inside_the_segment_is_warned_and_noted(
        tmp_path, ct_sources, ct_image, caplog, omit_empty_frames):
    # tester 23c: a frame removed in the middle of the tumour was read as an empty slice
    # (-5 % volume) without a word; the same gap in an RTSTRUCT is warned and noted
    _, sources = ct_sources
    mask = _box(sources)
    mask[25] = False  # highdicom leaves the empty frame out unless told to keep it
    path = write_seg(tmp_path / "seg.dcm", sources, mask, ["GTV"],
                     omit_empty_frames=omit_empty_frames)
    if omit_empty_frames:
        assert int(pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames) == 9
    with caplog.at_level(logging.WARNING, logger="radiomix.io.rtstruct"):
        case = load_case(ct_image, path, case_id="c1")
    assert case.n_voxels == int(mask.sum())  # read as stored, not filled in
    assert dict(case.notes) == {"mask": SEG_NOTE}
    assert ("segment 1 ('GTV') in seg.dcm has 1 slice(s) without segment voxels between its "
            "first and last segmented slices (image slices 20 to 29); they are left out of "
            "the mask: check the SEG unless the segment is made of separate parts"
            ) in caplog.text


def test_an_intact_seg_has_no_gap_note(tmp_path, ct_sources, ct_image, caplog):
    _, sources = ct_sources
    path = write_seg(tmp_path / "seg.dcm", sources, _box(sources), ["GTV"])
    with caplog.at_level(logging.WARNING):
        case = load_case(ct_image, path)
    assert case.notes == ()
    assert "without segment voxels" not in caplog.text


def test_the_rtstruct_gap_rule_is_the_seg_gap_rule():
    # one implementation: the RTSTRUCT note keeps its words
    from radiomix.io.rtstruct import warn_slice_gaps

    assert warn_slice_gaps([3, 4, 6, 8], kind="RTSTRUCT", what="ROI 'GTV'", noun="ROI",
                           name="RS.dcm") == (
        "RTSTRUCT ROI 'GTV' has 2 slice(s) without contour between its first and last "
        "contoured slices (image slices 3 to 8), left out of the mask: a contour lost in an "
        "export, unless the ROI is made of separate parts")
    assert warn_slice_gaps([3, 4, 5], kind="SEG", what="x", noun="segment", name="s") is None
    assert warn_slice_gaps([], kind="SEG", what="x", noun="segment", name="s") is None


# --- finding 3: a fractional SEG wholly below the threshold -----------------------------

def test_a_fractional_seg_below_its_threshold_names_the_threshold(
        tmp_path, ct_sources, ct_image):
    # tester 23c: all fractions 0.45 gave "the ROI is empty ... check that the mask belongs
    # to this image", never naming the threshold that emptied it
    _, sources = ct_sources
    frac = np.where(_box(sources), 0.45, 0.0).astype(np.float32)
    path = write_seg(tmp_path / "frac.dcm", sources, frac, ["GTV"],
                     hd.seg.SegmentationTypeValues.FRACTIONAL, max_fractional_value=255)
    with pytest.raises(EmptyRoiError) as info:
        load_case(ct_image, path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("segment 1 ('GTV') of the FRACTIONAL SEG frac.dcm has no voxel "
                              "whose fraction reaches the threshold 0.5 (its largest fraction "
                              "is 0.45")
    assert message.endswith("so its mask is empty: export the segmentation with the lesion "
                            "at fractions of 0.5 or more, or as a BINARY SEG")


def test_a_fractional_seg_keeps_fractions_at_the_threshold_and_above(
        tmp_path, ct_sources, ct_image):
    # the rule the README states: fraction (stored / MaximumFractionalValue) >= 0.5 is kept
    _, sources = ct_sources
    box = _box(sources)
    frac = np.where(box, 0.4, 0.0).astype(np.float32)
    frac[20:25] = np.where(box[20:25], 0.6, 0.0)
    path = write_seg(tmp_path / "frac.dcm", sources, frac, ["GTV"],
                     hd.seg.SegmentationTypeValues.FRACTIONAL, max_fractional_value=255)
    case = load_case(ct_image, path)
    assert case.n_voxels == int(box[20:25].sum())


# --- finding 2: a CT series declaring RescaleType other than HU --------------------------

Edit = Callable[[pydicom.Dataset, int], None]


def _copy_ct(tmp_path: Path, edit: Edit, count: int = 9, name: str = "ct") -> Path:
    """The first ``count`` slices of the STS_001 CT series, each edited, in ``tmp_path``."""
    src = require_data("sts", "dicom", "STS_001", "CT", "image")
    dst = tmp_path / name
    dst.mkdir()
    for i, f in enumerate(sorted(src.glob("*.dcm"))[:count]):
        ds = pydicom.dcmread(f)
        edit(ds, i)
        ds.save_as(dst / f.name)
    return dst


def _rescale_type(value: str) -> Edit:
    def edit(ds: pydicom.Dataset, i: int) -> None:
        ds.RescaleType = value
    return edit


@pytest.mark.parametrize("value", ["US", "HU_MOD", "OD"])
def test_a_ct_series_declaring_values_not_in_hu_is_refused(tmp_path, value):
    folder = _copy_ct(tmp_path, _rescale_type(value), count=3)
    with pytest.raises(DicomError) as info:
        load_image(folder)
    message = str(info.value)
    assert "\n" not in message
    assert f"declares RescaleType {value!r} (0028,1054): its rescaled values are not " \
           "Hounsfield units" in message
    assert "export the series again in HU" in message


@pytest.mark.parametrize("value", ["HU", "hu"])
def test_a_ct_series_in_hu_is_read_with_or_without_rescale_type(tmp_path, value):
    folder = _copy_ct(tmp_path, _rescale_type(value), count=3)
    plain = load_image(require_data("sts", "dicom", "STS_001", "CT", "image"))
    image = load_image(folder)
    assert image.GetSize()[:2] == plain.GetSize()[:2]


def test_a_ct_series_with_one_slice_in_us_is_still_refused_as_mixed(tmp_path):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 1:
            ds.RescaleType = "US"

    with pytest.raises(DicomError, match="differ in RescaleType"):
        load_image(_copy_ct(tmp_path, edit, count=3))


# --- finding 4: an intercept edited by less than the refused jump ------------------------

def _intercept(slices: range, add: float, *, re_encode: bool = False) -> Edit:
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i in slices:
            if re_encode:  # the same HU stored otherwise: no edit
                values = ds.pixel_array.astype(np.int32) - int(add)
                ds.PixelData = values.astype("<i2").tobytes()
            ds.RescaleIntercept = float(ds.RescaleIntercept) + add
    return edit


@pytest.mark.parametrize(("edited", "add", "which"), [
    (range(4, 5), 150.0, "1 slice(s) of the CT series in {} (slice 5 of 9)"),
    (range(3, 6), 200.0, "3 slice(s) of the CT series in {} (slices 4 to 6 of 9)"),
])
def test_a_ct_intercept_edited_below_the_refused_jump_is_warned(
        tmp_path, caplog, edited, add, which):
    # tester 23c: per-slice intercepts edited by up to 300 HU were read without a word
    folder = _copy_ct(tmp_path, _intercept(edited, add))
    with caplog.at_level(logging.WARNING, logger="radiomix.io.dicom"):
        load_image(folder)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{which.format(folder)} are rescaled apart from the rest (")
    assert "their RescaleIntercept or RescaleSlope may have been edited" in warnings[0]
    assert "\n" not in warnings[0]


def test_a_ct_slice_encoded_otherwise_with_the_same_hu_is_read_without_warning(
        tmp_path, caplog):
    folder = _copy_ct(tmp_path, _intercept(range(4, 5), 200.0, re_encode=True))
    with caplog.at_level(logging.WARNING, logger="radiomix.io.dicom"):
        image = load_image(folder)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    plain = load_image(_copy_ct(tmp_path, lambda ds, i: None, name="plain"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(plain))
