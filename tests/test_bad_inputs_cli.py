"""Bad inputs through the real command line: exit code, one line naming the problem and the
fix, no traceback, no partial output.

Every case runs the console script's entry point (``radiomix.cli:main``) in a subprocess,
on a damaged file built here from the shared data (cut, zeroed, NaN,
re-tagged with pydicom) and checks: the exit code (1 case error, 2 usage), exactly one
``error (...)`` line on stderr matching the expected text, no ``Traceback`` anywhere, and an
output folder left exactly as it was (no table, sidecar or temporary file).

A fast subset runs by default; the full matrix is ``@pytest.mark.slow`` (each subprocess
imports the extraction stack: seconds each).
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import BQML_PER_SUV, require_data

RADIOMIX = [sys.executable, "-c", "from radiomix.cli import main; main()"]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    match: str


def _write(path: Path, array: np.ndarray, spacing=(1.0, 1.0, 2.0)) -> Path:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Damaged and odd inputs, each built from a good one."""
    d = tmp_path_factory.mktemp("bad")
    f: dict[str, Path] = {}
    sts = require_data("sts", "nifti", "STS_008", "ct")
    f["ct"], f["mask"] = sts / "image.nii.gz", sts / "mask.nii.gz"
    f["truncated"] = d / "truncated.nii.gz"
    f["truncated"].write_bytes(f["ct"].read_bytes()[:100_000])
    f["empty"] = d / "empty.nii.gz"
    f["empty"].write_bytes(b"")
    f["text"] = d / "notes.nii.gz"
    f["text"].write_bytes(gzip.compress(b"these are not voxels\n"))
    f["plain_text"] = d / "notes.nrrd"
    f["plain_text"].write_text("not an image\n")
    rng = np.random.default_rng(1)
    vol = rng.normal(40, 20, size=(8, 20, 20)).astype(np.float32)
    box = np.zeros(vol.shape, np.uint8)
    box[2:6, 5:15, 5:15] = 1
    f["vol"], f["box"] = _write(d / "vol.nii.gz", vol), _write(d / "box.nii.gz", box)
    nan = vol.copy()
    nan[4, 10, 10] = np.nan
    f["nan"] = _write(d / "nan.nii.gz", nan)
    four = sitk.JoinSeries([sitk.GetImageFromArray(vol), sitk.GetImageFromArray(vol)])
    sitk.WriteImage(four, str(d / "four.nii.gz"))
    f["four"] = d / "four.nii.gz"
    wide = rng.integers(0, 30000, size=vol.shape).astype(np.int16)
    f["wide"] = _write(d / "mr_int16.nii.gz", wide)
    f["shifted"] = _write(d / "shifted.nii.gz", box, spacing=(1.0, 1.0, 3.0))
    f["empty_mask"] = _write(d / "empty_mask.nii.gz", np.zeros_like(box))
    # DICOM: the IBSI CT phantom with one slice cut short / a second series
    ct = require_data("ibsi1", "ct_phantom", "dicom", "image")
    f["rs"] = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    cut = d / "dicom_cut"
    shutil.copytree(ct, cut)
    victim = sorted(cut.glob("*.dcm"))[10]
    victim.write_bytes(victim.read_bytes()[:-4000])
    f["dicom_cut"] = cut
    two = d / "dicom_two"
    shutil.copytree(ct, two)
    ds = pydicom.dcmread(sorted(two.glob("*.dcm"))[3])
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(two / "other.dcm")
    f["dicom_two"] = two
    f["dicom_ok"] = ct
    rs = pydicom.dcmread(f["rs"])
    study = rs.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    study.RTReferencedSeriesSequence[0].SeriesInstanceUID = pydicom.uid.generate_uid()
    f["rs_other"] = d / "rs_other_series.dcm"
    rs.save_as(f["rs_other"])
    # PET in BQML with an empty radiopharmaceutical sequence / a zero dose
    pet = require_data("sts", "dicom", "STS_001", "PET", "image")
    for name, edit in (
        ("pet_noseq", lambda ds: setattr(ds, "RadiopharmaceuticalInformationSequence", [])),
        (
            "pet_dose0",
            lambda ds: setattr(
                ds.RadiopharmaceuticalInformationSequence[0], "RadionuclideTotalDose", 0
            ),
        ),
    ):
        folder = d / name
        folder.mkdir()
        for src in sorted(pet.glob("*.dcm"))[:3]:
            ds = pydicom.dcmread(src)
            ds.Units, ds.DecayCorrection, ds.PatientWeight = "BQML", "START", 70.0
            ds.RescaleSlope = float(ds.RescaleSlope) * BQML_PER_SUV  # Bq/ml, not SUV
            edit(ds)
            ds.save_as(folder / src.name)
        f[name] = folder
    # settings files
    f["latin1"] = d / "latin1.yaml"
    f["latin1"].write_bytes("discretisation: {method: fbs}  # \xe9\n".encode("latin-1"))
    f["wrongtype"] = d / "wrongtype.yaml"
    f["wrongtype"].write_text("discretisation: {method: fbs, bin_width: twenty}\n")
    f["fbs1"] = d / "fbs1.yaml"
    f["fbs1"].write_text("discretisation: {method: fbs, bin_width: 1}\n")
    f["cfgdir"] = d / "configs"
    f["cfgdir"].mkdir()
    return f


