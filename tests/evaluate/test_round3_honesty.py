"""Round-3 honesty fixes of the evaluation layer, each a test that fails without its fix.

- bootstrap intervals (metrics, calibration, paired comparisons, survival) do not depend on
  the order of the rows;
- the tumour-volume baseline on an all-missing or constant volume column is not estimable,
  and a table without a volume column says so in the document;
- a test centre too small for DeLong's test makes the comparison not estimable, not the
  analysis; training centres holding a single class are named;
- scikit-learn warnings of an arm that radiomix reports as not estimable stay silent, the
  others become the arm's warnings;
- ComBat names the user's centre column and centres, not the internal codes.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _synthetic import cohort

from radiomix.analysis.arms import build_arms
from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError
from radiomix.evaluate.arms import paired_auc_tests
from radiomix.evaluate.bootstrap import (
    bootstrap_binary_metrics,
    patient_bootstrap_weights,
)
from radiomix.evaluate.validate import external_validation, nested_cv
from radiomix.model import build_pipeline
from radiomix.model.harmonise import ComBatHarmoniser

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}
DERIVED = ["outcome_text", "days_to_outcome", "status"]


def _spec(outcomes=None, **over):
    base = {
        "outcomes": outcomes or [{"name": "y", "kind": "binary", "column": "outcome",
                                  "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "covariates": ["age"], "derived": [*DERIVED, "fu_days"]},
        "arms": [{"name": "radiomics", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST),
    }
    base.update(over)
    return analysis_from_dict(base)


def _intervals(doc):
    """Every (path, ci_low, ci_high) of the arms' metrics and comparisons."""
    out = {}

    def walk(x, path):
        if isinstance(x, dict):
            if "ci_low" in x:
                out[path] = (x.get("ci_low"), x.get("ci_high"))
            for k, v in x.items():
                if k != "curves":
                    walk(v, f"{path}/{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}/{i}")

    walk(doc["outcomes"], "")
    return out


# --------------------------------------------------------------------------- A2 row order


def test_bootstrap_weights_follow_the_patient_not_the_row():
    g = np.array([f"P{i:02d}" for i in range(20)])
    perm = np.random.default_rng(1).permutation(g.size)
    W = patient_bootstrap_weights(g, n_bootstrap=30, random_state=4)
    Wp = patient_bootstrap_weights(g[perm], n_bootstrap=30, random_state=4)
    np.testing.assert_array_equal(Wp, W[:, perm])


def test_binary_metric_intervals_do_not_depend_on_row_order():
    rng = np.random.default_rng(0)
    n = 40
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99)
    g = np.array([f"P{i:02d}" for i in range(n)])
    perm = rng.permutation(n)
    a = bootstrap_binary_metrics(y, p, groups=g, n_bootstrap=200, random_state=0)
    b = bootstrap_binary_metrics(y[perm], p[perm], groups=g[perm], n_bootstrap=200,
                                 random_state=0)
    for col in ("ci_low", "ci_high"):
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=0, atol=1e-12)


def test_analysis_intervals_do_not_depend_on_row_order(tmp_path):
    """Binary metrics (with calibration), paired comparisons and survival C-index: the same
    intervals whatever the order of the feature table's rows."""
    feats, clin = cohort(30)
    spec = _spec(outcomes=[
        {"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"},
        {"name": "t", "kind": "survival", "time": "fu_days", "event": "outcome",
         "event_value": "mets", "time_unit": "days", "horizons_years": [1]}])
    docs = []
    for i, f in enumerate((feats, feats.sample(frac=1, random_state=3).reset_index(drop=True))):
        docs.append(run_analysis(spec, build_table(f, spec, clinical=clin), tmp_path / str(i),
                                 save_models=False))
    a, b = _intervals(docs[0]), _intervals(docs[1])
    assert a.keys() == b.keys()
    assert any("vs_reference" in k for k in a)
    assert any("c_index" in k for k in a)
    assert any("calibration_slope" in k for k in a)
    for k in a:
        for x, z in zip(a[k], b[k], strict=True):
            assert (x is None and z is None) or abs(x - z) <= 1e-12, (k, a[k], b[k])


