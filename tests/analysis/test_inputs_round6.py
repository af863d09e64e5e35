"""Sixth outside round: inputs of the analysis that looked legitimate and were not."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, written
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _binary_spec(**roles):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"], **roles},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST),
    })


@pytest.mark.parametrize("name", ["ct.original.stat.leaky_mean", "ct.original.morph.fu_marker",
                                  "ct.original.stat.mean.3d_merged"])
def test_an_outcome_copy_under_a_feature_like_name_is_refused(name):
    """The leak guard used to skip every column named like a feature: a copy of the outcome
    merged into the feature table as ``ct.original.stat.leaky_mean`` reached the model
    (AUC 1.00). Only names radiomix writes (a registered feature with one of its
    aggregations) are exempt now; ``stat.mean`` has no aggregation, so the last name is
    not one radiomix writes either."""
    feats, clin = cohort(40)
    y = (clin["outcome"] == "mets").to_numpy(float)
    feats[name] = y + np.random.default_rng(1).normal(0, 0.01, len(y))
    with pytest.raises(SettingsError, match=rf"{name.replace('.', '[.]')} \(by its values\) "
                                            "separate"):
        build_table(feats, _binary_spec(), clinical=clin)


def test_written_knows_the_registry_and_the_deep_columns():
    assert written("ct.original.morph.volume_mesh")
    assert written("pet.log_s1.glcm.joint_max.3d_merged")
    assert not written("ct.original.glcm.joint_max")  # a texture feature needs its aggregation
    assert not written("ct.original.glcm.joint_max.4d_merged")
    assert written("ct.deep.resnet18_2p5d.f511")
    assert not written("ct.deep.resnet18_2p5d.f1x")
    assert not written("age")


def test_check_manifest_columns_names_the_lesions_that_differ():
    import pandas as pd

    from radiomix.analysis.data import check_manifest_columns
    from radiomix.errors import InputError

    feats = pd.DataFrame({"pid": ["1", "2", "3"], "lid": ["1", "1", "1"],
                          "mets": [1, 0, 1], "ct.original.stat.mean": [0.1, 0.2, 0.3]})
    same = pd.DataFrame({"pid": ["1", "2", "3", "4"], "lid": ["1", "1", "1", "1"],
                         "mets": ["1", "0", "1.0", "0"]})  # text, a lesion only here
    check_manifest_columns(feats, same, patient="pid", lesion="lid", source="f.parquet")
    changed = same.assign(mets=["1", "1", "1", "0"])
    with pytest.raises(InputError, match=r"column 'mets' is in both the feature table and the "
                                         r"study's manifest, .*differ for 1 lesion\(s\) \(e\.g\."
                                         r" 2 lesion 1\); f\.parquet was written from another"):
        check_manifest_columns(feats, changed, patient="pid", lesion="lid", source="f.parquet")


def test_analyse_with_features_from_an_older_manifest_is_refused(tmp_path):
    """``radiomix analyse STUDY --features OLD.parquet`` took the outcome from the feature
    table (the labels of the manifest it was written from) and silently ignored the
    study's own manifest, where reusing the run folder read the manifest: two routes, two
    outcomes. Labels changed in the manifest since the run are now refused by name."""
    import csv

    from _data import DATA_DIR, require_data

    require_data("sts", "nifti")
    from radiomix.analysis.study import analyse_study
    from radiomix.cohort import run_study
    from radiomix.demo import write_demo_study
    from radiomix.errors import InputError
    from radiomix.settings.study import load_study

    study_path = write_demo_study(tmp_path / "study", DATA_DIR, patients=12, quick=True, seed=0)
    res = run_study(load_study(study_path), tmp_path / "run", jobs=1)
    manifest = study_path.parent / "manifest.csv"
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = rows[0]["lung_mets"]
    rows[0]["lung_mets"] = "0" if first == "1" else "1"  # one label corrected since the run
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(InputError, match=r"column 'lung_mets' is in both the feature table and "
                                         r"the study's manifest.*differ for 1 lesion"):
        analyse_study(study_path, tmp_path / "out", features=res.features_path, report=False)


def _survival(event_value=None):
    outcome = {"name": "os", "kind": "survival", "time": "fu_days", "event": "code"}
    if event_value is not None:
        outcome["event_value"] = event_value
    return analysis_from_dict({
        "outcomes": [outcome],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome", "status"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })


@pytest.mark.parametrize(("codes", "event_value", "message"), [
    ({"D": "2", "other": "1"}, None, r"holds the codes 1 and 2; 1 is read as the event and 2 "
                                     r"as censored, the reverse of R's Surv coding"),
    ({"D": "1", "other": "0", "third": "2"}, None, r"holds 3 numeric codes \(0, 1, 2\); an "
                                                   r"event column needs two"),
])
def test_a_numeric_event_column_outside_one_event_and_one_censoring_code_is_refused(
        codes, event_value, message):
    """R's Surv coding (1 = censored, 2 = event) read with the default event value 1 swapped
    events and censored patients (32 events instead of 19, exit 0); a third code counted as
    censored."""
    from radiomix.errors import InputError

    feats, clin = cohort(40)
    code = np.where(clin["status"] == "D", codes["D"], codes["other"])
    if "third" in codes:
        code[np.flatnonzero(clin["status"] != "D")[0]] = codes["third"]
    with pytest.raises(InputError, match=message):
        build_table(feats, _survival(event_value), clinical=clin.assign(code=code))


@pytest.mark.parametrize(("event", "censored", "event_value"),
                         [("1", "0", None), ("2", "1", "2"), ("2", "0", "2")])
def test_event_codes_with_the_censoring_code_below_the_event_are_read(event, censored,
                                                                       event_value):
    feats, clin = cohort(40)
    dead = (clin["status"] == "D").to_numpy()
    table = build_table(feats, _survival(event_value),
                        clinical=clin.assign(code=np.where(dead, event, censored)))
    target = table.targets["os"]
    assert target.event.sum() == dead[target.keep].sum()


def test_a_concordance_with_one_patient_with_the_event_is_not_estimable():
    """An external centre with one event got a C-index of 0.83 [0.64, 1.00] while the binary
    AUC of the same patients was "not estimable": one rule for both now (at least two
    patients with the event and two to compare them with)."""
    from radiomix.evaluate.survival import _survival_metrics

    rng = np.random.default_rng(0)
    t = rng.uniform(1, 5, 13)
    e = np.zeros(13, int)
    e[3] = 1
    g = np.array([f"P{i}" for i in range(13)])
    risks = rng.normal(size=(1, 13))
    met = _survival_metrics(t, e, g, risks, horizons=[1.0], n_bootstrap=100, min_at_risk=1,
                            random_state=0, cross_validated=False, on_refused_horizon="record")
    for _, row in met.iterrows():
        assert np.isnan(row["estimate"])
        assert np.isnan(row["ci_low"])
        assert row["refused"].startswith("not estimable: the scored rows hold 1 patient(s) "
                                         "with the event and ")
    e[[5, 8, 10]] = 1
    met = _survival_metrics(t, e, g, risks, horizons=[], n_bootstrap=100, min_at_risk=1,
                            random_state=0, cross_validated=False, on_refused_horizon="record")
    assert np.isfinite(met.loc[met["metric"] == "c_index", "estimate"]).all()


def test_an_arm_that_predicts_one_value_per_fold_is_treated_as_the_prevalence_arm(tmp_path):
    """An arm whose only input is constant reproduced the prevalence arm's predictions, yet
    reported AUC 0.46 [0.29, 0.60], a calibration slope of -4.2 and a comparison with
    p = 0.050, where the prevalence arm's AUC is "not meaningful"."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40)
    feats["ct.original.stat.mean"] = 3.0
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "const", "blocks": ["radiomic"], "radiomic": ["ct.original.stat.mean"],
                  "model": "logistic"},
                 {"name": "rad", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "logistic"}],
        "validation": dict(FAST),
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    const = arms["const"]
    for name in ("roc_auc", "calibration_slope"):
        assert const["metrics"][name]["estimate"] is None
        assert const["metrics"][name]["reason"].startswith("not meaningful: this arm predicts "
                                                           "one value per training fold")
    assert const["metrics"]["brier"]["estimate"] is not None
    assert const["vs_reference"] is None
    assert any("left out of the comparisons" in w for w in const["warnings"])
    assert arms["rad"]["metrics"]["roc_auc"]["estimate"] is not None
    assert arms["rad"]["vs_reference"] is not None


