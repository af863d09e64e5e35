"""Nineteenth outside round, the analysis engine.

- J3: the "tumour volume only" baseline took the volume of the table's first tag that had
  one, a peritumoral ring's when a ring tag came first (``log1p of
  pet_ring.original.morph.volume_mesh``): swapping the study's tags moved its AUC from
  0.617 to 0.673 on the sarcoma PETs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, tumour_tags
from radiomix.analysis.spec import analysis_from_dict

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _study_doc(*tags_rois):
    return {"name": "s", "tags": {tag: {"settings": {"preprocess": {"roi": roi}}}
                                  for tag, roi in tags_rois}}


def _with_ring(feats: pd.DataFrame) -> pd.DataFrame:
    """The table with a ring tag first: its volume a shell's, unrelated to the tumour's."""
    rng = np.random.default_rng(7)
    ring = pd.DataFrame({"ring.original.morph.volume_mesh": rng.uniform(5e4, 9e4, len(feats)),
                         "ring.original.stat.mean": rng.normal(size=len(feats))},
                        index=feats.index)
    ids = feats[["patient_id", "lesion_id", "centre"]]
    return pd.concat([ids, ring, feats.drop(columns=ids.columns)], axis=1)


def test_tumour_tags_leave_rings_and_slices_out():
    doc = _study_doc(("pet_ring", "ring"), ("pet", "tumour"), ("ct2d", "largest_slice"))
    assert tumour_tags(doc) == ["pet"]
    assert tumour_tags({"name": "another tool"}) is None
    assert tumour_tags(None) is None


def test_the_volume_baseline_is_the_tumours_not_a_rings(caplog):
    feats, clin = cohort(60)
    table = _with_ring(feats)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [], "baselines": ["volume"], "validation": dict(FAST)})
    volume = "ct.original.morph.volume_mesh"
    assert volume in table.columns
    doc = _study_doc(("ring", "ring"), ("ct", "tumour"))
    built = build_table(table, spec, clinical=clin, volume_tags=tumour_tags(doc))
    assert built.blocks["volume"] == [volume]
    # a table without a study's description: the first tag with a volume by name (not by
    # the table's column order, round 21), said
    import logging

    ring_first = table[[c for c in table.columns if c.startswith("ring.")]
                       + [c for c in table.columns if not c.startswith("ring.")]]
    with caplog.at_level(logging.WARNING, logger="radiomix.analysis.data"):
        assert build_table(ring_first, spec, clinical=clin).blocks["volume"] == [volume]
    assert "does not say which tags' ROIs are tumours" in caplog.text
    # a study whose tags are all rings has no tumour volume
    rings = build_table(table, spec, clinical=clin,
                        volume_tags=tumour_tags(_study_doc(("ring", "ring"))))
    assert rings.blocks["volume"] == []


def test_model_reads_the_tags_rois_from_a_run_tables_provenance(tmp_path):
    from radiomix.analysis.adhoc import run_adhoc
    from radiomix.table import write_table

    feats, clin = cohort(60)
    table = _with_ring(feats).merge(clin[["patient_id", "outcome"]], on="patient_id")
    table = table.drop(columns=[c for c in table if ".deep." in c])
    write_table(table.to_dict("records"), tmp_path / "features.parquet",
                provenance={"study": _study_doc(("ring", "ring"), ("ct", "tumour"))})
    doc = run_adhoc(tmp_path / "o", features=tmp_path / "features.parquet", target="outcome",
                    positive="mets", outer=3, inner=2, repeats=1, bootstrap=50, report=False)
    arm = doc["outcomes"][0]["arms"]["volume"]
    assert arm["columns"] == ["ct.original.morph.volume_mesh"]


def _find(doc, key):
    """Every value under ``key`` anywhere in a JSON document."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == key:
                yield v
            yield from _find(v, key)
    elif isinstance(doc, list):
        for v in doc:
            yield from _find(v, key)


def test_the_calibration_band_of_several_lesions_a_patient_counts_patients(tmp_path):
    """L1: three lesions a patient (the outcome the patient's); the band was a Wilson
    interval over the rows, as if each lesion were a patient."""
    from radiomix.analysis.adhoc import run_adhoc

    feats, clin = cohort(40)
    one = feats.drop(columns=[c for c in feats if ".deep." in c]).merge(
        clin[["patient_id", "outcome"]], on="patient_id")
    rng = np.random.default_rng(3)
    rows = []
    for k in range(3):  # three lesions a patient, their features close to the first's
        lesion = one.assign(lesion_id=f"L{k}")
        num = [c for c in lesion if c.startswith("ct.")]
        lesion[num] = lesion[num] * (1 + 0.05 * rng.standard_normal((len(lesion), len(num))))
        rows.append(lesion)
    table = pd.concat(rows, ignore_index=True)
    table.to_csv(tmp_path / "features.csv", index=False)
    doc = run_adhoc(tmp_path / "o", features=tmp_path / "features.csv", target="outcome",
                    positive="mets", lesion="lesion_id", outer=3, inner=2, repeats=1,
                    bootstrap=50, report=False)
    curves = [c for cal in _find(doc, "calibration") if isinstance(cal, dict)
              for c in cal.values() if isinstance(c, dict) and "n_effective" in c]
    assert curves
    for curve in curves:
        assert "effective number of patients" in curve["legend"]
        assert all(e < n for e, n in zip(curve["n_effective"], curve["n"], strict=True))


