"""A cohort run never crashes on a bad case: broken manifest rows end as one clear error
record each, beside the good rows; no DICOM patient attribute reaches any output or log."""

from __future__ import annotations

import logging
import os
import shutil

import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from cohort_helpers import SMALL, lesion, sts_root, write_study

from radiomix.cohort import CaseTask, _run_pool, run_study
from radiomix.settings import settings_from_dict


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Two good lesions and four broken ones (PET)."""
    folder = tmp_path_factory.mktemp("broken")
    root = sts_root()
    ref = sitk.ReadImage(str(root / "nifti" / SMALL[3] / "pet" / "mask.nii.gz"))
    empty = sitk.Image(ref.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(ref)
    sitk.WriteImage(empty, str(folder / "empty_mask.nii.gz"))
    dicom = root / "dicom" / "STS_001" / "PET"
    rows = [
        lesion(SMALL[0]),
        # missing image file
        {**lesion(SMALL[1]), "pet_image": "nifti/STS_999/pet/image.nii.gz"},
        # geometry mismatch: another patient's mask
        {**lesion(SMALL[2]), "pet_mask": f"nifti/{SMALL[0]}/pet/mask.nii.gz"},
        # empty mask on the right grid
        {**lesion(SMALL[3]), "pet_mask": str(folder / "empty_mask.nii.gz")},
        # RTSTRUCT with a wrong ROI name
        {
            **lesion("STS_001"),
            "pet_image": str(dicom / "image"),
            "pet_mask": str(dicom / "mask" / "RS.dcm"),
            "pet_roi_name": "GTV_Wrong",
        },
        lesion(SMALL[4]),
    ]
    study = write_study(folder / "study", rows)
    return run_study(study, folder / "out"), folder


EXPECTED = {
    SMALL[1]: (
        "load",
        "InputError",
        r"pet image not found: <pet image> \(manifest line 3",
    ),
    SMALL[2]: ("check", "GeometryMismatchError", r"size \(x, y, z\): image .*, mask"),
    SMALL[3]: ("check", "EmptyRoiError", r"."),
    "STS_001": (
        "load",
        "LabelNotFoundError",
        r"ROI 'GTV_Wrong' not found .* ROIs present: GTV_Mass_PET",
    ),
}


def test_good_rows_in_table_one_error_record_per_broken_row(broken):
    result, _ = broken
    assert not result.ok
    df = pd.read_parquet(result.features_path)
    assert list(df.patient_id) == [SMALL[0], SMALL[4]]
    assert df.filter(like="pet.").notna().all().all()
    errors = pd.read_parquet(result.errors_path)
    assert list(errors.columns) == [
        "patient_id",
        "lesion_id",
        "tag",
        "stage",
        "error_type",
        "message",
    ]
    assert sorted(errors.patient_id) == sorted(EXPECTED)
    for _, err in errors.iterrows():
        stage, error_type, pattern = EXPECTED[err.patient_id]
        assert (err.lesion_id, err.tag, err.stage, err.error_type) == (
            "1",
            "pet",
            stage,
            error_type,
        )
        assert pd.Series([err.message]).str.contains(pattern).item(), err.message
    assert result.n_failed == 4
    assert len(result.errors) == 4


def test_error_messages_say_what_to_fix(broken):
    result, _ = broken
    msgs = {e["patient_id"]: e["message"] for e in result.errors}
    assert "resample" in msgs[SMALL[2]]  # the geometry message names the option
    assert "mask" in msgs[SMALL[3]].lower()


def test_deterministic_errors_are_persisted_and_not_redone(broken):
    result, folder = broken
    again = run_study(folder / "study" / "study.yaml", folder / "out")
    assert (again.n_computed, again.n_cached, again.n_failed) == (0, 6, 4)
    assert again.errors == result.errors


def test_fixed_input_is_redone(broken, tmp_path):
    _, folder = broken
    shutil.copytree(folder / "out", tmp_path / "out")
    manifest = (folder / "study" / "manifest.csv").read_text(encoding="utf-8")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "manifest.csv").write_text(
        manifest.replace("nifti/STS_999/pet/image.nii.gz", f"nifti/{SMALL[1]}/pet/image.nii.gz"),
        encoding="utf-8",
    )
    shutil.copy(folder / "study" / "study.yaml", tmp_path / "s" / "study.yaml")
    again = run_study(tmp_path / "s" / "study.yaml", tmp_path / "out")
    assert (again.n_computed, again.n_failed, again.n_rows) == (1, 3, 3)


def test_unexpected_error_is_recorded_and_retried(tmp_path, monkeypatch):
    import radiomix.extraction

    real = radiomix.extraction.extract

    def flaky(image, mask, **kw):
        if SMALL[1] in str(image):
            raise ZeroDivisionError("boom")
        return real(image, mask, **kw)

    monkeypatch.setattr(radiomix.extraction, "extract", flaky)
    study = write_study(tmp_path / "s", [lesion(SMALL[0]), lesion(SMALL[1])])
    result = run_study(study, tmp_path / "out")
    (err,) = result.errors
    assert (err["patient_id"], err["error_type"], err["stage"]) == (
        SMALL[1],
        "ZeroDivisionError",
        "extract",
    )
    assert (
        "unexpected error at test_cohort_errors.py" in err["message"]
    )
    assert (
        "boom" in err["message"]
    )
    assert len(list((tmp_path / "out" / "cases").glob("*.json"))) == 1  # not persisted
    monkeypatch.setattr(radiomix.extraction, "extract", real)
    again = run_study(study, tmp_path / "out")
    assert (again.n_cached, again.n_computed, again.n_failed, again.n_rows) == (1, 1, 0, 2)


def test_no_dicom_patient_attribute_in_outputs_or_logs(tmp_path, caplog):
    """A DICOM series whose PatientName/PatientID/BirthDate hold a fake identity: neither
    the outputs nor the logs may contain them, for a good and for a failing case."""
    src = sts_root() / "dicom" / "STS_001" / "PET"
    series = tmp_path / "pet"
    series.mkdir()
    for f in sorted((src / "image").iterdir()):
        ds = pydicom.dcmread(f)
        ds.PatientName = "Doe^Janeprivate"
        ds.PatientID = "MRN-31415926"
        ds.PatientBirthDate = "19450317"
        ds.save_as(series / f.name)
    rs = pydicom.dcmread(src / "mask" / "RS.dcm")
    rs.PatientName, rs.PatientID, rs.PatientBirthDate = (
        "Doe^Janeprivate",
        "MRN-31415926",
        "19450317",
    )
    rs.save_as(tmp_path / "RS.dcm")
    rows = [
        {
            "patient_id": "anon1",
            "lesion_id": "1",
            "pet_image": str(series),
            "pet_mask": str(tmp_path / "RS.dcm"),
            "pet_roi_name": "GTV_Mass_PET",
        },
        {
            "patient_id": "anon2",
            "lesion_id": "1",
            "pet_image": str(series),
            "pet_mask": str(tmp_path / "RS.dcm"),
            "pet_roi_name": "wrong",
        },
    ]
    study = write_study(tmp_path / "s", rows)
    with caplog.at_level(logging.DEBUG):
        result = run_study(study, tmp_path / "out")
    assert result.n_rows == 1
    assert result.n_failed == 1
    secrets = (b"Doe", b"Janeprivate", b"MRN-31415926", b"19450317")
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
    assert not any(s.decode() in caplog.text for s in secrets)


def _die_on_second(task: CaseTask):
    """Pool worker function: the second patient's case kills its worker process; the
    others return a small record (the pool mechanics are under test, not extraction)."""
    if task.patient_id == SMALL[1]:
        os._exit(1)
    return {"key": task.key, "patient_id": task.patient_id, "status": "ok", "pid": os.getpid()}


def test_worker_death_in_process_pool_fails_only_that_case():
    settings = settings_from_dict({"features": {"families": ["stat"]}})
    tasks = [
        CaseTask(
            key=f"k{i}",
            patient_id=p,
            lesion_id="1",
            tag="pet",
            image="i",
            mask="m",
            label=None,
            roi_name=None,
            resample_mask=False,
            settings=settings,
        )
        for i, p in enumerate(SMALL[:5])
    ]
    records = list(_run_pool(tasks, 2, _die_on_second))
    assert sorted(r["patient_id"] for r in records) == sorted(SMALL[:5])  # each case once
    by_patient = {r["patient_id"]: r for r in records}
    dead = by_patient.pop(SMALL[1])
    assert (dead["status"], dead["error"]["error_type"], dead["cacheable"]) == (
        "error",
        "WorkerDied",
        False,
    )
    assert "worker process died" in dead["error"]["message"]
    assert all(r["status"] == "ok" for r in by_patient.values())
    assert os.getpid() not in {r["pid"] for r in by_patient.values()}  # ran in workers


def test_the_case_key_moves_with_the_feature_revision(monkeypatch):
    """A cache made before a change to what a case computes (same version string) is not
    reused: the revision is part of the key."""
    import radiomix.cohort as cohort

    args = {"patient_id": "P1", "lesion_id": "1", "tag": "ct",
            "inputs": {"image_sha256": "ab"}, "roi": {"label": 1}, "settings_hash": "0123",
            "version": "0.1.0"}
    before = cohort.case_key(**args)
    monkeypatch.setattr(cohort, "FEATURE_REVISION", cohort.FEATURE_REVISION + 1)
    assert cohort.case_key(**args) != before


def test_the_case_key_moves_with_the_case_code(monkeypatch, tmp_path):
    """Round 20 (tester Q): a run folder of a tree whose case code differed (a filter's
    output changed, the revision not raised) was reused. The source of the modules that
    compute a case is in the key; the analysis and report code is not."""
    import hashlib
    from pathlib import Path

    import radiomix.cohort as cohort

    args = {"patient_id": "P1", "lesion_id": "1", "tag": "ct",
            "inputs": {"image_sha256": "ab"}, "roi": {"label": 1}, "settings_hash": "0123",
            "version": "0.1.0"}
    before = cohort.case_key(**args)
    monkeypatch.setattr(cohort, "case_code", lambda: "0" * 16)
    assert cohort.case_key(**args) != before
    monkeypatch.undo()
    # an independent digest of the case modules' source, in the documented order
    root = Path(cohort.__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0].removesuffix(".py") in (
                "analysis", "model", "evaluate", "report", "demo", "stability") or \
                rel.startswith("cli"):
            continue
        names.append(rel)
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    assert cohort.case_code() == digest.hexdigest()
    assert "features/statistics.py" in names
    assert "extraction.py" in names
    assert not any(n.startswith(("analysis/", "report/", "cli")) for n in names)