@pytest.mark.parametrize("where", ["fuser", "pipeline"])
def test_a_selection_that_kept_no_passing_column_is_reported_as_a_fallback(where):
    """An FDR filter on noise keeps its smallest-p column when nothing passes; inside an
    arm (the fuser's block selection) that was logged at INFO only, so the arm read as a
    model of selected features. ``selection_record`` now reports the fallback, which the
    engine counts in ``folds_without_feature`` and flags."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from radiomix.evaluate.validate import selection_record
    from radiomix.model.classifiers import build_pipeline
    from radiomix.model.fuse import BlockFuser

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 10)),
                     columns=[f"pet.original.stat.f{i}" for i in range(10)])
    y = np.tile([0, 1], 20)
    if where == "fuser":
        model = Pipeline([("fuse", BlockFuser(reduce={"radiomic": ["fdr"]})),
                          ("model", LogisticRegression())])
    else:
        model = build_pipeline("logistic", selector=["fdr"])
    _, fallback = selection_record(model.fit(X, y))
    assert fallback is not None
    assert "0 column(s) passed FDR q <= 0.05" in fallback
    X["pet.original.stat.f0"] += 3 * y  # a column that passes: no fallback
    assert selection_record(model.fit(X, y))[1] is None


def test_table1_names_its_test_and_uses_one_fit_for_sparse_tables():
    """Table 1 said "χ² / Fisher" without saying which, and used χ² where expected counts
    were below 5 (grade: 1.9). Checked against scipy's own tests."""
    from scipy import stats

    from radiomix.analysis.engine import categorical_test

    rng = np.random.default_rng(3)
    groups = np.repeat([0, 1], 30)
    common = rng.choice(["F", "M"], 60)
    test, p = categorical_test(common, groups)
    table = np.array([[np.sum((common == lv) & (groups == g)) for g in (0, 1)] for lv in "FM"])
    assert test == "χ² (Yates)"
    assert p == pytest.approx(stats.chi2_contingency(table)[1], rel=1e-12)
    sparse = np.where(np.arange(60) < 4, "rare", "common")
    test, p = categorical_test(sparse, groups)
    table = np.array([[4, 0], [26, 30]])
    assert test == "Fisher exact"
    assert p == pytest.approx(stats.fisher_exact(table)[1], rel=1e-12)
    three = np.array(["Low"] * 5 + ["Mid"] * 15 + ["High"] * 28)
    by = np.array([0] * 5 + [0] * 10 + [1] * 5 + [0] * 15 + [1] * 13)
    test, p = categorical_test(three, by)
    assert test.startswith("χ², Monte Carlo p (10,000 permutations")
    table = np.array([[5, 0], [10, 5], [15, 13]])
    exact = stats.fisher_exact(table).pvalue  # Freeman-Halton (scipy >= 1.15)
    assert p == pytest.approx(exact, abs=0.03)  # χ² and Freeman-Halton order tables alike here