def test_a_clinical_row_without_a_patient_id_is_refused():
    """L4: a clinical row ``,1,40`` (no id) was dropped without a word, exit 0."""
    import pytest

    from radiomix.errors import InputError

    feats, clin = cohort(30)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [], "validation": dict(FAST)})
    extra = pd.DataFrame([{"patient_id": None, "outcome": "mets", "age": 40}])
    with pytest.raises(InputError, match=r"row 32 of the clinical table: the group column "
                                         r"'patient_id' is empty \(1 row\(s\) in all\)"):
        build_table(feats, spec, clinical=pd.concat([clin, extra], ignore_index=True))
    # a row with no value at all (a spreadsheet's trailing ",,,") holds no data
    blank = pd.DataFrame([dict.fromkeys(clin.columns)])
    table = build_table(feats, spec, clinical=pd.concat([clin, blank], ignore_index=True))
    assert len(table.X) == len(feats)
    # an empty id in the feature table is refused before any warning about joins
    holed = feats.copy()
    holed.loc[3, "patient_id"] = None
    with pytest.raises(InputError, match=r"row 5 of the feature table: the group column "):
        build_table(holed, spec, clinical=clin)


def test_slice_embedding_columns_are_image_columns_radiomix_writes():
    """M4: a 15-patient study with `deep: {mode: slices}` was refused (exit 2) because a
    slice embedding's max separated the outcome by chance; `fNNN` columns of the other
    modes were exempt, as the README says."""
    from radiomix.analysis.data import written

    assert written("ct.deep.resnet18_slices.f217.max")
    assert written("ct.deep.resnet18_slices.f217.mean")
    assert not written("ct.deep.resnet18_slices.f217.median")  # not a statistic it writes
    assert not written("ct.deep.resnet18_slices.score.max")


def test_the_flow_of_a_given_table_names_the_run_that_wrote_it(tmp_path):
    """L2: `analyse --features` on a table of a 12-lesion run, the study's manifest now
    listing more: the flow read "12 cases in the manifest -> ... -> 14 lesions in the
    manifest"; the first counts are the earlier run's."""
    import csv
    import json

    from _data import DATA_DIR, require_data

    require_data("sts", "nifti")
    from radiomix.analysis.study import analyse_study
    from radiomix.cohort import run_study
    from radiomix.demo import write_demo_study
    from radiomix.settings.study import load_study

    study_path = write_demo_study(tmp_path / "study", DATA_DIR, patients=12, quick=True, seed=0)
    res = run_study(load_study(study_path), tmp_path / "run", jobs=1)
    manifest = study_path.parent / "manifest.csv"
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, {**rows[0], "patient_id": "STS_NEW"}])
    out = analyse_study(study_path, tmp_path / "out", features=res.features_path,
                        report=False)
    flow = {s["step"]: s["n"] for s in json.loads(out.read_text())["cohort"]["flow"]}
    planned = next(k for k in flow if k.startswith("cases (lesion × image) planned"))
    assert planned.endswith("by the run that wrote features.parquet")
    assert flow["lesions in the manifest"] == len(rows) + 1
    assert "cases (lesion × image) in the manifest" not in flow


@pytest.mark.parametrize("blocked", ["analysis.json", "model.joblib", "predictions.csv"])
def test_model_that_cannot_write_an_output_says_so_and_leaves_no_earlier_document(
        tmp_path, blocked):
    """Tester O: `analyse`/`model` with a folder where an output file goes gave a traceback
    (exit 1), and a failed re-run left the earlier analysis.json beside the new
    predictions.csv."""
    import subprocess
    import sys

    _run_table_csv(tmp_path)
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "radiomix.cli", "model", "--out", str(out), "--features",
           str(tmp_path / "features.csv"), "--target", "outcome", "--positive", "mets",
           "--outer", "3", "--inner", "2", "--repeats", "1", "--bootstrap", "50",
           "--no-report", "--quiet"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert (out / "analysis.json").is_file()
    (out / blocked).unlink()
    (out / blocked).mkdir()
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode == 2, again.stderr
    assert "Traceback" not in again.stderr
    assert f"cannot write {blocked} in {out}" in again.stderr
    if blocked != "analysis.json":
        assert not (out / "analysis.json").exists()  # no document of other predictions


def _run_table_csv(folder):
    feats, clin = cohort(40)
    table = feats.drop(columns=[c for c in feats if ".deep." in c]).merge(
        clin[["patient_id", "outcome"]], on="patient_id")
    table.to_csv(folder / "features.csv", index=False)
