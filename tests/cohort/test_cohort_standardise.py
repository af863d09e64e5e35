"""Nyúl–Udupa histogram standardisation in a study: fit (``radiomix standardise fit``), then
read (``preprocess: {normalise: nyul, nyul_landmarks: FILE}``).

Oracles: the landmarks are recomputed here from ``np.percentile`` of each training image's
foreground (voxels above its mean), mapped linearly onto the standard range and averaged
(Nyúl et al. 2000); extracted features are recomputed from an independent piecewise-linear
mapping of the ROI voxels.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import yaml
from cohort_helpers import nifti, sts_root, write_manifest
from typer.testing import CliRunner

from radiomix.cli_cohort import standardise_app
from radiomix.cohort import fit_study_standard_scale, plan_cases, run_study
from radiomix.errors import SettingsError
from radiomix.process.normalise import (
    load_standard_scale,
    save_standard_scale,
    standard_scale_from_dict,
)
from radiomix.settings.study import load_study
from radiomix.table import read_provenance, read_table

PATIENTS = {"STS_002": "A", "STS_019": "A", "STS_042": "B"}
PCS = (1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 99.0)
SETTINGS = {"features": {"families": ["stat"]}, "discretisation": {"method": "fbn", "bins": 8}}


def _image(patient: str) -> np.ndarray:
    path = sts_root() / nifti(patient, "mr_t1", "image")
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float64)


def _study(tmp_path, settings=None, landmarks=None):
    rows = [
        {
            "patient_id": p,
            "lesion_id": "1",
            "centre": c,
            "mr_image": nifti(p, "mr_t1", "image"),
            "mr_mask": nifti(p, "mr_t1", "mask"),
        }
        for p, c in PATIENTS.items()
    ]
    write_manifest(tmp_path / "manifest.csv", rows)
    s = dict(settings or SETTINGS)
    if landmarks is not None:
        s["preprocess"] = {"normalise": "nyul", "nyul_landmarks": landmarks}
    doc = {
        "name": "nyul",
        "manifest": "manifest.csv",
        "data_root": str(sts_root()),
        "columns": {"centre": "centre"},
        "tags": {"mr": {"settings": s}},
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _expected_standard(patients) -> np.ndarray:
    mapped = []
    for p in patients:
        img = _image(p)
        marks = np.percentile(img[img > img.mean()], PCS)
        mapped.append((marks - marks[0]) * 100.0 / (marks[-1] - marks[0]))
    return np.mean(mapped, axis=0)


def test_fitted_landmarks_equal_independent_percentiles(tmp_path):
    study = _study(tmp_path)
    scale = fit_study_standard_scale(study, "mr", where={"centre": ["A"]})
    assert scale.landmarks.percentiles == PCS
    np.testing.assert_allclose(scale.landmarks.standard, _expected_standard(["STS_002", "STS_019"]))
    assert scale.landmarks.n_images == 2
    assert scale.fitted_on["patients"] == ["STS_002", "STS_019"]
    assert scale.fitted_on["selection"] == {"centre": ["A"]}
    every = fit_study_standard_scale(study, "mr")
    np.testing.assert_allclose(every.landmarks.standard, _expected_standard(PATIENTS))


def test_standardised_image_landmarks_land_on_the_standard_scale(tmp_path):
    scale = fit_study_standard_scale(_study(tmp_path), "mr")
    img = _image("STS_042")
    fg = img > img.mean()
    out = scale.apply(img)
    # percentiles of an increasing piecewise-linear map of the voxels = mapped percentiles
    np.testing.assert_allclose(np.percentile(out[fg], PCS), scale.landmarks.standard, atol=0.05)
    # a different linear scaling of the same scan (another scanner gain) changes nothing
    np.testing.assert_allclose(scale.apply(3.0 * img + 40.0), out, atol=1e-9)


def test_cli_writes_the_landmarks_file_and_a_study_uses_it(tmp_path):
    out = tmp_path / "mr_landmarks.json"
    study = _study(tmp_path, landmarks="mr_landmarks.json")  # file not there yet
    res = CliRunner().invoke(
        standardise_app, ["fit", str(study), "--tag", "mr", "--centre", "A", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["fitted_on"]["patients"] == ["STS_002", "STS_019"]
    np.testing.assert_allclose(data["standard"], _expected_standard(["STS_002", "STS_019"]))
    scale = load_standard_scale(out)

    result = run_study(study, tmp_path / "run")
    assert result.ok, result.errors
    table = read_table(result.features_path)
    # independent: each lesion's ROI voxels mapped through its own foreground landmarks
    for _, row in table.iterrows():
        img = _image(row["patient_id"])
        mask = sitk.GetArrayFromImage(
            sitk.ReadImage(str(sts_root() / nifti(row["patient_id"], "mr_t1", "mask")))
        ).astype(bool)
        marks = np.percentile(img[img > img.mean()], PCS)
        std = np.asarray(scale.landmarks.standard)
        roi = img[mask]
        mapped = np.interp(roi, marks, std)
        lo, hi = roi < marks[0], roi > marks[-1]
        mapped[lo] = std[0] + (roi[lo] - marks[0]) * (std[1] - std[0]) / (marks[1] - marks[0])
        mapped[hi] = std[-1] + (roi[hi] - marks[-1]) * (std[-1] - std[-2]) / (marks[-1] - marks[-2])
        assert row["mr.original.stat.mean"] == pytest.approx(mapped.mean(), rel=1e-9)
    prov = read_provenance(result.features_path)
    assert prov["standardisation"]["mr"]["landmarks_sha256"] == scale.sha256
    assert prov["standardisation"]["mr"]["fitted_on"]["patients"] == ["STS_002", "STS_019"]
    assert {c["landmarks_sha256"] for c in prov["cases"]} == {scale.sha256}

    # a re-fitted file (other training set) changes the case keys and the settings hash
    before = load_study(study).settings_hash()
    keys = {t.key for t in plan_cases(load_study(study))[1]}
    save_standard_scale(fit_study_standard_scale(study, "mr"), out)
    assert load_study(study).settings_hash() != before
    assert keys.isdisjoint(t.key for t in plan_cases(load_study(study))[1])


def test_standardisation_errors(tmp_path):
    with pytest.raises(SettingsError, match="landmarks file not found"):
        load_study(_study(tmp_path, landmarks="missing.json"))
    study = _study(tmp_path)
    with pytest.raises(SettingsError, match="unknown image tag 'ct'"):
        fit_study_standard_scale(study, "ct")
    with pytest.raises(SettingsError, match="no lesion with a mr image matches"):
        fit_study_standard_scale(study, "mr", where={"centre": ["Z"]})
    with pytest.raises(SettingsError, match="lacks the column 'split'"):
        fit_study_standard_scale(study, "mr", where={"split": ["train"]})
    with pytest.raises(SettingsError, match="region must be foreground, image or roi"):
        fit_study_standard_scale(study, "mr", region="body")
    with pytest.raises(SettingsError, match="not a radiomix landmarks file"):
        standard_scale_from_dict({"format": "other"})
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SettingsError, match="is not valid JSON"):
        load_standard_scale(bad)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(SettingsError, match=r"^tags\.mr\.settings\.preprocess\.normalise nyul "
                                            r"needs tags\.mr\.settings\.preprocess\.nyul_"):
        load_study(_study(other, settings={"preprocess": {"normalise": "nyul"}}))
    with pytest.raises(SettingsError, match=r"nyul_landmarks is set but "
                                            r"tags\.mr\.settings\.preprocess\.normalise"):
        load_study(_study(other, settings={"preprocess": {"nyul_landmarks": "x.json"}}))
    # a registered tag is analysed on another grid than the one the landmarks were fitted on
    doc = yaml.safe_load(study.read_text(encoding="utf-8"))
    doc["tags"]["mr2"] = {
        "settings": {"preprocess": {"normalise": "nyul", "nyul_landmarks": "x.json"}},
        "register_to": "mr",
    }
    registered = tmp_path / "registered.yaml"
    registered.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(SettingsError, match="normalise nyul and register_to together"):
        load_study(registered, require_landmarks=False)
    res = CliRunner().invoke(
        standardise_app, ["fit", str(study), "--tag", "mr", "--where", "centre", "--out", "x"]
    )
    assert res.exit_code == 2
    assert "--where needs COLUMN=VALUE" in res.output


def test_a_landmarks_file_fitted_otherwise_is_refused(tmp_path, caplog):
    """Round 16: landmarks fitted without N4 ran under a tag with bias_field: true, and MR
    landmarks standardised a PET tag (its SUV scale replaced), both with exit 0."""
    study = _study(tmp_path, landmarks="lm.json")
    save_standard_scale(fit_study_standard_scale(study, "mr"), tmp_path / "lm.json")
    assert plan_cases(load_study(study))[1]  # as fitted: planned
    (tmp_path / "n4").mkdir()
    n4 = _study(tmp_path / "n4", settings={**SETTINGS, "preprocess": {
        "bias_field": True, "normalise": "nyul", "nyul_landmarks": str(tmp_path / "lm.json")}})
    with pytest.raises(SettingsError, match=r"tags.mr: the landmarks file lm.json was fitted "
                                            r"after bias_field false, smoothing_sigma_mm null, "
                                            r"but this tag runs bias_field true"):
        plan_cases(load_study(n4))
    doc = yaml.safe_load(study.read_text())
    doc["tags"]["mr"]["modality"] = "PT"
    pt = tmp_path / "pt.yaml"
    pt.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SettingsError, match="declares modality PT, whose SUV scale"):
        plan_cases(load_study(pt))
    doc["tags"] = {"t1": {**doc["tags"]["mr"], "modality": "MR"}}
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(yaml.safe_dump(doc).replace("mr_image", "t1_image")
                       .replace("mr_mask", "t1_mask"), encoding="utf-8")
    (tmp_path / "manifest.csv").write_text((tmp_path / "manifest.csv").read_text()
                                           .replace("mr_image", "t1_image")
                                           .replace("mr_mask", "t1_mask"))
    with caplog.at_level("WARNING", logger="radiomix.process.normalise"):
        plan_cases(load_study(renamed))
    assert "tags.t1: the landmarks file lm.json was fitted on tag 'mr' of study 'nyul'" in \
        caplog.text


def test_a_roi_mostly_beyond_the_standard_scale_is_said(caplog):
    """Round 16: with the default foreground region (voxels above the image mean), the
    tumour of a cropped MR lay mostly below the first landmark: its standardised mean was
    -17.7 on the 0-100 scale, all extrapolated, without a word."""
    from radiomix.process.normalise import StandardScale, fit_histogram_standardisation
    from radiomix.process.preprocess import preprocess
    from radiomix.settings import PreprocessSettings

    rng = np.random.default_rng(0)
    img = rng.normal(500.0, 30.0, (10, 30, 30))
    tumour = np.zeros(img.shape, dtype=bool)
    tumour[3:7, 10:20, 10:20] = True
    img[tumour] = rng.normal(200.0, 20.0, int(tumour.sum()))  # darker than the foreground
    region = img > img.mean()
    scale = StandardScale(landmarks=fit_histogram_standardisation([img], [region]),
                          region="foreground")
    pre = PreprocessSettings(normalise="nyul", nyul_landmarks="lm.json")
    with caplog.at_level("WARNING", logger="radiomix.process.preprocess"):
        out, roi = preprocess(img, tumour, (2.0, 1.0, 1.0), pre, scale=scale)
    share = float(np.mean(out[roi] < 0.0))
    assert share > 0.9
    assert f"{100 * share:.0f} % of the ROI's voxels lie beyond the standard scale" in caplog.text
    caplog.clear()
    roi_scale = StandardScale(landmarks=fit_histogram_standardisation([img], [tumour]),
                              region="roi")
    with caplog.at_level("WARNING", logger="radiomix.process.preprocess"):
        preprocess(img, tumour, (2.0, 1.0, 1.0), pre, scale=roi_scale)
    assert "beyond the standard scale" not in caplog.text
