"""Fifteenth round, damaged inputs: a mask rescaled or relabelled given as the image, and
the notes on a ROI whose features are defined but describe little (one grey level, one
voxel thick)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import (
    BQML_PER_SUV,
    dicom_copy,
    label_bqml,
    require_data,
    run_cli,
    sts_files,
    write_like,
)
from radiomix.errors import DicomError, InputError, SettingsError, SuvConversionError
from radiomix.extraction import extract

FAST = {"features": {"families": ["stat"]}}








@pytest.mark.parametrize(("scale", "dtype"), [(1000, np.int16), (2, np.uint8), (255, np.uint8),
                                              (0.5, np.float32)])
def test_a_rescaled_mask_given_as_the_image_is_refused(tmp_path, scale, dtype):
    """``extract mask*1000 mask`` wrote stat.mean = 1000 with exit 0: only an exact copy
    of the mask's values was refused."""
    image, mask = sts_files("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    scaled = (labels.astype(np.float64) * scale).astype(dtype)
    path = write_like(scaled, sitk.ReadImage(str(image)),
                       tmp_path / "scaled.nii.gz")
    with pytest.raises(InputError, match=r"the image is constant on each of the mask's labels "
                                         r".*it is the mask rescaled or relabelled"):
        extract(path, mask, settings=FAST)
    proc = run_cli("extract", str(path), str(mask), "-o", str(tmp_path / "t.csv"))
    assert proc.returncode == 1
    assert "rescaled or relabelled" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "t.csv").exists()


def test_a_relabelled_multi_label_map_and_another_binary_mask_are_refused(tmp_path):
    """A label map given as the image (each label a value, here the mask's ROI and a second
    structure) and another structure's binary mask (two values in all, one over the ROI)."""
    image, mask = sts_files("STS_002", "ct")
    ref = sitk.ReadImage(str(image))
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask))).astype(np.int16)
    two = labels.copy()
    two[:, :5, :5] = 2  # a second structure, outside the ROI
    multi = write_like(two, ref, tmp_path / "multi.nii.gz")
    multi_mask = write_like(two.astype(np.uint8), ref, tmp_path / "multi_mask.nii.gz")
    with pytest.raises(InputError, match="rescaled or relabelled"):
        extract(write_like(two * 7, ref, tmp_path / "x7.nii.gz"), multi_mask, label=1,
                settings=FAST)
    with pytest.raises(InputError, match="voxel for voxel"):
        extract(multi, multi_mask, label=1, settings=FAST)
    organ = np.zeros_like(labels)
    zs, ys, xs = np.nonzero(labels)
    organ[zs.min():zs.max() + 1, ys.min():ys.max() + 1, xs.min():xs.max() + 1] = 1
    with pytest.raises(InputError, match=r"the image holds only the values 0 and 1, one of "
                                         r"them over the whole ROI: it is a mask or label map"):
        extract(write_like(organ, ref, tmp_path / "organ.nii.gz"), mask, settings=FAST)


def test_a_real_image_constant_on_a_small_roi_is_still_extracted(tmp_path):
    """A ROI of one voxel is constant in any image: a real image varies outside it."""
    image, mask = sts_files("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    one = np.zeros_like(labels)
    one[tuple(np.argwhere(labels > 0)[0])] = 1
    path = write_like(one, sitk.ReadImage(str(mask)), tmp_path / "one.nii.gz")
    row = extract(image, path, settings=FAST).features
    value = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))[one > 0][0]
    assert row["image.original.stat.mean"] == pytest.approx(float(value), abs=0)


def _notes(image, mask, **settings):
    return extract(image, mask, settings={"features": {"families": ["morph", "glcm"]},
                                          **settings}).provenance["notes"]


