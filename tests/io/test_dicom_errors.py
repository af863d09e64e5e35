"""Bad DICOM input raises typed errors with clear messages; no PHI reaches outputs."""

from __future__ import annotations

import logging
import shutil

import pydicom
import pytest
from typer.testing import CliRunner

from _data import require_data
from radiomix.cli import app
from radiomix.errors import DicomError, InputError, LabelNotFoundError
from radiomix.io import load_image, load_mask


@pytest.fixture
def ct_series(tmp_path):
    src = require_data("ibsi1", "ct_phantom", "dicom", "image")
    dst = tmp_path / "series"
    shutil.copytree(src, dst)
    return dst


def _by_position(folder):
    files = sorted(folder.glob("*.dcm"))
    return sorted(
        files,
        key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]),
    )


def test_missing_slice_is_named(ct_series):
    _by_position(ct_series)[30].unlink()
    with pytest.raises(
        DicomError, match=r"1 missing slice\(s\).*gap of 6\.000 mm.*median gap is 3\.000 mm"
    ):
        load_image(ct_series)


def test_irregular_spacing(ct_series):
    f = _by_position(ct_series)[10]
    ds = pydicom.dcmread(f)
    ds.ImagePositionPatient[2] = float(ds.ImagePositionPatient[2]) + 1.0
    ds.save_as(f)
    with pytest.raises(DicomError, match="irregular slice spacing"):
        load_image(ct_series)


def test_duplicated_slice(ct_series):
    f = _by_position(ct_series)[5]
    shutil.copy(f, ct_series / "copy.dcm")
    names = sorted([f.name, "copy.dcm"])
    with pytest.raises(DicomError, match=rf"\(({names[0]} and {names[1]}|{names[1]} and "
                                         rf"{names[0]})\) share the position .*remove the copy"):
        load_image(ct_series)


def test_two_series_need_a_choice(ct_series):
    f = _by_position(ct_series)[5]
    ds = pydicom.dcmread(f)
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(ct_series / "other.dcm")
    with pytest.raises(DicomError, match="holds 2 image series"):
        load_image(ct_series)


def test_empty_folder(tmp_path):
    with pytest.raises(DicomError, match="no DICOM image slices"):
        load_image(tmp_path)


def test_rtstruct_unknown_roi_lists_names(ct_series):
    rs = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    image = load_image(ct_series)
    with pytest.raises(LabelNotFoundError, match=r"ROI 'GTV1' not found.*did you mean 'GTV-1'"):
        load_mask(rs, image, roi_name="GTV1")


def test_rtstruct_contour_outside_field_of_view(tmp_path, ct_series):
    rs_path = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    ds = pydicom.dcmread(rs_path)
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    pts = [float(v) for v in contour.ContourData]
    pts[0::3] = [x + 400.0 for x in pts[0::3]]  # shift 40 cm to the side
    contour.ContourData = [f"{v:.4f}" for v in pts]
    out = tmp_path / "rs.dcm"
    ds.save_as(out)
    with pytest.raises(InputError, match="outside the image field of view"):
        load_mask(out, load_image(ct_series), roi_name="GTV-1")


def test_planted_patient_name_never_reaches_outputs_or_logs(tmp_path, ct_series, caplog):
    planted = "Doe^Planted^PHI"
    for f in ct_series.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientName = planted
        ds.PatientID = "PHI-ID-4242"
        ds.PatientBirthDate = "19010101"
        ds.save_as(f)
    rs = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    out = tmp_path / "features.json"
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(
        app,
        [
            "-v",
            "extract",
            str(ct_series),
            str(rs),
            "--roi-name",
            "GTV-1",
            "--preset",
            "ibsi-C",
            "--out",
            str(out),
            "--case-id",
            "case-7",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text() + result.output + caplog.text
    assert "case-7" in out.read_text()
    for secret in (planted, "Planted", "PHI-ID-4242", "19010101"):
        assert secret not in text