def test_cox_coefficients_are_also_given_per_sd(tmp_path):
    """A Cox term of an input in the 10^5 showed coefficient 0.000 / HR 1.00 per unit, the
    largest term per SD: the table now gives the per-SD coefficient beside the per-unit one."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40)
    feats["ct.original.stat.energy"] = 1e5 * feats["ct.original.stat.f00"] + 3e6
    spec = analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"],
                  "radiomic": ["ct.original.stat.energy", "ct.original.stat.f01"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path)
    coefs = next(a for v in doc["outcomes"][0]["validation"]
                 for k, a in v["arms"].items() if k == "cox" and a.get("coefficients"))
    for c in coefs["coefficients"]:
        if c["coef"] != 0:
            sd = float(np.std(feats[c["term"]].to_numpy()))
            assert c["coef_per_sd"] == pytest.approx(c["coef"] * sd, rel=1e-6)


def test_artefacts_list_only_the_files_written(tmp_path):
    """With one event in the cohort no arm could be scored and no predictions.csv was
    written, yet ``artefacts`` listed it."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40)
    dead = np.flatnonzero(clin["status"] == "D")
    clin.loc[dead[1:], "status"] = "NED"
    spec = analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "derived": ["outcome", "outcome_text", "days_to_outcome"]},
        "arms": [],
        "validation": dict(FAST),
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    for name in doc["artefacts"].values():
        assert (tmp_path / name).is_file(), name


