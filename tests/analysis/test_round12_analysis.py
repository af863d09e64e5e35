"""Twelfth outside round, the analysis side: feature tables whose ids are not the study's,
arm patterns that match nothing, a feature that copies an undeclared time, impossible
clinical values, validation settings that crashed inside the libraries, and the messages
and files around them."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, check_manifest_lesions, read_any
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError, SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _spec(arms=None, validation=None, covariates=(), **roles):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": list(covariates),
                  "derived": ["outcome_text", "days_to_outcome"], **roles},
        "arms": arms or [{"name": "rad", "blocks": ["radiomic"], "model": "logistic",
                          "tune": False}],
        "validation": {**FAST, **(validation or {})},
    })


# -- a feature table that is not the study's (analyse --features) -----------------------


def _manifest(n=6):
    return pd.DataFrame({"pid": [f"STS_{i:03d}" for i in range(1, n + 1)], "lid": "1"})


def test_rows_whose_ids_are_not_in_the_manifest_are_refused_with_the_near_id():
    """Lower-cased ids took the table's own (flipped) labels past the manifest check."""
    feats = _manifest().assign(pid=lambda t: t["pid"].str.lower())
    with pytest.raises(InputError, match=r"6 row\(s\) of f\.parquet name lesions that are not "
                                         r"in the study's manifest \(e\.g\. patient 'sts_001' "
                                         r"lesion '1'; did you mean patient 'STS_001'\?\)"):
        check_manifest_lesions(feats, _manifest(), patient="pid", lesion="lid",
                               source="f.parquet")
    foreign = _manifest().assign(pid=["STS_901", *_manifest()["pid"][1:]])
    with pytest.raises(InputError, match=r"1 row\(s\).*patient 'STS_901' is not in the "
                                         r"manifest"):
        check_manifest_lesions(foreign, _manifest(), patient="pid", lesion="lid",
                               source="f.parquet")
    relabelled = _manifest().assign(lid="L1")
    with pytest.raises(InputError, match=r"the manifest has no lesion 'L1' of 'STS_001'"):
        check_manifest_lesions(relabelled, _manifest(), patient="pid", lesion="lid",
                               source="f.parquet")
    with pytest.raises(InputError, match=r"f\.parquet has no column 'pid'"):
        check_manifest_lesions(_manifest().drop(columns="pid"), _manifest(), patient="pid",
                               lesion="lid", source="f.parquet")
    # another tool's table without lesion ids is matched on its patients
    assert check_manifest_lesions(_manifest().drop(columns="lid"), _manifest(), patient="pid",
                                  lesion="lid", source="f.parquet") == []
    with pytest.raises(InputError, match=r"e\.g\. patient 'STS_901'; patient 'STS_901' is not"):
        check_manifest_lesions(foreign.drop(columns="lid"), _manifest(), patient="pid",
                               lesion="lid", source="f.parquet")


def test_manifest_lesions_missing_from_the_table_are_returned_and_said(caplog):
    feats = _manifest().iloc[:4]
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        absent = check_manifest_lesions(feats, _manifest(), patient="pid", lesion="lid",
                                        source="f.parquet")
    assert absent == ["STS_005 lesion 1", "STS_006 lesion 1"]
    assert "2 lesion(s) of the study's manifest have no row in f.parquet" in caplog.text
    # ids written as numbers in one table and text in the other are the same lesions
    same = _manifest().assign(lid=1)
    assert check_manifest_lesions(same, _manifest(), patient="pid", lesion="lid",
                                  source="f.parquet") == []


@pytest.fixture(scope="module")
def sts_run(tmp_path_factory):
    """A quick 12-patient study of the sarcoma cohort and its ``radiomix run`` table."""
    from _data import DATA_DIR, require_data

    require_data("sts", "nifti")
    from radiomix.cohort import run_study
    from radiomix.demo import write_demo_study
    from radiomix.settings.study import load_study

    root = tmp_path_factory.mktemp("r12")
    study_path = write_demo_study(root / "study", DATA_DIR, patients=12, quick=True, seed=0)
    res = run_study(load_study(study_path), root / "run", jobs=1)
    return study_path, pd.read_parquet(res.features_path), root


