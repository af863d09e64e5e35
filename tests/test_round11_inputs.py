"""Eleventh outside round, damaged inputs: numbers written from the mask given as the image,
a misspelt modality, CT and PET values in the wrong units, a bin width beside fbn, a PET
half-life that contradicts its radionuclide; and the messages around them."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _data import BQML_PER_SUV, require_data, run_cli, sts_files, write_like
from radiomix.errors import (
    EmptyRoiError,
    InputError,
    InvalidIntensityError,
    SettingsError,
    SuvConversionError,
)
from radiomix.extraction import extract
from radiomix.settings.loader import settings_from_dict

FAST = {"features": {"families": ["stat"]}}








# -- the mask given as the image ---------------------------------------------------------


def test_the_mask_given_as_the_image_is_refused_in_every_form(tmp_path):
    """extract wrote stat.mean = 1.0 beside the true volume with exit 0."""
    _, mask = sts_files("STS_003", "ct")
    with pytest.raises(InputError, match=r"the image and the mask are the same file "
                                         r"\(mask\.nii\.gz\): one was given in place of the "
                                         r"other"):
        extract(mask, mask, settings=FAST)
    copy = tmp_path / "copy.nii.gz"
    copy.write_bytes(mask.read_bytes())  # another file, the same bytes
    with pytest.raises(InputError, match="copies of one file, byte for byte"):
        extract(copy, mask, settings=FAST)
    other = tmp_path / "as_nrrd.nrrd"  # another format: caught on its voxels
    sitk.WriteImage(sitk.ReadImage(str(mask)), str(other))
    with pytest.raises(InputError, match=r"the image's voxels are the mask's values, voxel "
                                         r"for voxel"):
        extract(other, mask, settings=FAST)
    # the command line: one line, exit 1
    proc = run_cli("extract", str(mask), str(mask), "-o", str(tmp_path / "t.csv"))
    assert proc.returncode == 1
    assert "same file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "t.csv").exists()


def test_an_image_constant_in_the_roi_that_is_not_the_mask_is_still_extracted(tmp_path):
    """The voxel comparison only refuses an exact copy of the mask's values: an image of
    ones inside the ROI and zeros outside (the mask's values) is refused, the same with one
    voxel outside changed is extracted."""
    image, mask = sts_files("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask))).astype(np.int16)
    ref = sitk.ReadImage(str(image))
    with pytest.raises(InputError, match="voxel for voxel"):
        extract(write_like(labels, ref, tmp_path / "copy.nii.gz"), mask, settings=FAST)
    labels[0, 0, 0] = 5  # outside the ROI
    row = extract(write_like(labels, ref, tmp_path / "nearly.nii.gz"), mask,
                  settings=FAST).features
    assert row["image.original.stat.mean"] == 1.0


# -- the declared modality ----------------------------------------------------------------


@pytest.mark.parametrize(("given", "meant"), [("CTT", "'CT'"), ("PET", "'PT'"), ("mri", "'MR'"),
                                               ("XR", "'DX'")])
def test_a_misspelt_modality_is_refused_with_the_code_meant(given, meant):
    """A misspelt modality switched the HU check off without a word."""
    from radiomix.settings.study import TagSettings

    with pytest.raises(SettingsError, match=rf"modality '{given}' is not a DICOM image "
                                            rf"modality: did you mean {meant}"):
        TagSettings(modality=given)
    image, mask = sts_files("STS_002", "ct")
    with pytest.raises(SettingsError, match="did you mean"):
        extract(image, mask, settings=FAST, modality=given)
    assert TagSettings(modality=" ct ").modality == "CT"
    # in a study file the message names the tag
    with pytest.raises(SettingsError, match=rf"^tags\.ct\.modality '{given}' is not"):
        settings_from_dict({"modality": given}, cls=TagSettings, _where="tags.ct")


def test_ct_in_other_units_or_flipped_is_refused_when_declared_ct(tmp_path):
    image, mask = sts_files("STS_003", "ct")
    ct = sitk.ReadImage(str(image))
    hu = sitk.GetArrayFromImage(ct)
    khu = write_like(hu.astype(np.float32) / 1000, ct, tmp_path / "khu.nii.gz")
    flipped = write_like(-hu, ct, tmp_path / "flipped.nii.gz")
    with pytest.raises(InputError, match=r"declared CT \(modality: CT\), spans only -1 to "
                                         r"1\.209, less than 20 HU"):
        extract(khu, mask, settings=FAST, modality="CT")
    with pytest.raises(InputError, match=r"air \(-1000 HU\) with its sign flipped"):
        extract(flipped, mask, settings=FAST, modality="CT")
    offset = write_like(hu + 1024, ct, tmp_path / "no_intercept.nii.gz")
    with pytest.raises(InputError, match=r"has no value below 0 and a median of 10\d\d in the "
                                         r"ROI: .* without the rescale intercept"):
        extract(offset, mask, settings=FAST, modality="CT")
    # undeclared, nothing can tell (as any reader); the true image passes declared
    extract(flipped, mask, settings=FAST)
    extract(image, mask, settings=FAST, modality="CT")
    proc = run_cli("extract", str(flipped), str(mask), "--modality", "ct", "-o",
                str(tmp_path / "t.csv"))
    assert proc.returncode == 1
    assert "sign flipped" in proc.stderr


@pytest.mark.parametrize("case", ["STS_002", "STS_020", "STS_029", "STS_049"])
def test_the_flipped_air_rule_on_real_and_flipped_cohort_cts(case):
    """Real CTs of the cohort (bone-rich thighs, 0.1 to 40 % air), clipped at 1000 HU or
    not, are never flagged; their flipped copies are whenever they hold more than 1 % air
    (STS_029 holds 0.14 %)."""
    from radiomix.check import _flipped_air

    image, _ = sts_files(case, "ct")
    hu = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))
    assert not _flipped_air(hu)
    assert not _flipped_air(np.clip(hu, -1000, 1000))  # HU clipped at 1000: bone piles up
    air = np.count_nonzero((hu >= -1050) & (hu <= -900)) / hu.size
    assert _flipped_air(-hu) == (air >= 0.01)


def test_pet_with_an_offset_is_refused_when_declared_pt(tmp_path):
    image, mask = sts_files("STS_003", "pet")
    pet = sitk.ReadImage(str(image))
    suv = sitk.GetArrayFromImage(pet).astype(np.float32)
    shifted = write_like(suv - 3, pet, tmp_path / "pet_minus_3.nii.gz")
    with pytest.raises(InputError, match=r"declared PT \(modality: PT\), has 9\d% of its "
                                         r"voxels below 0"):
        extract(shifted, mask, settings=FAST, modality="PT")
    assert extract(image, mask, settings=FAST, modality="PT").features == extract(
        image, mask, settings=FAST).features


def test_a_no_data_value_in_the_roi_is_refused(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    ct = sitk.ReadImage(str(image))
    arr = sitk.GetArrayFromImage(ct).astype(np.float32)
    inside = np.argwhere(sitk.GetArrayFromImage(sitk.ReadImage(str(mask))) > 0)[3]
    arr[tuple(inside)] = np.float32(3e38)
    path = write_like(arr, ct, tmp_path / "nodata.nii.gz")
    with pytest.raises(InvalidIntensityError, match=r"holds 1 voxels of magnitude 1e\+15 or "
                                                    r"more \(1 inside the ROI\)"):
        extract(path, mask, settings=FAST)
    # outside the ROI too (interpolation and normalisation read there), and 1e20 (a common
    # no-data fill)
    arr[tuple(inside)] = 40.0
    arr[0, 0, 0] = 1e20
    path = write_like(arr, ct, tmp_path / "nodata_outside.nii.gz")
    with pytest.raises(InvalidIntensityError, match=r"\(0 inside the ROI\)"):
        extract(path, mask, settings=FAST)


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "mapping", "message"), [
    ("discretisation", {"method": "fbn", "bin_width": 25},
     r"discretisation\.bin_width \(25\.0\) applies to method fbs only, and the method is fbn"),
    ("discretisation", {"method": "fbs", "bin_width": 25, "bins": 16},
     r"discretisation\.bins \(16\) applies to method fbn only"),
    ("discretisation", {"method": "none", "bins": 8},
     r"discretisation\.bins \(8\) applies to method fbn only, and the method is none"),
    ("ivh", {"method": "fbn", "bins": 100, "bin_width": 2.5},
     r"ivh\.bin_width \(2\.5\) applies to method fbs only"),
])
def test_a_parameter_of_another_discretisation_method_is_refused(step, mapping, message):
    """fbn with bin_width 25 ran as fbn 32 without a word."""
    with pytest.raises(SettingsError, match=message):
        settings_from_dict({step: mapping})
    assert settings_from_dict({}).discretisation.bins == 32  # fbn's default is kept


def test_a_study_override_to_another_method_drops_the_presets_parameter(tmp_path):
    """ibsi-C (fbs 25) with an override to fbn 16: the preset's bin width goes with its
    method instead of being refused as the user's."""
    from radiomix.settings import load_preset, settings_to_dict
    from radiomix.settings.study import _deep_merge

    base = settings_to_dict(load_preset("ibsi-C"))
    merged = _deep_merge(base, {"discretisation": {"method": "fbn", "bins": 16}})
    s = settings_from_dict(merged)
    assert (s.discretisation.method, s.discretisation.bins, s.discretisation.bin_width) == (
        "fbn", 16, None)
    kept = settings_from_dict(_deep_merge(base, {"discretisation": {"bin_width": 10}}))
    assert kept.discretisation.bin_width == 10.0


def _extract_with_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """``radiomix extract`` of STS_002's CT with a settings file holding ``text``."""
    config = tmp_path / "settings.yaml"
    config.write_text(text)
    image, mask = sts_files("STS_002", "ct")
    return run_cli("extract", str(image), str(mask), "--config", str(config), "-o",
                str(tmp_path / "t.csv"))


def test_yaml_exponent_without_a_point_is_named(tmp_path):
    proc = _extract_with_config(tmp_path, "discretisation: {method: fbs, bin_width: 1e-9}\n")
    assert proc.returncode == 2
    assert "got the text '1e-9'" in proc.stderr
    assert "write 1.0e-9" in proc.stderr


def test_a_key_written_one_level_too_high_gets_its_path():
    with pytest.raises(SettingsError, match=r"unknown setting 'bin_widht'; did you mean "
                                            r"'discretisation\.bin_width' or 'ivh\.bin_width'"):
        settings_from_dict({"bin_widht": 25})
    with pytest.raises(SettingsError, match=r"unknown setting 'qqq'; valid keys here: "):
        settings_from_dict({"qqq": 1})


def test_a_spacing_in_the_wrong_unit_is_a_usage_error_before_any_allocation(tmp_path):
    proc = _extract_with_config(tmp_path, "interpolation: {spacing: [0.01, 0.01, 0.01]}\n")
    assert proc.returncode == 2
    assert "choose a coarser interpolation.spacing" in proc.stderr
    assert "out of memory" not in proc.stderr


# -- messages -----------------------------------------------------------------------------


def test_an_empty_roi_names_the_mask_and_what_was_selected(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    ref = sitk.ReadImage(str(mask))
    empty = write_like(np.zeros(sitk.GetArrayFromImage(ref).shape, np.uint8), ref,
                        tmp_path / "empty.nii.gz")
    with pytest.raises(EmptyRoiError, match=r"the ROI is empty: the mask empty\.nii\.gz "
                                            r"holds no non-zero voxel"):
        extract(image, empty, settings=FAST)


def test_nan_and_fractional_masks_are_told_apart(tmp_path):
    from radiomix.check import select_label

    image, mask = sts_files("STS_002", "ct")
    ref = sitk.ReadImage(str(mask))
    m = sitk.GetArrayFromImage(ref).astype(np.float32)
    nan = m.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(InputError, match=r"the mask holds 1 NaN or infinite values, which "
                                         r"are no label"):
        select_label(nan, label=None)
    # a file: its reader names it
    with pytest.raises(InputError, match=r"nan\.nii\.gz holds 1 NaN/infinite voxel"):
        extract(image, write_like(nan, ref, tmp_path / "nan.nii.gz"), settings=FAST)
    with pytest.raises(InputError, match=r"non-integer values \(e\.g\. 0\.5\): it is a "
                                         r"fractional"):
        extract(image, write_like(m * 0.5, ref, tmp_path / "half.nii.gz"), settings=FAST)


def test_a_relative_manifest_path_is_redacted_whole():
    from radiomix.privacy import redact_paths

    text = redact_paths(
        "ct image not found: /work/data/sts/nifti/STS_003/ct/imagex.nii.gz (manifest line 3)",
        {"<ct image>": "nifti/STS_003/ct/imagex.nii.gz"})
    assert text == "ct image not found: <ct image> (manifest line 3)"


def test_extract_many_says_when_a_case_is_listed_twice(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    cases = tmp_path / "cases.csv"
    detour = image.parent / ".." / "ct" / image.name
    cases.write_text(f"image,mask\n{image},{mask}\n{detour},{mask}\n")
    config = tmp_path / "fast.yaml"
    config.write_text("features: {families: [stat]}\n")
    proc = run_cli("extract-many", str(cases), "-o", str(tmp_path / "out"), "--config",
                str(config), "--quiet")
    assert proc.returncode == 0
    assert "name the same image" in " ".join(proc.stderr.split())


def test_a_pet_half_life_that_contradicts_its_radionuclide_is_refused(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    folder = require_data("sts", "dicom", "STS_001", "PET")
    out = tmp_path / "pet"
    out.mkdir()
    for f in sorted((folder / "image").iterdir()):
        ds = pydicom.dcmread(f)
        ds.Units, ds.DecayCorrection = "BQML", "START"  # converted to SUV on reading
        ds.RescaleSlope = float(ds.RescaleSlope) * BQML_PER_SUV  # Bq/ml, not SUV
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideHalfLife = "1223"  # C-11
        ds.save_as(out / f.name)
    rs = next((folder / "mask").iterdir())
    with pytest.raises(SuvConversionError, match=r"RadionuclideHalfLife 1223 s does not "
                                                 r"match the coded radionuclide F-18"):
        extract(out, rs, roi_name="GTV_Mass_PET", settings=FAST)


def test_coded_nuclide_spellings():
    from pydicom.dataset import Dataset

    from radiomix.io.dicom import _coded_nuclide

    def info(meaning: str) -> Dataset:
        code = Dataset()
        code.CodeMeaning = meaning
        ds = Dataset()
        ds.RadionuclideCodeSequence = [code]
        return ds

    for meaning, expected in [("^18^Fluorine", ("F", 18)), ("18F", ("F", 18)),
                              ("Carbon-11", ("C", 11)), ("Ga-68", ("Ga", 68)),
                              ("^89^Zirconium", ("Zr", 89)), ("unknown", None)]:
        assert _coded_nuclide(info(meaning)) == expected, meaning
    # no radionuclide code: an FDG radiopharmaceutical names F-18, another tracer nothing
    for drug, expected in [("FDG -- fluorodeoxyglucose", ("F", 18)),
                           ("Fludeoxyglucose (18F)", ("F", 18)), ("Choline C-11", None)]:
        ds = Dataset()
        ds.Radiopharmaceutical = drug
        assert _coded_nuclide(ds) == expected, drug


def test_log_of_extract_many_failures_is_marked_listed(caplog):
    """The per-run failure warning carries ``listed``, which the command's filter drops."""
    from radiomix.cli_batch import _NotListedAgain

    record = logging.LogRecord("radiomix.api", logging.WARNING, "", 0, "x", (), None)
    assert _NotListedAgain().filter(record)
    record.listed = True
    assert not _NotListedAgain().filter(record)



def test_a_modality_that_contradicts_the_dicom_series_is_refused(tmp_path):
    """--modality PT beside a CT series was dropped without a word."""
    from radiomix.errors import UsageError

    folder = require_data("sts", "dicom", "STS_001", "CT")
    rs = next((folder / "mask").iterdir())
    with pytest.raises(UsageError, match=r"the modality given is PT, and the DICOM series "
                                         r"image says CT"):
        extract(folder / "image", rs, roi_name="GTV_Mass_CT", settings=FAST, modality="PT")
    result = extract(folder / "image", rs, roi_name="GTV_Mass_CT", settings=FAST,
                     modality="CT")
    assert result.provenance["modality"] == "CT"  # the declaration is recorded
    # undeclared, the series states its own (and its value checks run)
    assert extract(folder / "image", rs, roi_name="GTV_Mass_CT",
                   settings=FAST).provenance["modality"] == "CT"


def test_the_same_array_as_image_and_mask_is_named_as_arrays():
    import radiomix

    a = np.zeros((6, 7, 8), dtype=np.uint8)
    a[2:4, 2:5, 3:6] = 1
    with pytest.raises(InputError, match=r"the image and mask arrays hold the same values"):
        radiomix.extract(a, a.copy(), spacing=(1.0, 1.0, 1.0), features__families=["stat"])


def test_a_key_override_to_another_method_drops_the_presets_parameter():
    import radiomix

    for overrides in ({"discretisation__method": "fbn", "discretisation__bins": 16},
                      {"discretisation__bins": 16, "discretisation__method": "fbn"}):
        d = radiomix.load_settings("ibsi-C", **overrides).discretisation
        assert (d.method, d.bins, d.bin_width) == ("fbn", 16, None)
    # a bin width the caller gives beside fbn is theirs: refused, not dropped
    with pytest.raises(SettingsError, match="applies to method fbs only"):
        radiomix.load_settings("ibsi-C", discretisation__method="fbn",
                               discretisation__bin_width=10)
