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
def metrics(quick_demo: Path) -> dict:
    return json.loads((quick_demo / "metrics.json").read_text(encoding="utf-8"))


def test_outputs_exist(quick_demo: Path) -> None:
    for name in ("report.html", "metrics.json", "analysis.json", "predictions.csv",
                 "model.joblib", "features/features.parquet", "features/errors.parquet",
                 "deep/ct_slices.parquet", "study/study.yaml", "study/manifest.csv"):
        assert (quick_demo / name).is_file(), name


def test_cohort_summary_equals_clinical_table(metrics: dict, shared_data: Path) -> None:
    with (shared_data / "sts" / "clinical.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["patient_id"]: r for r in csv.DictReader(fh)}
    chosen = metrics["cohort"]["patients"]
    assert len(chosen) == 12 == metrics["cohort"]["n_patients"]
    events = sum(rows[p]["lung_mets"] == "1" for p in chosen)
    assert metrics["cohort"]["n_events"] == events
    assert events >= 3
    assert len(chosen) - events >= 3
    ages = sorted(float(rows[p]["age"]) for p in chosen)
    assert metrics["cohort"]["age"]["median"] == pytest.approx(float(np.median(ages)))
    for sex in ("Male", "Female"):
        assert metrics["cohort"]["sex"].get(sex, 0) == sum(rows[p]["sex"] == sex for p in chosen)


def test_aucs_equal_sklearn_on_saved_predictions(quick_demo: Path, metrics: dict) -> None:
    pred = pd.read_csv(quick_demo / "predictions.csv")
    assert set(pred["arm"]) == set(metrics["arm_order"])
    for arm, part in pred.groupby("arm"):
        # every patient predicted exactly once per repeat, by a model that did not see it
        assert part.groupby("repeat")["patient_id"].apply(lambda s: s.is_unique).all()
        assert set(part["patient_id"]) == set(metrics["cohort"]["patients"])
        aucs = [roc_auc_score(r["y_true"], r["proba"]) for _, r in part.groupby("repeat")]
        assert metrics["arms"][arm]["metrics"]["roc_auc"]["estimate"] == pytest.approx(
            float(np.mean(aucs)), abs=1e-12)
        lo = metrics["arms"][arm]["metrics"]["roc_auc"]["ci_low"]
        hi = metrics["arms"][arm]["metrics"]["roc_auc"]["ci_high"]
        assert lo <= hi


def test_arms_compared_with_clinical(metrics: dict) -> None:
    assert metrics["arm_order"][0] == "clinical"
    assert metrics["arms"]["clinical"]["vs_clinical"] is None
    for arm in ("radiomics_knn", "deep", "fused_knn", "clinical_radscore"):
        vs = metrics["arms"][arm]["vs_clinical"]
        assert 0 <= vs["p_value"] <= 1
        diff = (metrics["arms"][arm]["metrics"]["roc_auc"]["estimate"]
                - metrics["arms"]["clinical"]["metrics"]["roc_auc"]["estimate"])
        assert vs["auc_difference"] == pytest.approx(diff)


def test_quick_study_file_and_features(quick_demo: Path, metrics: dict) -> None:
    import yaml

    from radiomix.demo import QUICK_FAMILIES

    study = yaml.safe_load((quick_demo / "study" / "study.yaml").read_text(encoding="utf-8"))
    features = pd.read_parquet(quick_demo / "features" / "features.parquet")
    assert len(features) == 12
    for tag in ("ct", "pet", "mr_t1"):
        assert study["tags"][tag]["settings"]["features"]["families"] == list(QUICK_FAMILIES)
        families = {c.split(".")[2] for c in features.columns if c.startswith(tag + ".")}
        assert families == set(QUICK_FAMILIES)
        n = sum(c.startswith(tag + ".") for c in features.columns)
        assert metrics["settings"]["tags"][tag]["n_features"] == n


def test_deep_slices_carry_patients(quick_demo: Path, metrics: dict) -> None:
    slices = pd.read_parquet(quick_demo / "deep" / "ct_slices.parquet")
    assert set(slices["patient_id"]) == set(metrics["cohort"]["patients"])
    assert len(slices) == metrics["settings"]["deep"]["n_slices"]
    assert sum(c.startswith("ct.deep.resnet18_slices.f") for c in slices.columns) == 512
    assert slices.groupby("patient_id")["slice_index"].apply(lambda s: s.is_unique).all()


def test_leakage_audit_shows_inflation(metrics: dict) -> None:
    hold = metrics["leakage"]["schemes"][0]
    assert hold["naive"]["overlap"] == pytest.approx(1.0)
    assert hold["grouped"]["overlap"] == 0.0
    assert hold["naive"]["roc_auc"]["estimate"] > hold["grouped"]["roc_auc"]["estimate"] + 0.2


def test_model_artefact(quick_demo: Path, metrics: dict) -> None:
    import joblib

    saved = joblib.load(quick_demo / "model.joblib")
    assert set(saved["models"]) == set(metrics["arm_order"])
    assert all(hasattr(m, "predict_proba") for m in saved["models"].values())
    assert "radiomix" in saved["versions"]
    assert saved["target"] == "lung_mets"