def test_analyse_refuses_a_table_with_rewritten_ids_and_says_what_it_lacks(sts_run):
    from radiomix.analysis.study import analyse_study

    study_path, feats, root = sts_run
    flipped = feats.assign(patient_id=feats["patient_id"].str.lower())
    flipped["lung_mets"] = 1 - pd.to_numeric(flipped["lung_mets"])
    flipped.to_parquet(root / "lower_flip.parquet")
    with pytest.raises(InputError, match=r"did you mean patient 'STS_0\d\d'\?"):
        analyse_study(study_path, root / "o1", features=root / "lower_flip.parquet",
                      report=False)
    feats.iloc[:10].to_parquet(root / "subset.parquet")
    analyse_study(study_path, root / "o2", features=root / "subset.parquet", report=False)
    doc = json.loads((root / "o2" / "analysis.json").read_text(encoding="utf-8"))
    flow = {s["step"]: s["n"] for s in doc["cohort"]["flow"]}
    assert flow["lesions in the manifest"] == 12
    assert flow["lesions without a row in subset.parquet (not analysed)"] == 2
    assert any("2 lesion(s) of the study's manifest have no row in subset.parquet" in w
               for w in doc["warnings"])


def test_analyse_joins_the_manifest_columns_a_features_table_lacks(sts_run):
    """Round 14: a table of ids and features only was refused for want of the outcome
    columns "in the feature or clinical table", which analyse has no option for; the
    manifest declares them (columns:), as radiomix run copies them into its own table. The
    bare table now gives the analysis of the full one."""
    from radiomix.analysis.study import analyse_study
    from radiomix.settings.study import load_study

    study_path, feats, root = sts_run
    carried = list(load_study(study_path).settings.columns.carried)
    assert "lung_mets" in carried
    feats.to_parquet(root / "full.parquet")
    feats.drop(columns=[c for c in carried if c in feats.columns]).to_parquet(
        root / "bare.parquet")
    docs = {}
    for name in ("full", "bare"):
        analyse_study(study_path, root / f"o_{name}", features=root / f"{name}.parquet",
                      report=False)
        docs[name] = json.loads((root / f"o_{name}" / "analysis.json").read_text("utf-8"))
    for full, bare in zip(docs["full"]["outcomes"], docs["bare"]["outcomes"], strict=True):
        assert bare["n_patients"] == full["n_patients"] == 12
        assert bare.get("n_positive") == full.get("n_positive")
        assert bare["validation"][0]["arms"].keys() == full["validation"][0]["arms"].keys()
        for key, arm in full["validation"][0]["arms"].items():
            assert bare["validation"][0]["arms"][key]["metrics"] == arm["metrics"]


# -- arms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("patterns", "bad"), [
    (["ct.original.stat.f00", "ct.original.stat.typo"], "ct.original.stat.typo"),
    (["ct.original.stat.*", "pet.*"], "pet.*"),
])
def test_an_arm_pattern_that_matches_nothing_is_refused(tmp_path, patterns, bad):
    """The arm ran silently on the columns its other patterns matched."""
    from radiomix.analysis.arms import build_arms

    feats, clin = cohort(30)
    spec = _spec(arms=[{"name": "rad", "blocks": ["radiomic"], "radiomic": patterns,
                        "model": "logistic", "tune": False}])
    table = build_table(feats, spec, clinical=clin)
    with pytest.raises(SettingsError, match=rf"arm rad: radiomic pattern '{bad}' matches no "
                                            r"radiomic column of the table \(\d+ columns\)"):
        build_arms(spec, table, spec.outcomes[0])