def _extract(f, image, mask, *extra) -> tuple[str, ...]:
    return ("extract", str(f[image]), str(f[mask]), *extra)


FAST = {
    "truncated_nii_gz": ("truncated", "mask", ("--preset", "ibsi-C"), 1,
                         r"truncated\.nii\.gz is truncated: its gzip stream ends"),
    "out_xlsx_before_work": ("ct", "mask", ("--preset", "ibsi-C", "--out-name", "t.xlsx"), 2,
                             r"--out must end in \.parquet, \.csv, \.json; got 't\.xlsx'"),
    "preset_case": ("ct", "mask", ("--preset", "ibsi-c"), 2,
                    r"unknown preset 'ibsi-c'; did you mean 'ibsi-C'\?"),
}

SLOW = {
    "config_not_utf8": ("ct", "mask", ("--config", "@latin1"), 2, r"is not UTF-8 text"),
    "nan_float_nifti": ("nan", "box", (), 1, r"holds 1 NaN/infinite voxel values"),
    "ct_as_its_own_mask": ("ct", "ct", ("--preset", "ibsi-C"), 1,
                           r"the image and the mask are the same file \(image\.nii\.gz\): one "
                           r"was given in place of the other"),
    "zero_byte_image": ("empty", "mask", (), 1, r"is empty \(0 bytes\)"),
    "non_image_file": ("text", "mask", (), 1, r"notes\.nii\.gz is not a NIfTI image"),
    "non_image_nrrd": ("plain_text", "mask", (), 1, r"cannot read image file .*notes\.nrrd"),
    "four_d_image": ("four", "box", (), 1, r"is 4D with 2 volumes"),
    "dicom_truncated_pixels": ("dicom_cut", "rs", ("--roi-name", "GTV-1"), 1,
                               r"(truncated or damaged|not a readable DICOM file)"),
    "dicom_two_series": ("dicom_two", "rs", (), 1,
                         r"holds 2 image series .*folder of its own"),
    "rtstruct_other_series": ("dicom_ok", "rs_other", ("--roi-name", "GTV-1"), 1,
                              r"drawn on another series"),
    "pet_empty_sequence": ("pet_noseq", "mask", (), 1,
                           r"RadiopharmaceuticalInformationSequence is missing or empty"),
    "pet_zero_dose": ("pet_dose0", "mask", (), 1,
                      r"RadionuclideTotalDose is '?0(\.0)?'?, a positive number is needed"),
    "config_folder": ("ct", "mask", ("--config", "@cfgdir"), 2, r"is a folder"),
    "config_wrong_type": ("ct", "mask", ("--config", "@wrongtype"), 2,
                          r"discretisation\.bin_width must be a number; got 'twenty'"),
    "grey_level_cap": ("wide", "box", ("--config", "@fbs1"), 1,
                       r"grey levels .*use discretisation\.bin_width \d+ or larger"),
    "geometry_mismatch": ("vol", "shifted", (), 1, r"image and mask grids differ.*--resample-mask"),
    "empty_roi": ("vol", "empty_mask", (), 1, r"the ROI is empty"),
    "image_not_found": ("missing", "mask", (), 1, r"image not found"),
    "preset_and_config": ("ct", "mask", ("--preset", "ibsi-C", "--config", "@fbs1"), 2,
                          r"give --preset or --config, not both"),
}


