"""PET SUV conversion: hand-computed body-weight SUV, a missing tag, GML pass-through."""

from __future__ import annotations

import math

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import label_bqml, require_data
from radiomix.errors import SuvConversionError
from radiomix.io import load_image


@pytest.fixture
def bqml_series(tmp_path):
    src = require_data("sts", "dicom", "STS_001", "PET", "image")
    dst = tmp_path / "pet"
    dst.mkdir()
    for f in sorted(src.glob("*.dcm"))[:3]:
        ds = pydicom.dcmread(f)
        label_bqml(ds)  # Bq/ml, not SUV
        ds.save_as(dst / f.name)
    return dst


def _raw(folder):
    files = sorted(folder.glob("*.dcm"))
    dss = sorted(
        (pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2])
    )
    return np.stack(
        [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss]
    )


def test_bqml_to_suv_by_hand(bqml_series):
    # one hour between injection and series start, 80 kg, 370 MBq of F-18 (T1/2 6586.2 s)
    decayed_dose = 370e6 * math.exp(-math.log(2) * 3600.0 / 6586.2)
    factor = 80_000.0 / decayed_dose
    got = sitk.GetArrayFromImage(load_image(bqml_series))
    np.testing.assert_allclose(got, _raw(bqml_series) * factor, rtol=1e-12)
    assert factor == pytest.approx(3.1581e-4, rel=1e-4)  # 80e3 / (370e6 x 0.68466)


def test_admin_decay_correction_uses_full_dose(bqml_series):
    for f in bqml_series.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.DecayCorrection = "ADMIN"
        ds.save_as(f)
    got = sitk.GetArrayFromImage(load_image(bqml_series))
    np.testing.assert_allclose(got, _raw(bqml_series) * 80_000.0 / 370e6, rtol=1e-12)


@pytest.mark.parametrize(
    ("tag", "where"),
    [("PatientWeight", "ds"), ("RadionuclideTotalDose", "info"), ("RadionuclideHalfLife", "info")],
)
def test_missing_tag_is_named(bqml_series, tag, where):
    for f in bqml_series.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        target = ds if where == "ds" else ds.RadiopharmaceuticalInformationSequence[0]
        delattr(target, tag)
        ds.save_as(f)
    with pytest.raises(SuvConversionError, match=f"attribute {tag} is missing"):
        load_image(bqml_series)


def test_unknown_units(bqml_series):
    for f in bqml_series.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.Units = "CNTS"
        ds.save_as(f)
    with pytest.raises(SuvConversionError, match="Units is 'CNTS'"):
        load_image(bqml_series)


def test_gml_passes_through_and_equals_nifti(tmp_path):
    folder = require_data("sts", "dicom", "STS_001", "PET", "image")
    dicom = load_image(folder)
    nifti = load_image(require_data("sts", "nifti", "STS_001", "pet", "image.nii.gz"))
    np.testing.assert_allclose(dicom.GetSpacing(), nifti.GetSpacing(), rtol=1e-5)
    # the NIfTI is a crop of the DICOM grid: find the offset and compare the overlap
    offset = np.asarray(dicom.TransformPhysicalPointToContinuousIndex(nifti.GetOrigin()))
    assert np.allclose(offset, np.round(offset), atol=1e-3)
    ox, oy, oz = (int(v) for v in np.round(offset))
    a = sitk.GetArrayFromImage(dicom)
    b = sitk.GetArrayFromImage(nifti)
    nz, ny, nx = b.shape
    window = a[oz : oz + nz, oy : oy + ny, ox : ox + nx]
    assert window.shape == b.shape
    np.testing.assert_allclose(window, b, atol=1e-5)


def _set(folder, **attrs):
    for f in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(f)
        for k, v in attrs.items():
            setattr(ds, k, v)
        ds.save_as(f)


@pytest.mark.parametrize("dated", [True, False])
def test_series_time_after_the_scan_uses_the_first_acquisition(bqml_series, caplog, dated):
    """DecayCorrection START with a SeriesTime later than the acquisition (a series
    reconstructed again at 13:00 for a scan at 11:00): the reference is the first
    acquisition time (QIBA), not the new SeriesTime, and a warning without any time says
    so."""
    _set(bqml_series, SeriesTime="130000", AcquisitionTime="110000",
         AcquisitionDate="20000101" if dated else "")
    if not dated:
        _set(bqml_series, SeriesDate="")
    decayed = 370e6 * math.exp(-math.log(2) * 3600.0 / 6586.2)  # one hour, as acquired
    with caplog.at_level("WARNING", logger="radiomix.io.dicom"):
        got = sitk.GetArrayFromImage(load_image(bqml_series))
    np.testing.assert_allclose(got, _raw(bqml_series) * 80_000.0 / decayed, rtol=1e-12)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "first acquisition time" in text
    assert "13" not in text
    assert "11" not in text


def test_series_time_before_the_acquisition_is_the_reference(bqml_series):
    # the usual case: the series starts at 11:00, slices acquired from 11:02
    _set(bqml_series, AcquisitionTime="110200", AcquisitionDate="20000101")
    decayed = 370e6 * math.exp(-math.log(2) * 3600.0 / 6586.2)
    got = sitk.GetArrayFromImage(load_image(bqml_series))
    np.testing.assert_allclose(got, _raw(bqml_series) * 80_000.0 / decayed, rtol=1e-12)


@pytest.mark.parametrize(("keyword", "value"), [("SeriesDate", "20000102"),
                                                 ("SeriesTime", "113000")])
def test_slices_differing_in_a_date_or_time_do_not_show_it(bqml_series, keyword, value):
    f = sorted(bqml_series.glob("*.dcm"))[-1]
    ds = pydicom.dcmread(f)
    setattr(ds, keyword, value)
    ds.save_as(f)
    with pytest.raises(SuvConversionError, match=f"differ in {keyword}") as err:
        load_image(bqml_series)
    message = str(err.value)
    for shown in (value, "20000101", "110000", "2000"):
        assert shown not in message


@pytest.mark.parametrize(("code", "words"), [("LBM", "lean body mass"),
                                             ("BSA", "body surface area")])
def test_suv_of_another_normalisation_is_refused(bqml_series, code, words):
    """A fourth-round finding: Units GML with SUVType LBM (SUL) was read as body-weight SUV
    with exit 0, though the README promises SUV body weight."""
    _set(bqml_series, Units="GML", SUVType=code)
    with pytest.raises(SuvConversionError, match=f"normalised by {words} "
                       rf"\(Units GML, SUVType {code}\), not by body weight"):
        load_image(bqml_series)


def test_suv_type_bw_or_absent_is_read(bqml_series):
    _set(bqml_series, Units="GML", SUVType="BW")
    expected = _raw(bqml_series)
    np.testing.assert_allclose(sitk.GetArrayFromImage(load_image(bqml_series)), expected)