def test_a_feature_that_copies_an_undeclared_time_is_said(caplog):
    """A monotone copy of a follow-up column no role names (the most blatant leak) was the
    one form the warning skipped: a noisy copy was said, an exact rescaling was not."""
    feats, clin = cohort(40)
    clin["fu_days"] = np.arange(300, 300 + 40 * 37, 37).astype(str)
    feats["ct.original.stat.leakt"] = pd.to_numeric(clin["fu_days"]) * 0.5 + 1
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, _spec(), clinical=clin)
    assert "ct.original.stat.leakt follows fu_days (Spearman +1.00" in caplog.text


# -- validation settings that crashed inside the libraries --------------------------------


def test_a_seed_outside_numpys_range_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"validation\.seed must be an integer from 0 to "
                                            r"4294967295 \(--seed\), got -1"):
        _spec(validation={"seed": -1})
    with pytest.raises(SettingsError, match=r"from 0 to 4294967294"):
        _spec(validation={"seed": 2**32 - 1, "repeats": 2})  # repeat 1 would seed 2**32


@pytest.mark.parametrize(("validation", "message"), [
    ({"outer_splits": 60}, r"analysis\.validation\.outer_splits \(60\) is more than the 30 "
                           r"patients of outcome mets: choose at most 30 outer folds"),
    # the folds are stratified by the outcome (round 17): 18 patients of the larger class,
    # 12 of them in the smallest outer training fold, 9 in the hold-out training set
    ({"inner_splits": 25}, r"analysis\.validation\.inner_splits \(25\) is more than the 12 "
                           r"patients of the larger outcome class in the smallest outer "
                           r"training fold"),
    ({"schemes": ["holdout"], "test_size": 0.5, "inner_splits": 16},
     r"more than the 9 patients of the larger outcome class in the hold-out training set"),
])
def test_fold_counts_beyond_the_patients_are_refused_before_any_arm(tmp_path, validation,
                                                                   message):
    """sklearn's 'Cannot have number of splits n_splits=40 greater than the number of
    samples' reached the user as a traceback; the outer count as exit 1 in sklearn's words."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30)
    spec = _spec(arms=[{"name": "rad", "blocks": ["radiomic"], "model": "penalised_logistic",
                        "tune": True}], validation=validation)
    table = build_table(feats, spec, clinical=clin)
    with pytest.raises(SettingsError, match=message):
        run_analysis(spec, table, tmp_path, save_models=False)
    assert not (tmp_path / "analysis.json").exists()


def test_an_external_validation_whose_every_centre_is_a_test_centre_is_refused(tmp_path):
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30, centres=("B",))
    spec = _spec(centre="centre", validation={"schemes": ["external"], "test_centres": ["B"]})
    table = build_table(feats, spec, clinical=clin)
    with pytest.raises(SettingsError, match=r"every centre of the centre column \(B\) is a test "
                                            r"centre.*keep at least one centre for training"):
        run_analysis(spec, table, tmp_path, save_models=False)


def test_the_epv_warning_names_the_smaller_class():
    from radiomix.analysis.engine import _epv_warning

    [text] = _epv_warning(17, "patients", 3, classes=(19, 17))
    assert text.startswith("17 patients in the smaller outcome class (19 with the event, 17 "
                           "without) for 3 candidate variable(s)")


# -- clinical tables -----------------------------------------------------------------------


def test_an_age_outside_a_lifetime_is_refused_by_row(tmp_path):
    feats, clin = cohort(30)
    for bad in ("590", "-5"):
        clin.loc[4, "age"] = bad
        with pytest.raises(InputError, match=rf"covariate 'age', row 6 \(patient_id P004\): "
                                             rf"{bad} is not an age in years \(0 to 120"):
            build_table(feats, _spec(covariates=["age"]), clinical=clin)
    clin.loc[4, "age"] = "101"  # old, not impossible
    assert build_table(feats, _spec(covariates=["age"]), clinical=clin).n_patients == 30
    # another coding of the whole column (standardised ages) is the user's, not a typo
    years = pd.to_numeric(clin["age"])
    clin["age"] = ((years - years.mean()) / years.std()).round(3).astype(str)
    assert build_table(feats, _spec(covariates=["age"]), clinical=clin).n_patients == 30


def test_covariates_without_information_are_named_for_what_they_are():
    feats, clin = cohort(30)
    clin["allmiss"] = ""
    clin["const"] = "5"
    with pytest.raises(InputError, match=r"covariate 'allmiss' has no value in any row"):
        build_table(feats, _spec(covariates=["age", "allmiss"]), clinical=clin)
    with pytest.raises(InputError, match=r"covariate 'const' takes a single value \(5\) in "
                                         r"every row that has one"):
        build_table(feats, _spec(covariates=["age", "const"]), clinical=clin)


def test_clinical_patients_without_features_are_said(caplog):
    feats, clin = cohort(30)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats.iloc[:27], _spec(), clinical=clin)
    assert "3 patient(s) of the clinical table have no feature row and are not analysed " \
           "(patients P027, P028, P029)" in caplog.text


def test_unreadable_text_tables_say_how_to_fix_them(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("patient_id,histology\nP1,pléomorphe\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv is not UTF-8 text \(byte 0xe9 .*save it "
                                         r"again as UTF-8"):
        read_any(latin)
    titled = tmp_path / "titled.csv"
    titled.write_text("Clinical export 2020\n,\npatient_id,age,sex\nP1,50,F\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match=r"titled\.csv cannot be read as a table \(Expected 2 "
                                         r"fields in line 3, saw 3\): .*remove any title"):
        read_any(titled)


# -- files ---------------------------------------------------------------------------------


def test_the_saved_models_are_the_same_file_for_the_same_inputs(tmp_path):
    """model.joblib differed between identical runs by the search's wall-clock times."""
    import joblib

    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30)
    spec = _spec(arms=[{"name": "rad", "blocks": ["radiomic"], "model": "penalised_logistic",
                        "tune": True}])
    table = build_table(feats, spec, clinical=clin)
    for run in ("a", "b"):
        run_analysis(spec, table, tmp_path / run)
    first = (tmp_path / "a" / "model.joblib").read_bytes()
    assert first == (tmp_path / "b" / "model.joblib").read_bytes()
    search = joblib.load(tmp_path / "a" / "model.joblib")["models"]["mets"]["rad"]["model"]
    found = [m for m in [search, *getattr(search, "steps", [])]
             if hasattr(m, "refit_time_")] or [search]
    assert all(getattr(m, "refit_time_", 0.0) == 0.0 for m in found)


