"""ComBat in an arm: a batch column other than the centre (``harmonise_batch``), and a
training set with a single batch, which must say so instead of harmonising nothing.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _spec(arms, **validation):
    return analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "covariates": ["age"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": arms, "baselines": ["prevalence"],
        "validation": {**FAST, **validation},
    })


def _two_centres_with_scanners(n: int = 48):
    feats, clin = cohort(n, centres=("A", "A", "B"))
    feats["scanner"] = np.where(np.arange(n) % 2 == 0, "s1", "s2")  # in both centres
    rad = [c for c in feats.columns if c.startswith("ct.original.stat.")]
    s2 = feats["scanner"] == "s2"
    feats.loc[s2, rad] = feats.loc[s2, rad] * 3.0 + 5.0  # a planted scanner effect
    return feats, clin, rad


def test_combat_by_a_batch_column_that_varies_within_the_training_centre(tmp_path):
    feats, clin, _ = _two_centres_with_scanners()
    arms = [{"name": "plain", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic"},
            {"name": "combat", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic", "harmonise": True, "harmonise_batch": "scanner"}]
    spec = _spec(arms, schemes=["training_internal_external"], test_centres=["B"])
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path / "o", save_models=True)
    o = doc["outcomes"][0]
    # the batch column is named as what it is, not listed among the unused columns
    assert doc["roles"]["harmonise_batch"] == ["scanner"]
    assert "scanner" not in doc["roles"]["unused"]
    assert "ComBat by scanner" in o["arms"]["combat"]["description"]
    assert o["arms"]["combat"]["columns"][-1] == "__batch__.scanner"
    # the batch code is an input of the pipeline, not a predictor: counted apart
    assert o["arms"]["combat"]["batch_columns"] == ["__batch__.scanner"]
    assert o["arms"]["combat"]["n_columns"] == len(o["arms"]["combat"]["columns"]) - 1
    for v in o["validation"]:
        assert "roc_auc" in v["arms"]["combat"]["metrics"], v["scheme"]
    import joblib

    fitted = joblib.load(tmp_path / "o" / "model.joblib")["models"]["y"]["combat"]["model"]
    pipe = getattr(fitted, "best_estimator_", fitted)
    combat = pipe.named_steps["combat"]
    assert combat.batch == "__batch__.scanner"
    assert len(combat.batches_) == 2  # both scanners were in the training centre
    assert "__batch__.scanner" not in list(pipe.named_steps["fuse"].get_feature_names_out())
    preds = pd.read_csv(tmp_path / "o" / "predictions.csv")
    a = preds[preds["arm"] == "plain"].sort_values(["scheme", "row"])["proba"].to_numpy()
    b = preds[preds["arm"] == "combat"].sort_values(["scheme", "row"])["proba"].to_numpy()
    assert not np.allclose(a, b)


def test_combat_with_one_training_centre_is_reported_not_silent(tmp_path):
    # harmonise by the centre under training/internal/external: the training rows hold one
    # centre only, so ComBat can learn nothing; the arm must be reported as not estimable
    feats, clin, _ = _two_centres_with_scanners()
    arms = [{"name": "plain", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic"},
            {"name": "combat", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic", "harmonise": True}]
    spec = _spec(arms, schemes=["training_internal_external"], test_centres=["B"])
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path / "o")
    o = doc["outcomes"][0]
    text = repr({v["scheme"]: v["arms"].get("combat") for v in o["validation"]})
    # round 18: every row names the cause (one training batch), not a fitting failure
    assert "harmonise needs two or more batches in the training rows" in text
    for v in o["validation"]:
        assert "roc_auc" not in (v["arms"].get("combat") or {}).get("metrics", {}) or all(
            m.get("estimate") is None for m in v["arms"]["combat"]["metrics"].values())
        assert v["arms"]["plain"]["metrics"]["roc_auc"]["estimate"] is not None


def test_harmonise_batch_errors():
    arm = {"name": "c", "blocks": ["radiomic"], "model": "logistic"}
    with pytest.raises(SettingsError, match="harmonise_batch must name a column"):
        _spec([{**arm, "harmonise_batch": "scanner"}])  # without harmonise: true
    with pytest.raises(SettingsError, match="outcome or derived"):
        _spec([{**arm, "harmonise": True, "harmonise_batch": "outcome"}])


def test_a_missing_batch_column_is_named(tmp_path):
    feats, clin, _ = _two_centres_with_scanners()
    spec = _spec([{"name": "c", "blocks": ["radiomic"], "model": "logistic",
                   "harmonise": True, "harmonise_batch": "scaner"}])
    table = build_table(feats, spec, clinical=clin)
    with pytest.raises(SettingsError, match="'scaner' is not in the table"):
        run_analysis(spec, table, tmp_path / "o")


@pytest.mark.parametrize("schemes", [["nested_cv", "external"], ["training_internal_external"]])
def test_combat_by_centre_is_refused_under_external_only(tmp_path, schemes):
    """ComBat by centre cannot score a centre it never saw: the external row of the arm is
    not estimable (said by the centre's name), while its nested-CV, training and internal
    rows, whose folds hold two centres, are estimated (the whole arm was refused before)."""
    feats, clin = cohort(60, centres=("A", "B", "C"))
    arms = [{"name": "plain", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic"},
            {"name": "combat", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic", "harmonise": True}]
    spec = _spec(arms, schemes=schemes, test_centres=["C"])
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path / "o", save_models=False)
    entries = {v["scheme"]: v for v in doc["outcomes"][0]["validation"]}
    expected = (["nested_cv", "external"] if "nested_cv" in schemes
                else ["training", "internal", "external"])
    assert list(entries) == expected
    for name, entry in entries.items():
        combat = entry["arms"]["combat"]["metrics"]["roc_auc"]
        assert entry["arms"]["plain"]["metrics"]["roc_auc"]["estimate"] is not None
        if name == "external":
            assert combat["estimate"] is None
            assert "cannot score the external centre(s) C" in combat["reason"]
        else:
            assert combat["estimate"] is not None, name
            assert combat["ci_low"] <= combat["estimate"] <= combat["ci_high"]
    preds = pd.read_csv(tmp_path / "o" / "predictions.csv")
    assert set(preds[preds["arm"] == "combat"]["scheme"]) == set(expected) - {"external"}


def test_a_feature_constant_in_a_training_batch_is_named_as_left_unharmonised(tmp_path):
    """Round 17: a feature constant in one scanner's training rows was left out of ComBat
    (no scale to estimate) without a word, its batch difference kept, while the report said
    the arm was harmonised."""
    feats, clin, rad = _two_centres_with_scanners()
    feats.loc[feats["scanner"] == "s1", rad[0]] = 7.0
    arms = [{"name": "combat", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic", "harmonise": True, "harmonise_batch": "scanner"}]
    spec = _spec(arms)
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path / "o",
                       save_models=True)
    said = [w for w in doc["warnings"] if "ComBat leaves 1 feature(s) unharmonised" in w]
    assert len(said) == 1, doc["warnings"]
    assert rad[0] in said[0]
    quiet = run_analysis(spec, build_table(_two_centres_with_scanners()[0], spec, clinical=clin),
                         tmp_path / "q", save_models=True)
    assert not [w for w in quiet["warnings"] if "unharmonised" in w]


def test_rows_without_a_batch_value_are_said(tmp_path):
    """Round 17: blank scanner cells were harmonised together as one batch, '(missing)',
    without a word."""
    feats, clin, _ = _two_centres_with_scanners()
    feats.loc[feats.index[:8:2], "scanner"] = np.nan
    arms = [{"name": "combat", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic", "harmonise": True, "harmonise_batch": "scanner"}]
    spec = _spec(arms)
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path / "o",
                       save_models=False)
    said = [w for w in doc["warnings"] if w.startswith("batch column scanner: 4 patient(s)")]
    assert said, doc["warnings"]
    assert "'(missing)'" in said[0]


@pytest.mark.parametrize("fitted_on_test", [True, False])
def test_landmarks_fitted_on_the_external_test_centre_are_said(tmp_path, fitted_on_test):
    """Round 17: Nyúl landmarks fitted on every patient, the external test centre's
    included, went into an external validation without a word (the landmarks file records
    its training patients: ``fitted_on.patients``)."""
    from types import SimpleNamespace

    from radiomix.analysis.study import landmark_overlap_warnings
    from radiomix.process.normalise import HistogramLandmarks, StandardScale

    feats, clin, _ = _two_centres_with_scanners()
    arms = [{"name": "plain", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
             "model": "logistic"}]
    spec = _spec(arms, schemes=["external"], test_centres=["B"])
    table = build_table(feats, spec, clinical=clin)
    centre_of = dict(zip(feats["patient_id"], feats["centre"], strict=True))
    patients = sorted(p for p, c in centre_of.items() if fitted_on_test or c == "A")
    scale = StandardScale(HistogramLandmarks((1.0, 50.0, 99.0), (0.0, 50.0, 100.0),
                                             len(patients)),
                          fitted_on={"tag": "mr_t1", "patients": patients})
    path = tmp_path / "mr_t1_landmarks.json"
    path.write_text(json.dumps(scale.to_dict()))
    said = landmark_overlap_warnings(SimpleNamespace(landmarks={"mr_t1": path}), spec, table)
    if not fitted_on_test:
        assert said == []
        return
    n_test = sum(c == "B" for c in centre_of.values())
    assert len(said) == 1
    assert said[0].startswith(f"tag mr_t1: its Nyúl landmarks (mr_t1_landmarks.json) were "
                              f"fitted on {n_test} patient(s) of the external test centre(s) B")
