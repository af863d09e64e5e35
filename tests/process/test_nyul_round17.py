"""Round 17 (outside test t17F): Nyúl landmarks files.

F1: a landmarks file holding NaN or Infinity (Python's json reads both) was used: NaN passes
the "strictly increasing" check, and every feature came out NaN (skewness 0.0) or some
means inf, with exit 0. F6: ``standardise fit --out`` into a folder that does not exist
printed a ``FileNotFoundError`` traceback. F7: a file fitted for another tag is said once on
the console of ``radiomix run``, with the tag it was fitted for and how to refit.

Real parts throughout: sarcoma MR NIfTI files (shared/data/sts), landmarks fitted by
``fit_study_standard_scale`` and written as files, the CLI run in a subprocess (its console).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import radiomix
from _data import require_data
from radiomix.cli_cohort import standardise_app
from radiomix.cohort import fit_study_standard_scale
from radiomix.errors import SettingsError
from radiomix.process.normalise import load_standard_scale, save_standard_scale

PATIENTS = ("STS_002", "STS_019")
REFIT = "write it again with 'radiomix standardise fit'"


def _study(folder: Path, landmarks: str | None = "lm.json") -> Path:
    """A two-lesion MR study (tag ``mr``, statistics only) reading ``landmarks``."""
    root = require_data("sts", "nifti").parent
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["patient_id", "lesion_id", "mr_image", "mr_mask"])
        for p in PATIENTS:
            writer.writerow([p, "1", f"nifti/{p}/mr_t1/image.nii.gz",
                             f"nifti/{p}/mr_t1/mask.nii.gz"])
    settings: dict = {"features": {"families": ["stat"]},
                      "discretisation": {"method": "fbn", "bins": 8}}
    if landmarks is not None:
        settings["preprocess"] = {"normalise": "nyul", "nyul_landmarks": landmarks}
    doc = {"name": "r17", "manifest": "manifest.csv", "data_root": str(root),
           "tags": {"mr": {"modality": "MR", "settings": settings}}}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> dict:
    """Contents of a landmarks file fitted on the two lesions (as ``standardise fit`` does)."""
    folder = tmp_path_factory.mktemp("fit")
    save_standard_scale(fit_study_standard_scale(_study(folder, None), "mr"), folder / "lm.json")
    return json.loads((folder / "lm.json").read_text(encoding="utf-8"))


def _write(folder: Path, data: dict) -> Path:
    """Write a landmarks file as Python's json does (NaN, Infinity, -Infinity as such)."""
    path = folder / "lm.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``radiomix ARGS`` in a subprocess running this checkout's package (its real console)."""
    env = {**os.environ, "PYTHONPATH": str(Path(radiomix.__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", "from radiomix.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, check=False,
                          timeout=600)


def _edit(data: dict, field: str, index: int | None, value) -> dict:
    out = json.loads(json.dumps(data))
    if field == "smoothing":
        out["fitted_on"]["preprocess_before"]["smoothing_sigma_mm"] = value
    elif index is None:
        out[field] = value
    else:
        out[field][index] = value
    return out


@pytest.mark.parametrize(
    ("field", "index", "value", "said"),
    [
        ("standard", 5, float("nan"), "standard[5] (entry 6 of 11) is NaN, but a landmarks file "
                                      "holds finite numbers only; " + REFIT),
        ("standard", -1, float("inf"), "standard[10] (entry 11 of 11) is Infinity, but"),
        ("percentiles", 0, float("-inf"), "percentiles[0] (entry 1 of 11) is -Infinity, but"),
        ("smoothing", None, float("nan"),
         "fitted_on.preprocess_before.smoothing_sigma_mm is NaN, but"),
        ("n_images", None, float("nan"), "n_images is NaN, but"),
        ("standard", 2, "12", "standard[2] must be a number, got '12'; " + REFIT),
        ("n_images", None, True, "n_images must be a positive whole number, got True; " + REFIT),
    ],
)
def test_a_landmarks_file_with_a_non_finite_number_is_refused(tmp_path, fitted, field, index,
                                                              value, said):
    path = _write(tmp_path, _edit(fitted, field, index, value))
    with pytest.raises(SettingsError) as info:
        load_standard_scale(path)
    assert str(info.value).startswith(f"landmarks file {path}: {said}")
    assert "\n" not in str(info.value)
    as_fitted = load_standard_scale(_write(tmp_path, fitted))  # the unedited file is read
    assert list(as_fitted.landmarks.standard) == fitted["standard"]


def test_radiomix_run_refuses_a_nan_landmark_in_one_line(tmp_path, fitted):
    """The tester's case: standard[5] = NaN gave exit 0 and all-NaN features."""
    _write(tmp_path, _edit(fitted, "standard", 5, float("nan")))
    study = _study(tmp_path)
    res = _cli("run", str(study), "--out", str(tmp_path / "run"), "--jobs", "1", "--quiet",
               cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error (SettingsError): landmarks file {tmp_path / 'lm.json'}: standard[5] (entry 6 of "
        f"11) is NaN, but a landmarks file holds finite numbers only; {REFIT} instead of "
        "editing it"
    ]
    assert not (tmp_path / "run" / "features.parquet").exists()


def test_standardise_fit_out_in_a_missing_folder_is_made(tmp_path):
    """F6: the folder of --out did not exist: a FileNotFoundError traceback (exit 1). It is
    made, as other --out options do."""
    study = _study(tmp_path, None)
    out = tmp_path / "new" / "sub" / "lm.json"
    res = CliRunner().invoke(standardise_app,
                             ["fit", str(study), "--tag", "mr", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert load_standard_scale(out).landmarks.n_images == len(PATIENTS)


def test_standardise_fit_out_that_cannot_be_written_is_one_line(tmp_path):
    """F6: --out a link into a folder that does not exist passes the folder check but cannot
    be written: one line, exit 2, no traceback."""
    study = _study(tmp_path, None)
    out = tmp_path / "lm.json"
    out.symlink_to(tmp_path / "gone" / "lm.json")
    res = CliRunner().invoke(standardise_app,
                             ["fit", str(study), "--tag", "mr", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"cannot write the landmarks file {out}: No such file or directory; choose a " \
           "writable --out" in res.output
    assert "Traceback" not in res.output


def test_a_file_fitted_for_another_tag_is_said_once_on_the_console(tmp_path, fitted):
    """F7: fitted_on.tag edited to 'ct', the file used for tag mr: one warning on the console
    of `radiomix run` (workers running the cases), with the fitted tag and how to refit."""
    other = json.loads(json.dumps(fitted))
    other["fitted_on"]["tag"] = "ct"
    _write(tmp_path, other)
    study = _study(tmp_path)
    res = _cli("run", str(study), "--out", str(tmp_path / "run"), "--jobs", "2", "--quiet",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    said = ("WARNING  tags.mr: the landmarks file lm.json was fitted on tag 'ct' of study 'r17', "
            "not on mr; unless 'ct' holds the same MR sequence, fit the file for this tag with "
            "'radiomix standardise fit STUDY --tag mr --out FILE'")
    assert [line for line in res.stderr.splitlines() if "fitted on tag" in line] == [said]


def test_a_hand_edited_provenance_value_is_named_not_a_traceback(tmp_path, fitted):
    """fitted_on.preprocess_before.smoothing_sigma_mm = "abc" raised a ValueError (format
    code 'g' for str) while the mismatch message was being written."""
    from radiomix.process.normalise import check_scale_fits

    scale = load_standard_scale(_write(tmp_path, _edit(fitted, "smoothing", None, "abc")))
    with pytest.raises(SettingsError, match=r"^tags\.mr: the landmarks file lm\.json was fitted "
                                            r"after bias_field false, smoothing_sigma_mm 'abc', "
                                            r"but this tag runs bias_field false, "
                                            r"smoothing_sigma_mm null first"):
        check_scale_fits(scale, tag="mr", name="lm.json", bias_field=False,
                         smoothing_sigma_mm=None, modality="MR")


@pytest.mark.parametrize("how", ["n4", "ct"])
def test_a_single_extraction_checks_the_landmarks_as_a_run_does(tmp_path, fitted, how):
    """``radiomix.extract`` with ``nyul_landmarks`` in its settings never ran the run's
    checks: landmarks fitted without N4 used after N4, or on an image declared CT, passed."""
    path = _write(tmp_path, fitted)
    image = require_data("sts", "nifti", PATIENTS[0], "mr_t1")
    pre = {"normalise": "nyul", "nyul_landmarks": str(path)}
    if how == "n4":
        pre["bias_field"] = True
    with pytest.raises(SettingsError, match="fitted after bias_field false" if how == "n4"
                       else "the tag declares modality CT"):
        radiomix.extract(image / "image.nii.gz", image / "mask.nii.gz", None,
                         preprocess=pre, features={"families": ["stat"]},
                         modality="CT" if how == "ct" else None)
    plain = {"normalise": "nyul", "nyul_landmarks": str(path)}
    row = radiomix.extract(image / "image.nii.gz", image / "mask.nii.gz", None,
                           preprocess=plain, features={"families": ["stat"]})
    assert len(row) == 1