def test_the_report_refuses_a_document_holding_nan(tmp_path):
    from radiomix.report.html import read_analysis

    (tmp_path / "analysis.json").write_text('{"schema": "x", "v": NaN}', encoding="utf-8")
    with pytest.raises(InputError, match=r"it holds NaN, which the schema never writes"):
        read_analysis(tmp_path)


def test_a_categorical_covariate_with_a_value_per_patient_is_said(caplog):
    """A date given as a categorical covariate became 50 indicator columns for 51 patients
    with no word but the EPV's."""
    feats, clin = cohort(30)
    clin["dx_date"] = [f"2019-{1 + i % 12:02d}-{1 + i:02d}" for i in range(30)]
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, _spec(covariates=[{"name": "dx_date", "kind": "categorical"}]),
                    clinical=clin)
    assert "covariate 'dx_date' (categorical) takes 30 distinct values for 30 patients" \
        in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, _spec(covariates=[{"name": "grade", "kind": "categorical"}]),
                    clinical=clin)
    assert "distinct values for" not in caplog.text


def test_an_infinite_clinical_value_is_not_called_a_feature():
    feats, clin = cohort(30)
    clin.loc[3, "age"] = "inf"
    with pytest.raises(InputError, match=r"column 'age', row 5 \(patient_id P003\): infinite "
                                         r"value; every value must be finite"):
        build_table(feats, _spec(covariates=["age"]), clinical=clin)