def test_a_one_slice_roi_and_a_one_grey_level_roi_get_a_note(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    z = int(np.median(np.nonzero(labels)[0]))
    thin = np.zeros_like(labels)
    thin[z] = labels[z]
    thin_path = write_like(thin, sitk.ReadImage(str(mask)), tmp_path / "thin.nii.gz")
    notes = _notes(image, thin_path)
    assert notes["morph"].startswith("the ROI is one voxel thick along z: its surface mesh")
    assert "texture" not in notes
    wide = _notes(image, mask, discretisation={"method": "fbs", "bin_width": 1e5})
    assert wide["texture"].startswith("the ROI holds one grey level after discretisation")
    assert "morph" not in wide
    plain = _notes(image, mask)
    assert "morph" not in plain
    assert "texture" not in plain
    only_stat = extract(image, thin_path, settings=FAST).provenance["notes"]
    assert "morph" not in only_stat


def test_pet_in_activity_units_declared_pt_gets_a_note_and_a_warning(tmp_path, caplog):
    """A NIfTI PET in Bq/ml declared PT was extracted without a word: its features depend
    on the injected activity, weight and scan time, and do not compare as SUV."""
    image, mask = sts_files("STS_003", "pet")
    ref = sitk.ReadImage(str(image))
    suv = sitk.GetArrayFromImage(ref)
    bq = write_like((suv * 5300.0).astype(np.float32), ref, tmp_path / "bq.nii.gz")
    with caplog.at_level("WARNING"):
        notes = extract(bq, mask, settings=FAST, modality="PT").provenance["notes"]
    median = float(np.median(suv[sitk.GetArrayFromImage(sitk.ReadImage(str(mask))) > 0]))
    assert notes["units"].startswith(f"the PT image's ROI median is {median * 5300:.4g}, above "
                                     "any SUV (100): its values are activity concentration")
    assert "activity concentration (Bq/ml)" in caplog.text
    assert "units" not in extract(image, mask, settings=FAST, modality="PT").provenance["notes"]
    assert "units" not in extract(bq, mask, settings=FAST).provenance["notes"]


# -- DICOM PET whose values are not what its Units says; a weight typo ------------------




def _gml_over_bqml(ds: pydicom.Dataset) -> None:
    """The cohort's SUVs scaled to Bq/ml, left labelled GML (already SUV)."""
    ds.RescaleSlope = float(ds.RescaleSlope) * BQML_PER_SUV


def test_pet_labelled_suv_holding_activity_is_refused(tmp_path):
    """Units GML over Bq/ml values gave "SUV" means of 14 000 with exit 0."""
    folder, rs = dicom_copy(tmp_path, "PET", _gml_over_bqml)
    with pytest.raises(InputError, match=r"the PET series, read as SUV \(Units GML\), has a "
                                         r"median of [\d.e+]+ in the ROI, above any SUV \(100\)"):
        extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST)


def test_a_weight_no_body_of_its_size_has_is_refused(tmp_path):
    """PatientWeight 7.1 for 71 kg scaled every SUV by 10."""
    def typo(ds):
        label_bqml(ds)
        ds.PatientWeight = 8.0  # 80 kg typed as 8
        ds.PatientSize = 1.75

    folder, rs = dicom_copy(tmp_path, "PET", typo)
    with pytest.raises(SuvConversionError, match=r"PatientWeight 8 kg with PatientSize 1\.75 m "
                                                 r"gives a body mass index of 2\.6"):
        extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST)

    def no_size(ds):  # no usable size (0 is "unknown"): an adult's weight checked alone
        label_bqml(ds)
        ds.PatientWeight = 7.1
        ds.PatientSize = 0
        ds.PatientAge = "059Y"

    folder, rs = dicom_copy(tmp_path / "age", "PET", no_size)
    with pytest.raises(SuvConversionError, match=r"PatientWeight 7\.1 kg at PatientAge 059Y, "
                                                 r"below any adult's \(20 kg\)"):
        extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST)

    def right(ds):
        label_bqml(ds)
        ds.PatientSize = 1.75  # 80 kg: BMI 26

    folder, rs = dicom_copy(tmp_path / "ok", "PET", right)
    row = extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST).features
    assert 0.5 < row["image.original.stat.median"] < 20


def test_a_one_slice_series_without_its_thickness_is_refused(tmp_path):
    """One slice without SliceThickness was read 1 mm thick: every volume was a guess."""
    def drop(ds):
        for keyword in ("SliceThickness", "SpacingBetweenSlices"):
            if keyword in ds:
                delattr(ds, keyword)

    folder, _ = dicom_copy(tmp_path, "CT", drop, keep=20)
    from radiomix.io.dicom import read_series

    with pytest.raises(DicomError, match=r"the one-slice series in .* gives no SliceThickness "
                                         r"\(nor SpacingBetweenSlices\)"):
        read_series(folder)
    kept, _ = dicom_copy(tmp_path / "kept", "CT", lambda ds: None, keep=20)
    thickness = float(pydicom.dcmread(next(kept.glob("*.dcm"))).SliceThickness)
    assert read_series(kept).GetSpacing()[2] == thickness