def _phantom_uid() -> str:
    ct = require_data("ibsi1", "ct_phantom", "dicom", "image")
    ds = pydicom.dcmread(sorted(ct.glob("*.dcm"))[0], stop_before_pixels=True)
    return str(ds.SeriesInstanceUID)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RADIOMIX, *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def _check(name, spec, files, tmp_path):
    image, mask, extra, code, match = spec
    f = dict(files)
    f["missing"] = tmp_path / "nope.nii.gz"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("a file that was there before\n")
    before = sorted(p.name for p in out_dir.iterdir())
    extra = list(extra)
    out_name = "t.csv"
    if "--out-name" in extra:
        i = extra.index("--out-name")
        out_name = extra[i + 1]
        del extra[i : i + 2]
    extra = [str(f[e[1:]]) if e.startswith("@") else e for e in extra]
    args = [*_extract(f, image, mask, *extra), "--out", str(out_dir / out_name)]
    res = _run(args, tmp_path)
    both = res.stdout + res.stderr
    assert "Traceback" not in both, both
    assert res.returncode == code, (name, res.returncode, both)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, (name, res.stderr)
    assert lines[0].startswith("error ("), lines[0]
    assert re.search(match, lines[0]), (name, lines[0])
    assert len(lines[0]) < 600, (name, len(lines[0]))
    assert _phantom_uid() not in both  # no DICOM UID in any message
    assert sorted(p.name for p in out_dir.iterdir()) == before  # no partial output


@pytest.mark.parametrize("name", sorted(FAST))
def test_bad_input_fast(name, files, tmp_path):
    _check(name, FAST[name], files, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_bad_input(name, files, tmp_path):
    _check(name, SLOW[name], files, tmp_path)


@pytest.mark.slow
def test_ibsi_check_unknown_dataset_is_a_usage_error(tmp_path):
    res = _run(["ibsi-check", "--dataset", "config_Z"], tmp_path)
    assert "Traceback" not in res.stdout + res.stderr
    assert res.returncode == 2
    assert "config_Z" in res.stderr


RUN_CASES = {
    "study_missing": (["run", "@dir/nope.yaml", "--out", "@out"], 2, r"study file not found"),
    "study_is_a_folder": (["run", "@dir", "--out", "@out"], 2, r"is a folder; pass the study"),
    "study_not_utf8": (["run", "@latin1", "--out", "@out"], 2, r"is not UTF-8 text"),
    "out_is_a_file": (["run", "@study", "--out", "@keep"], 2, r"exists and is not a folder"),
    "bad_scheduler": (["run", "@study", "--out", "@out", "--scheduler", "nowhere"], 2,
                      r"scheduler must be 'local' or a Dask scheduler address"),
    "standardise_study_missing": (
        ["standardise", "fit", "@dir/nope.yaml", "--tag", "mr", "--out", "@out/x.json"], 2,
        r"study file not found",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_bad_run_inputs(name, files, tmp_path):
    from cohort.cohort_helpers import SMALL, lesion, write_study

    args, code, match = RUN_CASES[name]
    keep = tmp_path / "keep.txt"
    keep.write_text("there before\n")
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    subs = {
        "@dir": str(tmp_path),
        "@out": str(tmp_path / "out"),
        "@latin1": str(files["latin1"]),
        "@study": str(study),
        "@keep": str(keep),
    }
    argv = []
    for a in args:
        for k, v in subs.items():
            if a.startswith(k):
                a = v + a[len(k) :]
                break
        argv.append(a)
    res = _run(argv, tmp_path)
    both = res.stdout + res.stderr
    assert "Traceback" not in both, both
    assert res.returncode == code, (name, both)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, (name, res.stderr)
    assert re.search(match, lines[0]), (name, lines[0])
    assert not (tmp_path / "out").exists()
    assert keep.read_text() == "there before\n"