def test_an_outcome_with_few_events_is_flagged_as_exploratory(tmp_path):
    """With 3 events, nominal 95 % intervals excluded chance in 22 of 72 null runs and the
    report called them "better than chance", with no outcome-level warning."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40)
    mets = np.flatnonzero(clin["outcome"] == "mets")
    clin.loc[mets[3:], "outcome"] = "none"
    spec = _binary_spec()
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    assert any(w.startswith("mets: only 3 patient(s) of its smaller class; with fewer than "
                            "10") for w in doc["warnings"])
    feats, clin = cohort(40)  # 16 of 40: no such warning
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path / "b",
                       save_models=False)
    assert not any("of its smaller class" in w for w in doc["warnings"])


def _headline_doc(external_estimate):
    def arm(est):
        reason = None if est is not None else "not estimable: the scored rows hold 0 positive"
        return {"metrics": {"roc_auc": {"estimate": est, "ci_low": None if est is None else 0.6,
                                        "ci_high": None if est is None else 0.9,
                                        **({"reason": reason} if reason else {})}}}

    return {"outcomes": [{
        "kind": "binary", "reference_arm": "clinical", "arm_order": ["clinical", "rad"],
        "arms": {"clinical": {"kind": "baseline", "blocks": ["clinical"]},
                 "rad": {"kind": "model", "blocks": ["radiomic"]}},
        "validation": [
            {"scheme": "nested_cv", "arms": {"clinical": arm(0.6), "rad": arm(0.8)}},
            {"scheme": "external", "arms": {"clinical": arm(external_estimate),
                                            "rad": arm(external_estimate)}},
        ]}]}


def test_the_headline_falls_back_to_the_next_run_when_the_external_one_cannot_be_scored():
    """A one-class test centre made the headline say that no arm had a validated estimate,
    although nested CV of the same run had them."""
    from radiomix.report.words import headlines

    (h,) = headlines(_headline_doc(None))
    assert h["validation"] == 0
    assert h["best"] == "rad"
    assert h["skipped"]["validation"] == 1
    assert [r["arm"] for r in h["skipped"]["not_estimable"]] == ["clinical", "rad"]
    (h,) = headlines(_headline_doc(0.7))  # the external run scored: it is the headline
    assert h["validation"] == 1
    assert "skipped" not in h


def test_fold_fallbacks_are_named_not_called_an_intercept():
    """A rad-score that fell back to its strongest feature in every fold was reported as
    "the arm predicted from its intercept there"."""
    import pandas as pd

    from radiomix.analysis.engine import _fallbacks

    class Res:
        folds = pd.DataFrame({"fallback": ["strongest feature (ct.original.morph.volume_mesh)"]
                              * 3 + [None]})

    assert _fallbacks(Res()) == ["strongest feature (ct.original.morph.volume_mesh)"]


def test_a_misspelt_outcome_column_gets_a_suggestion_not_a_list_of_features():
    """A typo in an outcome column listed the first feature columns of 170 and no fix."""
    from radiomix.errors import InputError

    feats, clin = cohort(20)
    spec = analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcme", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id"},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST),
    })
    with pytest.raises(InputError, match=r"columns \['outcme'\], named as outcome or covariate "
                                         r"columns .*'outcme': did you mean 'outcome'\?") as e:
        build_table(feats, spec, clinical=clin)
    assert "ct.original" not in str(e.value)


def test_input_warnings_reach_the_analysis_document(tmp_path):
    """A lesion listed twice in the manifest was said on the console only: the analysis
    document and the report did not mention it, though the copy is scored twice."""
    import csv
    import json

    from _data import DATA_DIR, require_data

    require_data("sts", "nifti")
    from radiomix.analysis.study import analyse_study
    from radiomix.demo import write_demo_study

    study_path = write_demo_study(tmp_path / "study", DATA_DIR, patients=12, quick=True, seed=0)
    manifest = study_path.parent / "manifest.csv"
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows.append({**rows[0], "lesion_id": "2"})
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    doc = json.loads(analyse_study(study_path, tmp_path / "out", report=False).read_text())
    said = [w for w in doc["warnings"] if "lesion '2' of" in w and "its lesion '1'" in w]
    assert said, doc["warnings"][:5]


def test_a_level_only_the_external_centre_has_is_named(tmp_path):
    """A grade level seen only in the test centre was silently scored as the reference
    level (its indicator is 0 in every training row, so no model learned it)."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40, centres=("A", "B"))
    in_b = (feats["centre"] == "B").to_numpy()
    clin["grade"] = np.where(in_b & (np.arange(40) % 4 == 1), "High",
                             np.where(np.arange(40) // 2 % 2 == 0, "Low", "Intermediate"))
    only_b = int((clin["grade"] == "High").sum())
    assert only_b
    assert not (clin["grade"][~in_b] == "High").any()
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "covariates": ["age", {"name": "grade", "kind": "categorical"},
                                 {"name": "sex", "kind": "categorical"}],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": {**FAST, "schemes": ["external"], "test_centres": ["B"]},
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    said = [w for w in doc["warnings"] if w.startswith("covariate grade")]
    assert said == [f"covariate grade: level(s) 'High' occur only in the external test "
                    f"centre(s) B ({only_b} patient(s)); no model of the external validation "
                    "was trained on them, so these patients are scored as the reference level"]
    assert not [w for w in doc["warnings"] if w.startswith("covariate sex")]


def test_survival_arms_are_compared_with_the_reference_and_with_volume(tmp_path):
    """Survival arms carried a C-index each but were never compared (the report said "not
    compared" beside every arm). The paired difference is recomputed here from the saved
    risks with lifelines' concordance index, repeat by repeat."""
    import pandas as pd
    from lifelines.utils import concordance_index as lifelines_c

    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(48, seed=3)
    rng = np.random.default_rng(5)
    hazard = np.exp(0.9 * feats["ct.original.stat.f00"].to_numpy())
    clin["fu_days"] = np.ceil(rng.exponential(900 / hazard)).astype(int).astype(str)
    clin["code"] = (rng.uniform(size=48) < 0.7).astype(int).astype(str)
    spec = analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "code"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "derived": ["outcome", "outcome_text", "days_to_outcome", "status"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    (val,) = doc["outcomes"][0]["validation"]
    ref = doc["outcomes"][0]["reference_arm"]
    assert ref == "clinical"
    assert "vs_reference" not in val["arms"][ref]
    pred = pd.read_csv(tmp_path / "predictions.csv")

    def c_index(arm):
        p = pred[pred["arm"] == arm]
        return np.mean([lifelines_c(r["time"], -r["risk"], r["event"])
                        for _, r in p.groupby("repeat")])

    for arm in ("cox", "volume"):
        test = val["arms"][arm]["vs_reference"]
        d = test["c_index_difference"]
        assert test["reference"] == "clinical"
        assert d["estimate"] == pytest.approx(c_index(arm) - c_index("clinical"), abs=1e-9)
        assert d["ci_low"] <= d["estimate"] <= d["ci_high"]
        assert (test["p_value"] < 0.05) == (d["ci_low"] > 0 or d["ci_high"] < 0)
        assert "C-index difference" in test["p_method"]
    size = val["arms"]["cox"]["vs_arms"]["volume"]["c_index_difference"]
    assert size["estimate"] == pytest.approx(c_index("cox") - c_index("volume"), abs=1e-9)


def test_deep_columns_radiomix_writes_are_not_taken_for_leaks_but_lookalikes_are():
    """On 12 patients, some of 512 embedding columns separate the outcome by chance: the
    study was refused for its own ResNet features (an eighth-round finding). The deep
    columns radiomix writes are exempt, as its radiomic columns are; a column named like
    one but not as radiomix names them is still checked."""
    feats, clin = cohort(12)
    y = (clin["outcome"] == "mets").to_numpy(float)
    feats["ct.deep.resnet18_2p5d.f007"] = y * 3.0 + np.arange(12) * 0.01  # separates
    table = build_table(feats, _binary_spec(), clinical=clin)
    assert "ct.deep.resnet18_2p5d.f007" in table.blocks["deep"]
    forged = feats.rename(columns={"ct.deep.resnet18_2p5d.f007": "ct.deep.resnet18_2p5d.score"})
    with pytest.raises(SettingsError, match=r"ct[.]deep[.]resnet18_2p5d[.]score \(by its "
                                            r"values\) separate"):
        build_table(forged, _binary_spec(), clinical=clin)