# --------------------------------------------------------------------------- A3 volume


@pytest.mark.parametrize(("value", "words"), [(np.nan, "missing for all"),
                                           (1234.0, "single value")])
def test_volume_baseline_on_unusable_volume_is_not_estimable(tmp_path, value, words):
    feats, clin = cohort(30)
    feats["ct.original.morph.volume_mesh"] = value
    spec = _spec()
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    vol = doc["outcomes"][0]["validation"][0]["arms"]["volume"]
    auc = vol["metrics"]["roc_auc"]
    assert auc["estimate"] is None
    assert auc["ci_low"] is None
    assert words in auc["reason"]
    assert "ct.original.morph.volume_mesh" in auc["reason"]
    assert any(words in w for w in vol["warnings"])
    # no comparison against a volume arm that has no predictions
    radiomics = doc["outcomes"][0]["validation"][0]["arms"]["radiomics"]
    assert "vs_arms" not in radiomics


def test_missing_volume_column_is_said_in_the_document(tmp_path):
    feats, clin = cohort(30)
    feats = feats.drop(columns=["ct.original.morph.volume_mesh"])
    spec = _spec()
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    assert "volume" not in doc["outcomes"][0]["arms"]
    said = [w for w in doc["warnings"] if "tumour volume only baseline" in w]
    assert len(said) == 1
    assert "ct.original.morph.volume_mesh" in said[0]
    assert "ct.original.morph.volume_voxels" in said[0]


# --------------------------------------------------------------------------- B3 DeLong


def _tiny_test_centre(n=40):
    feats, clin = cohort(n)
    y = (clin["outcome"] == "mets").to_numpy()
    pos, neg = np.flatnonzero(y)[0], np.flatnonzero(~y)[0]
    centre = np.array(["A"] * n, dtype=object)
    centre[[pos, neg]] = "C"
    feats["centre"] = centre
    return feats, clin


def test_small_external_centre_makes_the_comparison_not_estimable(tmp_path):
    feats, clin = _tiny_test_centre()
    spec = _spec(validation={**FAST, "schemes": ["nested_cv", "external"],
                             "test_centres": ["C"]})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    ext = next(v for v in doc["outcomes"][0]["validation"] if v["scheme"] == "external")
    cmp = ext["arms"]["radiomics"]["vs_reference"]
    assert cmp["delong_p"] is None
    assert cmp["auc_difference"]["estimate"] is None
    reason = cmp["reason"]
    assert "C" in reason
    assert "1 positive and 1 negative" in reason
    # one patient of each class cannot carry an AUC either (round 4): null with its reason
    auc = ext["arms"]["radiomics"]["metrics"]["roc_auc"]
    assert auc["estimate"] is None
    assert "1 positive and 1 negative" in auc["reason"]
    cv = next(v for v in doc["outcomes"][0]["validation"] if v["scheme"] == "nested_cv")
    assert cv["arms"]["radiomics"]["vs_reference"]["p_value"] is not None


def test_paired_tests_with_too_few_patients_are_not_estimable():
    feats, clin = cohort(30)
    y = (clin["outcome"] == "mets").astype(int).to_numpy()
    g = clin["patient_id"].to_numpy()
    X = feats[["ct.original.stat.f00", "ct.original.stat.f01"]]
    res = {k: nested_cv(build_pipeline("logistic"), X[cols], y, groups=g, outer_splits=3,
                        inner_splits=2, n_repeats=1, n_bootstrap=20)
           for k, cols in (("a", ["ct.original.stat.f00"]), ("b", list(X.columns)))}
    ok = paired_auc_tests(res, "a", n_bootstrap=20)
    assert ok["b"]["p_value"] is not None
    # the same arms restricted to 1 positive and 1 negative patient
    keep = np.r_[np.flatnonzero(y == 1)[:1], np.flatnonzero(y == 0)[:1]]
    for r in res.values():
        r.predictions = r.predictions[r.predictions["row"].isin(keep)].reset_index(drop=True)
    out = paired_auc_tests(res, "a", n_bootstrap=20)
    assert out["b"]["p_value"] is None
    assert "1 positive and 1 negative" in out["b"]["reason"]


