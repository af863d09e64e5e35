"""A small, hand-written analysis document (schema radiomix.analysis/1) for report tests
that need no data: two arms, one survival model, a leakage audit, one QC thumbnail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _ci(est: float | None, lo: float | None, hi: float | None) -> dict[str, Any]:
    return {"estimate": est, "ci_low": lo, "ci_high": hi}


def _metrics(auc: float) -> dict[str, Any]:
    return {
        "roc_auc": _ci(auc, auc - 0.2, min(auc + 0.15, 1.0)),
        "pr_auc": _ci(0.5, 0.3, 0.7),
        "accuracy": _ci(0.6, 0.45, 0.75),
        "balanced_accuracy": _ci(0.58, 0.44, 0.72),
        "sensitivity": _ci(0.4, 0.2, 0.6),
        "specificity": _ci(0.8, 0.65, 0.92),
        "brier": _ci(0.22, 0.18, 0.27),
        "calibration_intercept": _ci(-0.123, -1.5, 0.9),
        "calibration_slope": _ci(None, None, None),
    }


def _roc(shift: float) -> dict[str, Any]:
    fpr = np.linspace(0, 1, 11)
    tpr = np.clip(fpr ** (1 - shift), 0, 1)
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "tpr_low": (tpr * 0.8).tolist(),
            "tpr_high": np.clip(tpr * 1.2, 0, 1).tolist(), "n_boot": 10}


def analysis() -> dict[str, Any]:
    """The synthetic analysis document."""
    arm = {"description": "inputs → model (|r| > 0.9)", "model": "m", "selection": "s",
           "tuning": "C", "n_features_in": 3}
    return {
        "schema": "radiomix.analysis/1",
        "title": "Synthetic report",
        "created": "2026-01-01 00:00 UTC",
        "run": {"quick": True, "data_dir": "/data", "description": "12 patients, synthetic."},
        "banners": [{"level": "error", "title": "Untrained deep network",
                     "text": "Deep features come from an UNTRAINED ResNet18."}],
        "reference": {"chance_auc": 0.5, "ci_percent": 95, "alpha": 0.05},
        "cohort": {
            "source": "synthetic", "citation": "Nobody 2020;1:1.",
            "n_patients": 12, "n_lesions": 12, "n_events": 4, "n_non_events": 8,
            "event_fraction": 4 / 12,
            "age": {"median": 61.5, "q1": 48.25, "q3": 70.0, "min": 20.0, "max": 83.0},
            "sex": {"Female": 5, "Male": 7},
            "grade": {"Low": 2, "High": 10},
            "follow_up_years": {"median": 2.345, "q1": 1.0, "q3": 3.0},
            "tags": ["ct"], "modalities": {"ct": "CT"},
            "roi_voxels": {"ct": {"median": 1000.0, "min": 10.0, "max": 123456.0}},
        },
        "provenance": {
            "study_file": "study.yaml", "study_sha256": "ab12", "manifest_file": "m.csv",
            "manifest_sha256": "cd34", "settings_hash": "ef56", "n_input_files": 24,
            "radiomix_version": "0.1.0", "versions": {"numpy": "2.0", "torch": "2.13.0"},
            "cases": {"total": 12, "cached": 2, "computed": 10, "failed": 1},
        },
        "settings": {
            "tags": {"ct": {"dimensionality": "3d", "spacing_mm": [2.0, 2.0, 2.0],
                            "interpolation_method": "linear",
                            "resegmentation": "range [-200, 400]",
                            "discretisation": "fixed bin size 25", "families": "stat",
                            "n_features": 18}},
            "deep": {"model": "resnet18", "architecture": "ResNet18",
                     "weights_label": "untrained", "weights_sha256": None,
                     "random_weights": True, "input": "slices, 64 x 64 pixels",
                     "description": "deep", "n_slices": 300, "n_patients": 12},
        },
        "ibsi": {"matched": 480, "total": 482,
                 "datasets": [{"dataset": "dig_phantom", "matched": 480, "total": 482}]},
        "qc": [{"patient_id": "P_001", "lesion_id": "1", "tag": "ct",
                "image": "qc/P_001_1_ct.png", "slice_index": 7, "roi_voxels": 1000},
               {"patient_id": "P_002", "lesion_id": "1", "tag": "ct",
                "image": "qc/missing.png", "slice_index": 3, "roi_voxels": 10}],
        "errors": [{"patient_id": "P_013", "lesion_id": "1", "tag": "ct", "stage": "load",
                    "error_type": "InputError", "message": "ct image not found: x.nii.gz"}],
        "evaluation": {"scheme": "nested CV 3 x 2", "n_bootstrap": 200,
                       "description": "Nested CV, 3 outer folds."},
        "arms": {
            "clinical": {**arm, "label": "Clinical", "metrics": _metrics(0.7),
                         "vs_clinical": None},
            "radiomics_knn": {**arm, "label": "Radiomics + kNN", "metrics": _metrics(0.55),
                              "vs_clinical": {"auc_difference": -0.15, "p_value": 0.0321,
                                              "z": -2.1}},
        },
        "arm_order": ["clinical", "radiomics_knn"],
        "survival": {
            "outcome": "time to event", "n_events": 4, "horizons_years": [1.0, 2.0],
            "horizon_note": "AUC at 2 year(s) refused: 4 at risk.",
            "models": {"cox": {"label": "Cox clinical", "c_index": _ci(0.66, 0.5, 0.8),
                               "td_auc": [{"horizon_years": 1.0, **_ci(0.7, 0.55, 0.85)},
                                          {"horizon_years": 2.0, **_ci(None, None, None),
                                           "status": "too few at risk"}]},
                       "bad": {"label": "Cox failed", "c_index": _ci(None, None, None),
                               "td_auc": [], "error": "not estimable: did not converge"}},
            "model_order": ["cox", "bad"],
            "km": {"grouping": "median split", "logrank_p": 0.0456,
                   "groups": [{"group": "low risk", "n": 6, "events": 1},
                              {"group": "high risk", "n": 6, "events": 3}]},
        },
        "nomogram": {"description": "nomogram", "n_radscore_features": 2,
                     "coefficients": [{"term": "(intercept)", "coef": 0.5, "odds_ratio": None},
                                      {"term": "radscore", "coef": 1.25,
                                       "odds_ratio": 3.4903}]},
        "features": {"description": "LASSO", "top": [{
            "column": "ct.original.stat.mean", "name": "Mean", "family": "stat",
            "family_code": "UHIW", "ibsi": "Q4LE", "aggregation": "3D volume",
            "aggregation_code": "DHQ4", "coefficient": -0.4567,
            "univariate_auc": _ci(0.3, 0.1, 0.5)}]},
        "leakage": {"description": "300 slices", "interpretation": "leaky",
                    "schemes": [{"scheme": "hold-out 70%/30% x1",
                                 "grouped": {"label": "grouped", "roc_auc": _ci(0.5, 0.3, 0.7),
                                             "accuracy": 0.5, "overlap": 0.0},
                                 "naive": {"label": "naive", "roc_auc": _ci(0.9, 0.85, 0.95),
                                           "accuracy": 0.88, "overlap": 1.0},
                                 "inflation": {"roc_auc": 0.4, "accuracy": 0.38}}]},
        "figure_files": {"nomogram": "figures/nomogram.png"},
        "artefacts": {"model": "model.joblib"},
        "timings": {"stages": [{"stage": "setup", "seconds": 0.123, "cpu_seconds": 0.1,
                                "note": "12 patients"}],
                    "total_seconds": 0.123, "total_cpu_seconds": 0.1,
                    "history": [
                        {"run": "first run in this folder", "created": "2025-12-31 00:00 UTC",
                         "stages": {"setup": 9.87}, "total_seconds": 9.87},
                        {"run": "this run", "created": "2026-01-01 00:00 UTC",
                         "stages": {"setup": 0.123}, "total_seconds": 0.123}]},
        "curves": {
            "roc": {"clinical": _roc(0.4), "radiomics_knn": _roc(0.1)},
            "calibration": {"clinical": {"predicted": [0.1, 0.5], "observed": [0.2, 0.4],
                                         "n": [6, 6]}},
            "decision": {"clinical": {"threshold": [0.1, 0.2], "net_benefit": [0.2, 0.1]},
                         "treat all": {"threshold": [0.1, 0.2], "net_benefit": [0.25, 0.1]},
                         "treat none": {"threshold": [0.1, 0.2], "net_benefit": [0.0, 0.0]}},
            "km": {"low risk": {"time": [0, 1, 2], "survival": [1, 0.9, 0.8],
                                "ci_lower": [1, 0.7, 0.6], "ci_upper": [1, 1, 0.95]}},
        },
    }


def write_results(folder: Path) -> Path:
    """A results folder with the synthetic analysis, one QC thumbnail and the nomogram file."""
    from radiomix.report.figures import qc_thumbnail

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qc").mkdir(exist_ok=True)
    (folder / "figures").mkdir(exist_ok=True)
    img = np.random.default_rng(0).normal(size=(8, 30, 30))
    mask = np.zeros(img.shape, bool)
    mask[3:6, 10:20, 8:22] = True
    (folder / "qc" / "P_001_1_ct.png").write_bytes(qc_thumbnail(img, mask, (3.0, 1.0, 1.0)))
    (folder / "figures" / "nomogram.png").write_bytes(
        (folder / "qc" / "P_001_1_ct.png").read_bytes())
    (folder / "analysis.json").write_text(json.dumps(analysis()), encoding="utf-8")
    return folder
