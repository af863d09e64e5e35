"""Cohort runs in this process: table layout against the single-case API, persistence and
resume, progress events, partial lesions."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml
from cohort_helpers import FAST, SMALL, lesion, sts_root, write_study

from radiomix.cohort import Progress, run_study
from radiomix.errors import SettingsError
from radiomix.extraction import extract
from radiomix.settings import settings_from_dict
from radiomix.table import read_provenance


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """Three lesions with CT and PET, run once serially."""
    folder = tmp_path_factory.mktemp("serial")
    rows = [
        lesion(p, tags=("ct", "pet"), lung_mets=y, age=a, grade=g)
        for p, y, a, g in zip(
            SMALL[:3], ("1", "0", ""), ("40", "55", "61"), ("High", "", "Low"), strict=True
        )
    ]
    study = write_study(
        folder,
        rows,
        tags=("ct", "pet"),
        columns={"labels": ["lung_mets"], "covariates": ["age", "grade"]},
    )
    events: list[Progress] = []
    result = run_study(study, folder / "out", progress=events.append)
    return study, result, events


def test_table_has_one_row_per_lesion_with_ids_labels_and_features(serial):
    _study, result, _ = serial
    assert result.ok
    assert (result.n_lesions, result.n_rows, result.n_cases) == (3, 3, 6)
    df = pd.read_parquet(result.features_path)
    assert list(df.patient_id) == list(SMALL[:3])  # manifest order
    assert list(df.columns[:5]) == ["patient_id", "lesion_id", "lung_mets", "age", "grade"]
    assert df.lung_mets.isna().tolist() == [False, False, True]  # empty cell: missing
    assert df.lung_mets.iloc[:2].tolist() == [1.0, 0.0]
    assert df.age.tolist() == [40, 55, 61]
    assert df.grade.tolist() == ["High", None, "Low"]
    feats = [c for c in df.columns if "." in c]
    assert [c.split(".")[0] for c in feats] == sorted(
        (c.split(".")[0] for c in feats), key=["ct", "pet"].index
    )
    assert list(df.columns[-2:]) == ["settings_hash", "radiomix_version"]
    assert pd.read_parquet(result.errors_path).empty


def test_values_equal_single_case_extraction(serial):
    """Oracle: the single-case API on the same inputs and settings."""
    _, result, _ = serial
    df = pd.read_parquet(result.features_path).set_index("patient_id")
    root = sts_root()
    for patient in SMALL[:3]:
        for tag in ("ct", "pet"):
            one = extract(
                root / "nifti" / patient / tag / "image.nii.gz",
                root / "nifti" / patient / tag / "mask.nii.gz",
                settings=settings_from_dict(FAST[tag]),
                tag=tag,
            )
            assert one.features  # the tag has columns
            for name, value in one.features.items():
                got = df.loc[patient, name]
                assert (math.isnan(got) and math.isnan(value)) or got == value, (patient, name)


def test_provenance_is_stored_with_the_table(serial):
    _study, result, _ = serial
    prov = read_provenance(result.features_path)
    assert prov == read_provenance(result.errors_path)
    assert set(prov["study"]["tags"]) == {"ct", "pet"}
    assert prov["study"]["tags"]["pet"]["settings"]["discretisation"]["bin_width"] == 0.25
    assert len(prov["cases"]) == 6
    for case in prov["cases"]:
        assert case["status"] == "ok"
        assert len(case["image_sha256"]) == 64
        assert len(case["mask_sha256"]) == 64
        assert case["worker"].startswith("process-")
        assert case["settings_hash"] == prov["study"]["tags"][case["tag"]]["settings_hash"]
    assert "numpy" in prov["versions"]
    df = pd.read_parquet(result.features_path)
    assert set(df.settings_hash) == {prov["settings_hash"]}


def test_progress_events(serial):
    _, _, events = serial
    assert [e.event for e in events] == ["start"] + ["case"] * 6 + ["end"]
    assert (events[0].total, events[0].todo, events[0].cached) == (6, 6, 0)
    assert [e.computed for e in events[1:-1]] == list(range(1, 7))
    assert {e.case for e in events[1:-1]} == {
        f"{p}/1/{t}" for p in SMALL[:3] for t in ("ct", "pet")
    }


def test_rerun_skips_current_cases_and_redoes_changed_ones(serial, tmp_path):
    study, first, _ = serial
    out = first.features_path.parent
    before = pd.read_parquet(first.features_path)
    events: list[Progress] = []
    again = run_study(study, out, progress=events.append)
    assert (again.n_cached, again.n_computed) == (6, 0)
    pd.testing.assert_frame_equal(pd.read_parquet(again.features_path), before)
    execution = read_provenance(again.features_path)["execution"]
    assert execution["cases_run"] == 0
    assert "computed no case" in execution["note"]

    # a deleted case file and a corrupt one are redone; nothing else
    files = sorted((out / "cases").glob("*.json"))
    assert len(files) == 6
    files[0].unlink()
    files[1].write_text("{truncated", encoding="utf-8")
    again = run_study(study, out)
    assert (again.n_cached, again.n_computed) == (4, 2)
    pd.testing.assert_frame_equal(pd.read_parquet(again.features_path), before)

    # new PET settings: only the PET cases are redone, the CT columns are unchanged
    doc = yaml.safe_load(study.read_text(encoding="utf-8"))
    doc["tags"]["pet"]["settings"]["discretisation"]["bin_width"] = 0.5
    changed = tmp_path / "study.yaml"
    changed.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (tmp_path / "manifest.csv").write_bytes((study.parent / "manifest.csv").read_bytes())
    again = run_study(changed, out)
    assert (again.n_cached, again.n_computed) == (3, 3)
    after = pd.read_parquet(again.features_path)
    ct_cols = [c for c in before.columns if c.startswith("ct.")]
    pd.testing.assert_frame_equal(after[ct_cols], before[ct_cols])
    assert len(list((out / "cases").glob("*.json"))) == 9  # old files stay, unused
    # the original settings again: everything current
    assert run_study(study, out).n_computed == 0


def test_absent_tag_and_partial_lesions(tmp_path, caplog):
    rows = [
        lesion(SMALL[0], tags=("ct", "pet")),
        lesion(SMALL[1], tags=("pet",)),  # no CT: both CT cells empty
        lesion(SMALL[2], tags=("ct", "pet")),
    ]
    rows[2]["pet_mask"] = "nifti/NOPE/pet/mask.nii.gz"  # the PET case of lesion 3 fails
    study = write_study(tmp_path / "s", rows, tags=("ct", "pet"))
    with caplog.at_level("WARNING", logger="radiomix.cohort"):
        result = run_study(study, tmp_path / "out")
    assert (result.n_cases, result.n_failed, result.n_rows) == (5, 1, 2)
    # the lesion without CT is named (tester 22g: a run said nothing of it)
    said = [r.getMessage() for r in caplog.records if "no image for some tag" in r.getMessage()]
    assert said == [f"1 of 3 lesion(s) have no image for some tag(s) (both manifest cells "
                    f"empty): {SMALL[1]}/1 (ct); their columns of those tags stay empty in the "
                    "feature table, and an analysis imputes them inside its training folds: "
                    "fill the cells where the images exist"]
    df = pd.read_parquet(result.features_path)
    assert list(df.patient_id) == [SMALL[0], SMALL[1]]
    ct_cols = [c for c in df.columns if c.startswith("ct.")]
    assert df.loc[1, ct_cols].isna().all()
    assert df.loc[0, ct_cols].notna().all()

    partial = write_study(tmp_path / "p", rows, tags=("ct", "pet"), keep_partial=True)
    result = run_study(partial, tmp_path / "out")  # same cases: all current
    assert (result.n_computed, result.n_rows) == (0, 3)
    df = pd.read_parquet(result.features_path)
    pet_cols = [c for c in df.columns if c.startswith("pet.")]
    assert df.loc[2, pet_cols].isna().all()
    assert df.loc[2, ct_cols].notna().all()


def test_case_file_is_json_keyed_by_hash(serial):
    _, result, _ = serial
    files = sorted((result.features_path.parent / "cases").glob("*.json"))
    rec = json.loads(files[0].read_text(encoding="utf-8"))
    assert files[0].stem == rec["key"]
    assert len(rec["key"]) == 32
    assert rec["status"] == "ok"
    assert rec["features"]
    assert not list((result.features_path.parent / "cases").glob(".*.tmp"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"jobs": 0}, r"jobs must be an integer >= 1"),
        ({"scheduler": "localhost:8786"}, r"scheduler must be 'local' or a Dask scheduler address"),
    ],
)
def test_bad_arguments(serial, tmp_path, kwargs, match):
    study, _, _ = serial
    with pytest.raises(SettingsError, match=match):
        run_study(study, tmp_path / "out", **kwargs)


def test_output_path_must_be_a_folder(serial, tmp_path):
    study, _, _ = serial
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="is not a folder"):
        run_study(study, tmp_path / "file")


def test_changed_input_file_is_redone(tmp_path, monkeypatch):
    import os

    import SimpleITK as sitk

    src = sts_root() / "nifti" / SMALL[0] / "pet"
    image = tmp_path / "img.nii.gz"
    sitk.WriteImage(sitk.ReadImage(str(src / "image.nii.gz")), str(image))
    rows = [
        lesion(SMALL[1]),
        {"patient_id": "copy", "lesion_id": "1", "pet_image": str(image),
         "pet_mask": str(src / "mask.nii.gz")},
    ]
    study = write_study(tmp_path / "s", rows)
    first = run_study(study, tmp_path / "out")
    col = "pet.original.stat.mean"
    mean = pd.read_parquet(first.features_path).set_index("patient_id").loc["copy", col]

    # unchanged inputs: the remembered hashes are used, no image is hashed again
    import radiomix.table

    real_hash = radiomix.table.file_hash

    def no_hashing(path):
        assert not str(path).endswith(".nii.gz"), f"hashed {path} again"
        return real_hash(path)  # study file and manifest, for provenance

    monkeypatch.setattr(radiomix.table, "file_hash", no_hashing)
    assert run_study(study, tmp_path / "out").n_computed == 0
    monkeypatch.undo()

    # new content (every SUV doubled): only that case is redone; the mean doubles (linear
    # interpolation and the range [0, inf) commute with the scaling)
    sitk.WriteImage(sitk.ReadImage(str(src / "image.nii.gz")) * 2.0, str(image))
    os.utime(image, ns=(1, 1))  # a different modification time even on coarse clocks
    again = run_study(study, tmp_path / "out")
    assert (again.n_cached, again.n_computed) == (1, 1)
    new_mean = pd.read_parquet(again.features_path).set_index("patient_id").loc["copy", col]
    assert new_mean == pytest.approx(2 * mean, rel=1e-12)
