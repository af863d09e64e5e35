"""Synthetic results documents (schema ``radiomix.analysis/2``) for the report tests.

The documents are built from simulated predictions, and every curve in them is computed
here, independently of radiomix: ROC curves with ``sklearn.metrics.roc_curve`` (the AUC is
``sklearn.metrics.auc`` of that curve), calibration tables and decision curves with a few
lines of numpy, Kaplan–Meier curves with lifelines. Three kinds:

- :func:`classification_document` — one binary outcome, nested CV;
- :func:`survival_document` — one survival outcome, nested CV;
- :func:`combined_document` — a binary outcome validated as training / internal / external
  plus a survival outcome, with a leakage audit, errors, warnings, QC thumbnails, top
  features and a nomogram (every optional section).

Outcome names are parameters, so a test can check that no other study's words appear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import average_precision_score, brier_score_loss, roc_curve

ARMS: dict[str, dict[str, Any]] = {
    "clinical": {"label": "Clinical model", "kind": "declared", "blocks": ["clinical"],
                 "columns": ["age", "sex"], "selector": None,
                 "model": "logistic regression (L2)", "signal": 0.8},
    "volume": {"label": "Tumour volume", "kind": "baseline", "blocks": ["volume"],
               "columns": ["ct.original.morph.volume"], "selector": None,
               "model": "logistic regression", "signal": 1.0},
    "radiomics": {"label": "Radiomics (LASSO)", "kind": "declared", "blocks": ["radiomic"],
                  "columns": ["ct.original.glcm.contrast.3d_avg", "ct.original.stat.mean",
                              "pet.original.glszm.zs_non_uniformity.3d"],
                  "selector": "correlation filter |r| > 0.9, then LASSO",
                  "model": "logistic regression (L1)", "signal": 1.4},
    "deep": {"label": "Deep features (ResNet)", "kind": "declared", "blocks": ["deep"],
             "columns": [f"ct.deep.resnet18.{i:03d}" for i in range(12)],
             "selector": "PCA 10 components", "model": "logistic regression (L2)",
             "signal": 0.0, "untrained_deep": True},
    "prevalence": {"label": "Prevalence only", "kind": "baseline", "blocks": ["none"],
                   "columns": [], "selector": None, "model": "constant", "signal": None},
}
ORDER = ["clinical", "volume", "radiomics", "deep", "prevalence"]


def ci(est: float | None, lo: float | None, hi: float | None) -> dict[str, Any]:
    return {"estimate": est, "ci_low": lo, "ci_high": hi}


def _around(est: float, half: float, lo: float = 0.0, hi: float = 1.0) -> dict[str, Any]:
    return ci(est, max(lo, est - half), min(hi, est + half))


def _arm_defs(keys: list[str]) -> dict[str, Any]:
    out = {}
    for k in keys:
        a = {kk: v for kk, v in ARMS[k].items() if kk != "signal"}
        a.setdefault("untrained_deep", False)
        a["description"] = f"{a['label']}: {a['model']}"
        a["n_columns"] = len(a["columns"])
        a["grid"] = {"C": [0.1, 1.0, 10.0]} if a["kind"] == "declared" else {}
        out[k] = a
    return out


def _predictions(rng: np.random.Generator, y: np.ndarray, keys: list[str]) -> dict[str, Any]:
    out = {}
    for k in keys:
        s = ARMS[k]["signal"]
        if s is None:
            out[k] = np.full(y.size, y.mean())
        else:
            z = s * (y - 0.5) * 2 + rng.normal(size=y.size)
            out[k] = 1 / (1 + np.exp(-(z - 0.8)))
    return out


def _calibration(y: np.ndarray, p: np.ndarray, bins: int = 4) -> dict[str, Any]:
    order = np.argsort(p, kind="stable")
    pred, obs, lo, hi, n = [], [], [], [], []
    for b in np.array_split(order, bins):
        k, m = float(y[b].sum()), b.size
        f = k / m
        z = 1.959964
        centre = (f + z * z / (2 * m)) / (1 + z * z / m)
        half = z * np.sqrt(f * (1 - f) / m + z * z / (4 * m * m)) / (1 + z * z / m)
        pred.append(float(p[b].mean()))
        obs.append(f)
        lo.append(float(max(0.0, centre - half)))
        hi.append(float(min(1.0, centre + half)))
        n.append(int(m))
    return {"predicted": pred, "observed": obs, "lower": lo, "upper": hi, "n": n}


def _net_benefit(y: np.ndarray, p: np.ndarray, t: np.ndarray) -> list[float]:
    n = y.size
    out = []
    for th in t:
        flag = p >= th
        tp = float(np.sum(flag & (y == 1)))
        fp = float(np.sum(flag & (y == 0)))
        out.append(tp / n - fp / n * th / (1 - th))
    return out


def _binary_validation(rng: np.random.Generator, scheme: str, label: str, keys: list[str],
                       n: int, *, cross_validated: bool, drop_curves: tuple[str, ...] = ()
                       ) -> dict[str, Any]:
    y = (rng.random(n) < 0.3).astype(int)
    y[:3] = 1
    y[3:6] = 0
    preds = _predictions(rng, y, keys)
    arms: dict[str, Any] = {}
    roc: dict[str, Any] = {}
    cal: dict[str, Any] = {}
    ref_auc = None
    for k in keys:
        p = preds[k]
        fpr, tpr, _ = roc_curve(y, p)
        a = float(sk_auc(fpr, tpr))
        if k == "clinical":
            ref_auc = a
        flag = p >= 0.5
        sens = float(np.mean(flag[y == 1]))
        spec = float(np.mean(~flag[y == 0]))
        brier = float(brier_score_loss(y, p))
        half = 0.15 * (np.sqrt(2) if cross_validated else 1)
        arms[k] = {
            "metrics": {
                "roc_auc": _around(a, half), "pr_auc": _around(float(
                    average_precision_score(y, p)), 0.2),
                "accuracy": _around(float(np.mean(flag == (y == 1))), 0.1),
                "sensitivity": _around(sens, 0.2), "specificity": _around(spec, 0.1),
                "balanced_accuracy": _around((sens + spec) / 2, 0.1),
                "brier": _around(brier, 0.05),
                "calibration_intercept": ci(-0.234, -1.1, 0.6),
                "calibration_slope": (ci(None, None, None) | {"reason": "constant prediction"}
                                      if ARMS[k]["signal"] is None else ci(0.8, 0.2, 1.6)),
            },
            "brier_reference": float(np.mean((y - y.mean()) ** 2)),
            "brier_vs_reference": _around(brier - float(np.mean((y - y.mean()) ** 2)), 0.03,
                                          -1.0, 1.0),
            "threshold": {"rule": "0.5", "values": [0.5]},
            "vs_reference": None,
            "folds_without_feature": 2 if k == "radiomics" and cross_validated else 0,
            "n_folds": 15 if cross_validated else 1,
            "chosen": [{"C": 1.0}, {"C": 0.1}] if ARMS[k]["kind"] == "declared" else [],
            "warnings": ["events per variable below 10"] if k == "deep" else [],
        }
        if ARMS[k]["signal"] is not None:
            band_f = np.linspace(0, 1, 21)
            mid = np.interp(band_f, fpr, tpr)
            roc[k] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": a,
                      "band": {"fpr": band_f.tolist(),
                               "lower": np.clip(mid - 0.15, 0, 1).tolist(),
                               "upper": np.clip(mid + 0.15, 0, 1).tolist()},
                      "legend": "out-of-fold ROC"}
            cal[k] = _calibration(y, p)
    for k in keys:
        if k != "clinical" and ref_auc is not None:
            d = arms[k]["metrics"]["roc_auc"]["estimate"] - ref_auc
            arms[k]["vs_reference"] = {"reference": "clinical",
                                       "auc_difference": ci(d, d - 0.2, d + 0.2),
                                       "delong_p": 0.4321}
    if "radiomics" in keys and "volume" in keys:
        d = arms["radiomics"]["metrics"]["roc_auc"]["estimate"] - \
            arms["volume"]["metrics"]["roc_auc"]["estimate"]
        arms["radiomics"]["vs_arms"] = {"volume": {"auc_difference": ci(d, d - 0.25, d + 0.25),
                                                   "delong_p": 0.61}}
    t = np.linspace(0.05, 0.6, 12)
    nb = {k: _net_benefit(y, preds[k], t) for k in keys
          if ARMS[k]["signal"] is not None and "decision" not in drop_curves}
    nb["treat all"] = _net_benefit(y, np.ones(n), t)
    nb["treat none"] = [0.0] * t.size
    return {
        "scheme": scheme, "label": label,
        "description": f"Predictions of {label.lower()}.",
        "cross_validated": cross_validated, "n_patients": n, "n_rows": n,
        "n_positive": int(y.sum()), "centres": ["B"] if scheme == "external" else None,
        "arms": arms,
        "curves": {"roc": roc, "calibration": cal,
                   "decision": {"threshold": t.tolist(), "net_benefit": nb}},
    }


def binary_outcome(rng: np.random.Generator, *, name: str, label: str, positive: str,
                   negative: list[str], schemes: list[tuple[str, str, bool]],
                   n: int = 60) -> dict[str, Any]:
    """A binary outcome validated by each ``(scheme, label, cross_validated)``."""
    vals = [_binary_validation(rng, s, lab, ORDER, n, cross_validated=cv)
            for s, lab, cv in schemes]
    first = vals[0]
    return {
        "name": name, "kind": "binary", "label": label, "column": name, "positive": positive,
        "negative": negative, "n_patients": n, "n_rows": n, "n_positive": first["n_positive"],
        "n_negative": n - first["n_positive"], "prevalence": first["n_positive"] / n,
        "reference_arm": "clinical", "arm_order": list(ORDER), "arms": _arm_defs(ORDER),
        "validation": vals,
        "threshold": {"rule": "0.5", "text": "predicted probability of at least 0.5"},
    }


def _km(time: np.ndarray, event: np.ndarray) -> dict[str, Any]:
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(time, event)
    sf = kmf.survival_function_.iloc[:, 0]
    ci_df = kmf.confidence_interval_survival_function_
    at = np.array([0.0, 1.0, 2.0, 3.0])
    return {
        "time": sf.index.to_numpy(float).tolist(), "survival": sf.to_numpy(float).tolist(),
        "lower": ci_df.iloc[:, 0].to_numpy(float).tolist(),
        "upper": ci_df.iloc[:, 1].to_numpy(float).tolist(),
        "censor_times": time[event == 0].tolist(),
        "at_risk": {"times": at.tolist(), "n": [int(np.sum(time >= a)) for a in at]},
    }


def survival_outcome(rng: np.random.Generator, *, name: str = "pfs",
                     label: str = "Progression-free survival", n: int = 60) -> dict[str, Any]:
    """A survival outcome (nested CV) with KM groups, td-AUC (one refused) and Cox terms."""
    keys = ["clinical", "volume", "radiomics", "deep"]
    risk = rng.normal(size=n)
    time = np.round(rng.exponential(3.0 * np.exp(-0.6 * risk)), 3)
    event = (rng.random(n) < 0.7).astype(int)
    event[time > 6.0] = 0  # administrative censoring at six years
    time = np.minimum(time, 6.0)
    high = risk > np.median(risk)
    arms = {}
    for k in keys:
        c = {"clinical": 0.61, "volume": 0.64, "radiomics": 0.68, "deep": 0.52}[k]
        arms[k] = {
            "metrics": {"c_index": _around(c, 0.12)},
            "td_auc": [{"horizon_years": 1.0, **_around(c + 0.02, 0.15), "n_at_risk": 40,
                        "reason": None},
                       {"horizon_years": 5.0, **ci(None, None, None), "n_at_risk": 3,
                        "reason": "too few at risk (3 < 10)"}],
            "coefficients": [{"term": "age", "coef": 0.0123, "hazard_ratio": 1.0124,
                              "hr_ci_low": 0.99, "hr_ci_high": 1.04}] if k == "clinical"
            else None,
            "folds_without_feature": None, "warnings": [],
            "vs_reference": None if k == "clinical" else {
                "reference": "clinical",
                "c_index_difference": _around(c - 0.61, 0.1, -1, 1)},
        }
    horizon_cal = {k: {"horizon_years": 1.0, "predicted": [0.1, 0.3, 0.5],
                       "observed": [0.15, 0.25, 0.6], "lower": [0.05, 0.1, 0.4],
                       "upper": [0.3, 0.45, 0.8]} for k in keys if k != "deep"}
    val = {
        "scheme": "nested_cv", "label": "Nested patient-grouped CV 5x3",
        "description": "Out-of-fold risk scores.", "cross_validated": True,
        "n_patients": n, "n_events": int(event.sum()), "arms": arms,
        "curves": {
            "km": {"arm": "radiomics", "cutoff": 0.1234, "cutoff_rule": "training median",
                   "logrank_p": 0.0123, "hazard_ratio": ci(1.9, 0.95, 3.8),
                   "groups": {"low risk": _km(time[~high], event[~high]),
                              "high risk": _km(time[high], event[high])}},
            "calibration": horizon_cal,
        },
    }
    return {
        "name": name, "kind": "survival", "label": label, "time": f"{name}_time",
        "event": f"{name}_event", "time_unit": "years",
        "event_definition": "Progression or death, whichever came first.",
        "horizons_years": [1.0, 5.0], "n_patients": n, "n_events": int(event.sum()),
        "median_follow_up_years": 2.75, "arm_order": keys, "reference_arm": "clinical",
        "arms": _arm_defs(keys), "validation": [val],
    }


def _base(title: str, outcomes: list[dict[str, Any]], by: str = "response") -> dict[str, Any]:
    n = outcomes[0]["n_patients"]
    return {
        "schema": "radiomix.analysis/2", "title": title, "created": "2026-01-01 00:00 UTC",
        "seed": 7,
        "study": {"name": "synthetic study", "study_file": "study.yaml", "study_sha256": "ab12",
                  "features_file": "features/features.parquet", "features_sha256": "cd34",
                  "clinical_file": "clinical.csv", "clinical_sha256": "ef56",
                  "settings_hash": "0a1b2c", "versions": {"numpy": "2.0.1",
                                                         "scikit-learn": "1.9.1"}},
        "banners": [],
        "warnings": ["3 patients have no clinical value for age; their rows were dropped."],
        "cohort": {
            "unit": "lesion", "n_rows": n, "n_patients": n, "centres": {"A": n - 20, "B": 20},
            "flow": [{"step": "lesions in the manifest", "n": n + 3},
                     {"step": "cases processed", "n": n + 2},
                     {"step": "cases failed (excluded)", "n": 2},
                     {"step": "patients analysed", "n": n}],
            "table1": {
                "by": by, "groups": [f"{by} = 0", f"{by} = 1"],
                "rows": [
                    {"variable": "age", "level": None, "kind": "numeric",
                     "overall": "61 (48–70)", "by_group": {f"{by} = 0": "60 (47–69)",
                                                           f"{by} = 1": "63 (50–72)"},
                     "missing": 3, "test": "Mann–Whitney U", "p_value": 0.4567},
                    {"variable": "sex", "level": "female", "kind": "categorical",
                     "overall": "25 (42 %)", "by_group": {f"{by} = 0": "18 (43 %)",
                                                          f"{by} = 1": "7 (39 %)"},
                     "missing": 0, "test": "Fisher exact", "p_value": 0.7812},
                ]},
        },
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "outcome_columns": [o.get("column") or o.get("time") for o in outcomes],
                  "derived": [], "covariates": [
                      {"name": "age", "kind": "numeric", "levels": None},
                      {"name": "sex", "kind": "categorical", "levels": ["female", "male"]}],
                  "excluded": ["scanner"], "unused": ["notes"]},
        "errors": [],
        "outcomes": outcomes,
        "leakage": None,
        "artefacts": {"predictions": "predictions.csv", "model": "model.joblib"},
    }


def classification_document(*, name: str = "response", label: str = "Complete response",
                            positive: str = "CR", seed: int = 0) -> dict[str, Any]:
    """Classification only: one binary outcome, nested CV."""
    rng = np.random.default_rng(seed)
    o = binary_outcome(rng, name=name, label=label, positive=positive, negative=["PR", "SD"],
                       schemes=[("nested_cv", "Nested patient-grouped CV 5x3, 5 repeats",
                                 True)])
    return _base(f"{label}: classification", [o], by=name)


def survival_document(seed: int = 1) -> dict[str, Any]:
    """Survival only."""
    rng = np.random.default_rng(seed)
    return _base("Progression-free survival", [survival_outcome(rng)], by="pfs_event")


def combined_document(seed: int = 2) -> dict[str, Any]:
    """Binary (training / internal / external) and survival, with every optional section."""
    rng = np.random.default_rng(seed)
    b = binary_outcome(rng, name="response", label="Complete response", positive="CR",
                       negative=["PR", "SD"],
                       schemes=[("training", "Training (apparent)", False),
                                ("internal", "Internal hold-out", False),
                                ("external", "External centre B", False)])
    s = survival_outcome(rng)
    doc = _base("Response and survival", [b, s])
    doc["banners"] = [{"level": "warning", "title": "Untrained deep network",
                       "text": "The deep arm uses random weights."}]
    doc["errors"] = [{"patient_id": "P_013", "lesion_id": "1", "tag": "ct", "stage": "load",
                      "error": "InputError", "message": "ct image not found: x.nii.gz"}]
    doc["leakage"] = {
        "description": "Slice-level deep features, 300 slices.", "interpretation": "leaky",
        "model": "logistic regression", "n_rows": 300, "n_patients": 60,
        "schemes": [{"scheme": "hold-out 70 / 30",
                     "grouped": {"label": "patient-grouped", "roc_auc": ci(0.52, 0.4, 0.64),
                                 "accuracy": 0.55},
                     "naive": {"label": "naive (rows)", "roc_auc": ci(0.97, 0.95, 1.0),
                               "accuracy": 0.93},
                     "inflation": {"roc_auc": 0.45, "accuracy": 0.38}}]}
    doc["qc"] = {"description": "Mask contour at the largest slice; fixed window per modality.",
                 "items": [{"patient_id": "P_001", "lesion_id": "1", "tag": "ct",
                            "modality": "CT", "image": "qc/P_001_1_ct.png", "slice_index": 7,
                            "window": [-160, 240], "window_unit": "HU", "scale_bar_mm": 10},
                           {"patient_id": "P_002", "lesion_id": "1", "tag": "ct",
                            "modality": "CT", "image": "qc/missing.png", "slice_index": 3,
                            "window": [-160, 240], "window_unit": "HU", "scale_bar_mm": 10}]}
    b["top_features"] = {
        "arm": "radiomics", "description": "Features of the LASSO fitted on all patients.",
        "items": [{"column": "pet.original.glszm.zs_non_uniformity.3d",
                   "name": "zone size non-uniformity", "ibsi": "4JP3", "family": "GLSZM",
                   "family_code": "9SAK", "aggregation": "3D", "aggregation_code": "KOBO",
                   "coefficient": -0.4567, "univariate_auc": ci(0.86, 0.75, 0.95),
                   "volume_correlation": 0.91, "selection_frequency": 0.8},
                  {"column": "ct.original.stat.mean", "name": "mean", "ibsi": "Q4LE",
                   "family": "statistics", "family_code": "UHIW", "aggregation": "3D",
                   "aggregation_code": "DHQ4", "coefficient": 0.21,
                   "univariate_auc": ci(0.6, 0.45, 0.74), "volume_correlation": -0.1,
                   "selection_frequency": 0.4}]}
    b["arms"]["radiomics"]["stability"] = {
        "table": "stability.parquet", "threshold": 0.75,
        "by_family": [{"family": "glcm", "n_in": 50, "n_kept": 32, "n_unassessed": 0},
                      {"family": "stat", "n_in": 19, "n_kept": 17, "n_unassessed": 2}]}
    b["confounding"] = {
        "volume_column": "ct.original.morph.volume_voxels", "strong": 0.7,
        "description": "Radiomic features each arm reads, against tumour volume.",
        "arms": {"radiomics": {"n_features": 7, "n_strong_volume": 2,
                               "median_abs_volume_rho": 0.41, "max_centre_eta2": 0.12,
                               "items": [{"column": "pet.original.glszm.zs_non_uniformity.3d",
                                          "volume_rho": 0.91, "centre_eta2": 0.05},
                                         {"column": "ct.original.stat.mean",
                                          "volume_rho": -0.1, "centre_eta2": 0.12}]}}}
    b["nomogram"] = {
        "arm": "clinical", "description": "Logistic model on all patients.", "link": "logit",
        "intercept": -1.5, "risk_label": "probability of CR",
        "terms": [{"term": "age", "label": "age", "kind": "numeric", "coef": 0.03,
                   "range": [20, 85], "unit": "year", "levels": None},
                  {"term": "sex", "label": "sex", "kind": "categorical", "coef": None,
                   "range": None, "unit": None,
                   "levels": [{"level": "female", "coef": 0.0}, {"level": "male", "coef": 0.4}]},
                  {"term": "radscore", "label": "rad-score", "kind": "numeric", "coef": 1.1,
                   "range": [-2, 2], "unit": "unit", "levels": None}],
        "radscore": {"intercept": 0.1, "terms": [
            {"column": "pet.original.glszm.zs_non_uniformity.3d", "coef": -0.4567,
             "mean": 1.0, "sd": 2.0},
            {"column": "ct.original.stat.mean", "coef": 0.21, "mean": 0.0, "sd": 1.0}]}}
    return doc


def write_results(folder: Path, doc: dict[str, Any] | None = None) -> Path:
    """A results folder holding ``doc`` (default: :func:`combined_document`) and its QC
    thumbnail."""
    from radiomix.report.figures import qc_thumbnail

    doc = combined_document() if doc is None else doc
    folder.mkdir(parents=True, exist_ok=True)
    if doc.get("qc"):
        (folder / "qc").mkdir(exist_ok=True)
        img = np.random.default_rng(0).normal(40, 80, size=(8, 40, 40))
        mask = np.zeros(img.shape, bool)
        mask[3:6, 12:24, 10:26] = True
        (folder / "qc" / "P_001_1_ct.png").write_bytes(
            qc_thumbnail(img, mask, (3.0, 1.0, 1.0), window=(-160, 240), scale_bar_mm=10))
    (folder / "analysis.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
