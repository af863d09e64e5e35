"""Nested CV, patient hold-out, external validation, arms comparison and survival CV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from _data import require_data, sts_lung_metastasis_outcome
from radiomix.errors import InputError
from radiomix.evaluate import (
    external_validation,
    holdout_validation,
    nested_cv,
    patient_holdout_split,
    permutation_test,
)
from radiomix.evaluate.arms import paired_auc_tests
from radiomix.evaluate.survival import survival_cv
from radiomix.model import build_pipeline, default_param_grid
from radiomix.model.survival import CoxPH


def _cohort(seed: int = 0, n_pat: int = 80, per: int = 2, signal: float = 1.5):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"P{i:03d}" for i in range(n_pat)], per)
    lab = rng.integers(0, 2, n_pat)
    y = lab.repeat(per)
    rad = rng.normal(size=(n_pat * per, 4))
    rad[:, 0] += signal * y
    deep = rng.normal(size=(n_pat * per, 8))
    deep[:, :2] += 0.8 * signal * y[:, None]
    X = pd.DataFrame(rad, columns=[f"ct.original.stat.f{i}" for i in range(4)])
    for j in range(8):
        X[f"ct.deep.resnet18_2p5d.f{j:03d}"] = deep[:, j]
    X["age"] = rng.normal(60, 10, n_pat).repeat(per) + 5 * y
    return X, y, groups


def test_nested_cv_planted_signal_and_result_contents():
    X, y, g = _cohort()
    res = nested_cv(
        build_pipeline("logistic"),
        X,
        y,
        groups=g,
        param_grid=default_param_grid("logistic"),
        outer_splits=4,
        inner_splits=3,
        n_repeats=2,
        n_bootstrap=200,
    )
    assert res.estimate("roc_auc") > 0.8
    assert res.ci("roc_auc")[0] > 0.5
    # the estimate is the mean over repeats of the pooled out-of-fold AUC
    per_repeat = [
        roc_auc_score(d["y_true"], d["proba"]) for _, d in res.predictions.groupby("repeat")
    ]
    assert res.estimate("roc_auc") == pytest.approx(np.mean(per_repeat), abs=1e-12)
    assert len(res.folds) == 8
    assert res.folds["best_params"].map(lambda d: "model__C" in d).all()
    assert set(res.predictions.groupby("repeat")["row"].nunique()) == {len(y)}
    doc = json.loads(json.dumps(res.to_dict()))
    assert set(doc["metrics"]) >= {"roc_auc", "pr_auc", "brier", "calibration_slope"}


def test_patient_level_scoring_averages_rows():
    X, y, g = _cohort(per=3)
    res = nested_cv(build_pipeline("logistic"), X, y, groups=g, level="patient", n_bootstrap=100)
    pred = res.predictions
    assert len(pred) == 80
    assert pred["row"].is_unique
    assert 0.0 <= res.estimate("roc_auc") <= 1.0


def test_patient_level_needs_one_label_per_patient():
    X, y, g = _cohort()
    y = y.copy()
    y[0], y[1] = 0, 1  # patient P000 now has two labels
    with pytest.raises(InputError, match="one label per patient"):
        nested_cv(build_pipeline("logistic"), X, y, groups=g, level="patient", n_bootstrap=10)


def test_holdout_is_a_seeded_patient_level_70_30_split():
    X, y, g = _cohort(n_pat=100, per=3)
    tr, te = patient_holdout_split(y, groups=g, test_size=0.3, random_state=4)
    assert np.unique(g[te]).size == 30
    assert set(g[tr]).isdisjoint(g[te])
    _tr2, te2 = patient_holdout_split(y, groups=g, test_size=0.3, random_state=4)
    assert np.array_equal(te, te2)
    res = holdout_validation(build_pipeline("knn"), X, y, groups=g, random_state=4, n_bootstrap=100)
    assert set(res.predictions["row"]) == set(te)
    assert res.settings["n_test_patients"] == 30


def test_external_validation_by_centre():
    X, y, g = _cohort(n_pat=90)
    centre = np.where(np.arange(len(y)) < 120, "A", "B")
    res = external_validation(
        build_pipeline("logistic"),
        X,
        y,
        groups=g,
        centre=centre,
        test_centres=["B"],
        n_bootstrap=100,
    )
    assert set(res.predictions["row"]) == set(np.flatnonzero(centre == "B"))
    assert "centre(s) B" in res.scheme
    mixed = centre.copy()
    mixed[1] = "B"  # P000 now in both centres
    with pytest.raises(InputError, match="more than one centre"):
        external_validation(
            build_pipeline("logistic"), X, y, groups=g, centre=mixed, test_centres=["B"]
        )
    with pytest.raises(InputError, match="must be among the centres"):
        external_validation(
            build_pipeline("logistic"), X, y, groups=g, centre=centre, test_centres=["C"]
        )


def test_multiclass_nested_cv():
    rng = np.random.default_rng(3)
    n_pat = 90
    lab = np.array(["hcc", "fnh", "haemangioma"])[rng.integers(0, 3, n_pat)]
    y = lab.repeat(2)
    X = pd.DataFrame(rng.normal(size=(2 * n_pat, 3)), columns=["a", "b", "c"])
    X["a"] += (y == "hcc") * 2.0
    X["b"] += (y == "fnh") * 2.0
    res = nested_cv(
        build_pipeline("rf", random_state=0),
        X,
        y,
        groups=np.arange(n_pat).repeat(2),
        outer_splits=3,
        n_bootstrap=30,
    )
    assert res.classes == ["fnh", "haemangioma", "hcc"]
    assert res.estimate("roc_auc_ovr_macro") > 0.75
    assert {"proba_fnh", "proba_hcc"} <= set(res.predictions.columns)


def test_paired_auc_tests_on_identical_splits():
    from radiomix.model import build_pipeline

    X, y, g = _cohort(n_pat=70)
    arms = {"clinical": build_pipeline("logistic", blocks={"clinical": ["age"]}),
            "radiomics": build_pipeline("logistic", include=("radiomic",))}
    results = {k: nested_cv(est, X, y, groups=g, n_bootstrap=100, outer_splits=4)
               for k, est in arms.items()}
    folds = {k: r.predictions.sort_values("row")["fold"].to_numpy() for k, r in results.items()}
    assert np.array_equal(folds["clinical"], folds["radiomics"])
    tests = paired_auc_tests(results, "clinical", n_bootstrap=100)
    t = tests["radiomics"]
    diff = results["radiomics"].estimate("roc_auc") - results["clinical"].estimate("roc_auc")
    assert t["auc_difference"]["estimate"] == pytest.approx(diff)
    assert t["auc_difference"]["ci_low"] <= diff <= t["auc_difference"]["ci_high"]
    assert 0 <= t["p_value"] <= 1
    # the same comparison on differently scored rows is refused
    keep = np.isin(g, np.unique(g)[:50])
    other = nested_cv(arms["clinical"], X[keep], y[keep], groups=g[keep], n_bootstrap=50,
                      outer_splits=4)
    with pytest.raises(InputError, match="scored on different rows"):
        paired_auc_tests({"clinical": results["clinical"], "x": other}, "clinical")


def test_survival_cv_on_sarcoma_outcome():
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    out = sts_lung_metastasis_outcome(clinical)
    res = survival_cv(
        CoxPH(),
        clinical[["age"]],
        out["time_years"],
        out["event"],
        groups=out["patient_id"],
        horizons=[1.0, 2.0],
        n_bootstrap=200,
    )
    m = res.metrics.set_index(["metric", "horizon"], drop=False)
    c = res.metrics[res.metrics["metric"] == "c_index"].iloc[0]
    assert 0.5 < c["estimate"] < 0.85
    assert c["ci_low"] < c["estimate"] < c["ci_high"]
    assert len(m) == 3
    with pytest.raises(InputError, match="fewer than 10"):
        survival_cv(
            CoxPH(),
            clinical[["age"]],
            out["time_years"],
            out["event"],
            groups=out["patient_id"],
            horizons=[5.0],
            n_bootstrap=10,
        )


def test_permutation_test_of_cross_validated_auc():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(60), 3)
    lab = rng.integers(0, 2, 60)
    y = lab[g]
    X = rng.normal(size=(180, 4))
    null = permutation_test(build_pipeline("logistic"), X, y, groups=g, n_permutations=39)
    assert null.p_value > 0.1
    assert null.null.size == 39
    assert abs(np.mean(null.null) - 0.5) < 0.05
    X[:, 0] += 1.5 * y
    sig = permutation_test(build_pipeline("logistic"), X, y, groups=g, n_permutations=39)
    assert sig.p_value == pytest.approx(1 / 40)
    assert sig.observed > sig.null.max()
    y_bad = y.copy()
    y_bad[0] = 1 - y_bad[1]
    with pytest.raises(InputError, match="one label per patient"):
        permutation_test(build_pipeline("logistic"), X, y_bad, groups=g, n_permutations=2)
