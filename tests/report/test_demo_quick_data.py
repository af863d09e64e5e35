"""Outputs of the quick demo on the real sarcoma cohort, checked against independent
computations (clinical.csv read with the csv module, AUCs with scikit-learn)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def doc(quick_demo: Path) -> dict:
    return json.loads((quick_demo / "analysis.json").read_text(encoding="utf-8"))


def test_outputs_exist(quick_demo: Path) -> None:
    for name in ("report.html", "analysis.json", "predictions.csv", "model.joblib",
                 "features/features.parquet", "features/errors.parquet", "study/study.yaml",
                 "study/manifest.csv"):
        assert (quick_demo / name).is_file(), name


def test_cohort_equals_clinical_table(doc: dict, shared_data: Path, quick_demo: Path) -> None:
    with (shared_data / "sts" / "clinical.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["patient_id"]: r for r in csv.DictReader(fh)}
    with (quick_demo / "study" / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        chosen = [r["patient_id"] for r in csv.DictReader(fh)]
    assert len(chosen) == 12 == doc["cohort"]["n_patients"]
    binary = doc["outcomes"][0]
    assert binary["n_positive"] == sum(rows[p]["lung_mets"] == "1" for p in chosen) >= 3
    age = next(r for r in doc["cohort"]["table1"]["rows"] if r["variable"] == "age")
    med = float(np.median([float(rows[p]["age"]) for p in chosen]))
    assert age["overall"].startswith(f"{med:.3g}")


def test_aucs_equal_sklearn_on_saved_predictions(quick_demo: Path, doc: dict) -> None:
    pred = pd.read_csv(quick_demo / "predictions.csv")
    binary = doc["outcomes"][0]
    v = binary["validation"][0]
    part_all = pred[(pred["outcome"] == "lung_mets") & (pred["scheme"] == "nested_cv")]
    assert set(part_all["arm"]) == set(binary["arm_order"])
    for arm, part in part_all.groupby("arm"):
        assert part.groupby("repeat")["patient_id"].apply(lambda s: s.is_unique).all()
        if arm == "prevalence":
            continue
        aucs = [roc_auc_score(r["y_true"], r["proba"]) for _, r in part.groupby("repeat")]
        assert v["arms"][arm]["metrics"]["roc_auc"]["estimate"] == pytest.approx(
            float(np.mean(aucs)), abs=1e-12)


def test_arms_compared_with_the_clinical_reference(doc: dict) -> None:
    binary = doc["outcomes"][0]
    assert binary["reference_arm"] == "clinical"
    v = binary["validation"][0]["arms"]
    assert v["clinical"]["vs_reference"] is None
    estimable = [a for a in ("radiomics_knn", "deep", "fused_knn", "clinical_radscore")
                 if v[a]["metrics"]["roc_auc"]["estimate"] is not None]
    assert {"radiomics_knn", "deep", "fused_knn"} <= set(estimable)
    for arm in estimable:
        vs = v[arm]["vs_reference"]
        assert 0 <= vs["p_value"] <= 1
        diff = v[arm]["metrics"]["roc_auc"]["estimate"] - v["clinical"]["metrics"]["roc_auc"][
            "estimate"]
        assert vs["auc_difference"]["estimate"] == pytest.approx(diff)


def test_deep_arms_flagged_untrained(doc: dict) -> None:
    binary = doc["outcomes"][0]
    assert binary["arms"]["deep"]["untrained_deep"] is True
    assert binary["arms"]["radiomics_knn"]["untrained_deep"] is False
    assert any(b["title"] == "Untrained deep network" for b in doc["banners"])


def test_model_artefact(quick_demo: Path, doc: dict) -> None:
    import joblib

    saved = joblib.load(quick_demo / "model.joblib")
    assert {"clinical", "volume", "radiomics_knn", "deep", "fused_knn", "radscore"} <= set(
        saved["models"]["lung_mets"])
    assert all(hasattr(m["model"], "predict_proba") for m in saved["models"]["lung_mets"].values())
    assert "radiomix" in saved["versions"]