def test_training_centres_with_one_class_are_named():
    feats, clin = cohort(30)
    y = (clin["outcome"] == "mets").astype(int).to_numpy()
    centre = np.where(y == 1, "B", "A")
    with pytest.raises(InputError) as err:
        external_validation(build_pipeline("logistic"), feats[["ct.original.stat.f00"]], y,
                            groups=clin["patient_id"], centre=centre, test_centres=["B"],
                            n_bootstrap=20)
    msg = str(err.value)
    assert "training centre(s) A hold a single class" in msg
    assert f"{int((y == 0).sum())} patient(s) of class 0" in msg
    assert "choose another test centre" in msg
    assert "\n" not in msg


# --------------------------------------------------------------------------- B5 warnings


def test_sklearn_warnings_do_not_leak_and_are_reported(tmp_path):
    feats, clin = cohort(30)
    pos = clin.index[clin["outcome"] == "mets"]
    clin.loc[pos[2:], "outcome"] = "none"  # two positive patients
    spec = _spec(arms=[{"name": "radiomics", "blocks": ["radiomic"], "model": "stacking"}])
    table = build_table(feats, spec, clinical=clin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = run_analysis(spec, table, tmp_path, save_models=False)
    leaked = [str(w.message) for w in caught
              if "least populated class" in str(w.message)
              or "Only one class is present" in str(w.message)]
    assert leaked == []
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    assert any("too few patients of a class for the folds" in w
               for w in arms["clinical"]["warnings"])


def test_warnings_of_a_not_estimable_arm_are_dropped_others_kept():
    from radiomix.analysis.engine import _scored

    def fails():
        warnings.warn("The least populated class in y has only 1 members, which is less "
                      "than n_splits=2.", UserWarning, stacklevel=1)
        raise InputError("internal folds need at least 2 patients of every class")

    def works():
        warnings.warn("The least populated class in y has only 1 members, which is less "
                      "than n_splits=2.", UserWarning, stacklevel=1)
        warnings.warn("something radiomix does not know", FutureWarning, stacklevel=1)
        return "result"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = _scored("nested_cv", np.arange(3), fails)
        good = _scored("nested_cv", np.arange(3), works)
    assert caught == []
    assert isinstance(bad.result, InputError)
    assert bad.notes == []
    assert good.notes[0].startswith("too few patients of a class for the folds (as few as 1 "
                                    "for 2 folds")
    assert good.notes[1] == "FutureWarning: something radiomix does not know"


# --------------------------------------------------------------------------- B6 ComBat


def test_combat_names_the_users_centre_column_and_values():
    X = pd.DataFrame({"__centre__": [0.0] * 6, "ct.original.stat.mean": np.arange(6.0)})
    step = ComBatHarmoniser(batch="__centre__", batch_label="hospital",
                            batch_names={"0.0": "St Mary", "1.0": "Royal"})
    with pytest.raises(InputError, match="found only 'St Mary' in 'hospital'"):
        step.fit(X)


def test_engine_gives_combat_the_centre_names():
    feats, clin = cohort(30, centres=("A", "B"))
    spec = _spec(arms=[{"name": "rc", "blocks": ["radiomic"], "model": "logistic",
                        "harmonise": True}])
    table = build_table(feats, spec, clinical=clin)
    arm = next(a for a in build_arms(spec, table, spec.outcomes[0]) if a.key == "rc")
    one = np.asarray(table.centre) == "A"
    y = np.asarray(table.targets["y"].y)[one]
    with pytest.raises(InputError) as err:
        arm.estimator.fit(table.X.loc[one, arm.columns], y)
    assert "found only 'A' in 'centre'" in str(err.value)
    assert "__centre__" not in str(err.value)