# -- CT for display; a spacing coarser than the ROI; aggregations dropping families ----


def test_an_8_bit_ct_declared_ct_is_refused(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    hu = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.float64)
    window = np.clip((hu + 160.0) / 400.0 * 255.0, 0, 255).round().astype(np.uint8)
    path = write_like(window, sitk.ReadImage(str(image)), tmp_path / "u8.nii.gz")
    said = r"declared CT \(modality: CT\), holds values from 0 to 255 \({}\), 8-bit values"
    with pytest.raises(InputError, match=said.format("uint8")):
        extract(path, mask, settings=FAST, modality="CT")
    assert extract(path, mask, settings=FAST).features  # undeclared: read as given
    for dtype in ("int16", "float32"):  # the same window in a wider type
        wide = write_like(window.astype(dtype), sitk.ReadImage(str(image)),
                          tmp_path / f"{dtype}.nii.gz")
        with pytest.raises(InputError, match=said.format(dtype)):
            extract(wide, mask, settings=FAST, modality="CT")


def test_pet_far_below_any_suv_declared_pt_gets_a_note(tmp_path):
    """Activity in MBq/ml (ROI median 0.026) passed without a word."""
    image, mask = sts_files("STS_003", "pet")
    ref = sitk.ReadImage(str(image))
    small = write_like((sitk.GetArrayFromImage(ref) / 1000.0).astype(np.float32), ref,
                       tmp_path / "mbq.nii.gz")
    notes = extract(small, mask, settings=FAST, modality="PT").provenance["notes"]
    assert notes["units"].startswith("the PT image's maximum is ")
    assert "below any SUV of tissue or tracer (0.05)" in notes["units"]


def test_a_spacing_whose_voxel_outgrows_the_roi_is_refused(tmp_path):
    """A 500 mm spacing gave a volume of 125 000 000 mm³ for a tumour of 53 000 mm³."""
    image, mask = sts_files("STS_002", "ct")
    with pytest.raises(SettingsError, match=r"interpolation.spacing \(500.0, 500.0, 500.0\) mm "
                                            r"gives voxels of 1.25e\+08 mm³, larger than the "
                                            r"whole ROI"):
        extract(image, mask, settings={**FAST, "interpolation": {"spacing": [500, 500, 500]}})
    proc = run_cli("extract", str(image), str(mask), "-o", str(tmp_path / "t.csv"), "--config",
                str(_yaml(tmp_path, "interpolation: {spacing: [500, 500, 500]}")))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    row = extract(image, mask, settings={**FAST, "interpolation": {"spacing": [30, 30, 30]}})
    assert 0.0 < row.features["image.original.stat.mean"] < 100.0  # soft tissue, in HU


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text + "\n")
    return path


@pytest.mark.parametrize(("given", "left"), [
    (["3d_merged"], "glszm, gldzm, ngtdm, ngldm"), (["3d"], "glcm, glrlm"),
    (["2d_averaged"], "glszm, gldzm, ngtdm, ngldm")])
def test_aggregations_that_leave_a_family_out_are_refused(given, left):
    """``aggregations: [3d_merged]`` wrote 122 of 217 columns: four families dropped."""
    from radiomix.settings.loader import settings_from_dict

    with pytest.raises(SettingsError, match=rf"features.aggregations .* leave out the families "
                                            rf"{left}, which aggregate as"):
        settings_from_dict({"features": {"aggregations": given}})
    assert settings_from_dict({"features": {"aggregations": given, "families": ["stat"]}})
    assert settings_from_dict({"features": {"aggregations": ["3d_merged", "3d"]}})


# -- CT rescaling, distances, messages ------------------------------------------------------


def test_a_ct_series_whose_slices_disagree_on_their_rescaling_is_refused(tmp_path):
    """One slice with slope 10 gave -10 000 HU; one with intercept -1024 put a slice 1 000
    HU below its neighbours: both exit 0."""
    seen = {"n": 0}

    def one_slice(ds):
        seen["n"] += 1
        if seen["n"] == 30:
            ds.RescaleSlope = 10.0

    folder, rs = dicom_copy(tmp_path, "CT", one_slice)
    with pytest.raises(DicomError, match=r"slice 30 of \d+ \(.*\) of the CT series in .* is "
                                         r"rescaled apart from the rest \(RescaleSlope 10, "
                                         r"RescaleIntercept 0; \d+ slices have 1, 0\)"):
        extract(folder, rs, roi_name="GTV_Mass_CT", settings=FAST)
    seen["n"] = 0

    def reencoded(ds):  # one slice stored as HU + 1024 with intercept -1024: the same HU
        seen["n"] += 1
        if seen["n"] == 30:
            hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(
                ds.RescaleIntercept)
            ds.PixelRepresentation = 1
            ds.PixelData = (hu + 1024).astype(np.int16).tobytes()
            ds.RescaleIntercept = -1024

    same, _ = dicom_copy(tmp_path / "same", "CT", reencoded)
    plain = extract(require_data("sts", "dicom", "STS_001", "CT", "image"), rs,
                    roi_name="GTV_Mass_CT", settings=FAST).features
    again = extract(same, rs, roi_name="GTV_Mass_CT", settings=FAST).features
    assert again == plain


def test_ct_air_spread_below_air_is_refused(tmp_path):
    """Slope 2 and intercept -1000 put air at -3000 and a sarcoma at -942 HU: exit 0."""
    image, mask = sts_files("STS_002", "ct")
    hu = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.float64)
    stored = hu + 1000.0  # air 0, tissue about 1040
    bad = write_like((stored * 2.0 - 3000.0).astype(np.int16), sitk.ReadImage(str(image)),
                      tmp_path / "slope.nii.gz")
    with pytest.raises(InputError, match=r"of its voxels spread from -3000 to -1150 HU, below "
                                         r"air \(-1000 HU\)"):
        extract(bad, mask, settings=FAST, modality="CT")
    fill = hu.copy()
    fill[:, :, :3] = -3024.0  # one exact fill value outside the field of view: read
    filled = write_like(fill.astype(np.int16), sitk.ReadImage(str(image)),
                         tmp_path / "fill.nii.gz")
    assert extract(filled, mask, settings=FAST, modality="CT").features


def test_a_distance_beyond_the_roi_region_is_a_settings_error(tmp_path):
    """glcm_distance 1000 reported "out of memory" (exit 1) after allocating 64 GiB."""
    image, mask = sts_files("STS_002", "ct")
    with pytest.raises(SettingsError, match=r"a distance of 1000 voxels \(features.glcm_distance"
                                            r".*reaches beyond the region around the ROI"):
        extract(image, mask, settings={"features": {"families": ["glcm"],
                                                    "glcm_distance": 1000}})
    assert extract(image, mask, settings={"features": {"families": ["glcm"],
                                                       "glcm_distance": 3}}).features


def test_api_messages_for_a_spacing_text_and_empty_arrays():
    import radiomix

    a = np.random.default_rng(0).normal(size=(10, 10, 10))
    m = np.zeros((10, 10, 10), np.uint8)
    m[3:6, 3:6, 3:6] = 1
    with pytest.raises(SettingsError, match=r"interpolation.spacing must be a list of 3 numbers "
                                            r"in mm \(z, y, x\), e.g. \[1, 1, 1\]; got '2mm'"):
        radiomix.extract(a, m, spacing=(1, 1, 1), interpolation__spacing="2mm")
    with pytest.raises(InputError, match=r"image array has shape \(0, 0, 0\): it holds no voxel"):
        radiomix.extract(np.zeros((0, 0, 0)), np.zeros((0, 0, 0), np.uint8), spacing=(1, 1, 1))


def test_warnings_are_one_line_each_in_a_log_file(tmp_path):
    """Off a terminal, rich wrapped every warning at 80 columns: grep found half of it."""
    image, mask = sts_files("STS_003", "pet")
    proc = run_cli("extract", str(image), str(mask), "-o", str(tmp_path / "t.csv"))
    assert proc.returncode == 0
    (line,) = [x for x in proc.stderr.splitlines() if "intensity-volume histogram" in x]
    assert line.startswith("WARNING  intensity-volume histogram not computed")
    assert line.endswith("(interpolation.round_intensities for CT)")


def test_a_modality_column_of_a_cases_table_is_said_to_be_unread(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    cases = tmp_path / "cases.csv"
    cases.write_text(f"case_id,image,mask,modality\nA,{image},{mask},PT\n")
    proc = run_cli("extract-many", str(cases), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert ("cases.csv: column 'modality' is not read per case (the columns read are image, "
            "mask, label, roi_name, case_id); give it for every case with --modality") in \
        " ".join(proc.stderr.split())
