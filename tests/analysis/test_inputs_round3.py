"""Input honesty of the analysis layer, round 3: the survival leak guard, a column two tables
disagree on, a Parquet without radiomix provenance, ``--columns`` naming an outcome column,
and an event column without events."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, monotone_in_time
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError, SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}
SURVIVAL = {"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
            "event_value": "D"}
DERIVED = ["outcome", "outcome_text", "days_to_outcome"]


def _survival_spec(covariates, **roles):
    return analysis_from_dict({
        "outcomes": [SURVIVAL],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "derived": DERIVED,
                  "covariates": covariates, **roles},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })


def _leaky_clinical(n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic cohort with copies of its survival time and event as clinical columns."""
    feats, clin = cohort(n)
    days = clin["fu_days"].astype(float)
    clin = clin.assign(
        time_copy=clin["fu_days"],
        months=(days / 30.4).round(0).astype(int).astype(str),  # ties that days do not have
        time_left=(5000 - days).astype(int).astype(str),  # exactly reversed ranks
        event_copy=(clin["status"] == "D").astype(int).astype(str),
        status_copy=clin["status"],
    )
    assert clin["months"].nunique() < clin["fu_days"].nunique()
    return feats, clin


# --------------------------------------------------------------------- 1. survival leak guard


@pytest.mark.parametrize(("covariate", "why"), [
    ("time_copy", "monotone function of the time column fu_days"),
    ("months", "monotone function of the time column fu_days"),
    ("time_left", "monotone function of the time column fu_days"),
    ("event_copy", "separates the event column status by its values"),
    ({"name": "status_copy", "kind": "categorical"},
     "separates the event column status by its values"),
])
def test_a_survival_input_copied_from_its_time_or_event_is_refused(covariate, why):
    feats, clin = _leaky_clinical()
    with pytest.raises(SettingsError, match=f"survival outcome os: .*{why}.*derived from the "
                                            "outcome.*--allow"):
        build_table(feats, _survival_spec(["age", covariate]), clinical=clin)


def test_legit_covariates_of_a_survival_outcome_pass_and_allow_keeps_a_named_one():
    feats, clin = _leaky_clinical()
    table = build_table(feats, _survival_spec(
        ["age", {"name": "sex", "kind": "categorical"},
         {"name": "grade", "kind": "ordinal", "levels": ["Low", "Intermediate", "High"]}]),
        clinical=clin)
    assert table.blocks["clinical"] == ["age", "sex=Male", "grade"]
    kept = build_table(feats, _survival_spec(["age", "months", {"name": "status_copy",
                                                                "kind": "categorical"}],
                                             allow=["months", "status_copy"]), clinical=clin)
    assert "months" in kept.blocks["clinical"]
    assert "status_copy=D" in kept.blocks["clinical"]


def test_a_survival_guard_refusal_is_a_clean_cli_error_and_allow_overrides_it(tmp_path):
    feats, clin = _leaky_clinical(30)
    feats.to_csv(tmp_path / "features.csv", index=False)
    clin.to_csv(tmp_path / "clinical.csv", index=False)
    base = [sys.executable, "-m", "radiomix.cli", "model", "--features",
            str(tmp_path / "features.csv"), "--clinical", str(tmp_path / "clinical.csv"),
            "--time", "fu_days", "--event", "status", "--event-value", "D",
            "--derived", ",".join(DERIVED), "--covariates", "age,months", "--model", "coxnet",
            "--columns", "ct.original.stat.f0*", "--outer", "3", "--inner", "2",
            "--repeats", "1", "--bootstrap", "50", "--no-report", "--quiet"]
    proc = subprocess.run([*base, "--out", str(tmp_path / "a")], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "months (a monotone function of the time column fu_days" in proc.stderr
    proc = subprocess.run([*base, "--out", str(tmp_path / "b"), "--allow", "months"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_naming_a_separating_column_in_columns_does_not_vouch_for_it(tmp_path):
    """Only --allow keeps an input the guard refuses; --columns only chooses it."""
    from radiomix.analysis.adhoc import run_adhoc

    feats, clin = cohort(30)
    feats = feats.assign(lm2=(clin["outcome"] == "mets").astype(int),
                         lung_mets=(clin["outcome"] == "mets").astype(int))
    feats.to_csv(tmp_path / "features.csv", index=False)
    with pytest.raises(SettingsError, match=r"lm2 \(by its values\) separate"):
        run_adhoc(tmp_path / "o", features=tmp_path / "features.csv", target="lung_mets",
                  columns="ct.original.stat.*,lm2", report=False)
    doc = run_adhoc(tmp_path / "p", features=tmp_path / "features.csv", target="lung_mets",
                    columns="ct.original.stat.*,lm2", allow="lm2", outer=3, inner=2,
                    repeats=1, bootstrap=50, report=False)
    assert "lm2" in doc["outcomes"][0]["arms"]["model"]["columns"]


def test_monotone_in_time_handles_ties_and_rare_levels():
    rng = np.random.default_rng(3)
    t = rng.permutation(np.arange(1.0, 41.0)) * 30
    rare = (t == t.max()).astype(float)  # one patient, the longest follow-up: chance
    split = (t > np.sort(t)[-9]).astype(float)  # a dichotomy of the time: derived
    tied_t = np.where(t < 200, 100.0, t)  # several patients censored on one day
    X = pd.DataFrame({"rare": rare, "split": split, "noise": rng.normal(size=40),
                      "half_missing": np.where(np.arange(40) % 2 == 0, tied_t, np.nan),
                      "same_on_ties": tied_t / 7, "differs_on_ties": np.where(
                          tied_t == 100.0, rng.normal(size=40), tied_t)})
    assert monotone_in_time(X, tied_t) == ["split", "half_missing", "same_on_ties"]


# --------------------------------------------------------------------- 2. conflicting columns


def test_a_column_two_tables_disagree_on_is_refused_with_the_patients():
    feats, clin = cohort(30)
    feats = feats.assign(outcome=clin["outcome"].to_numpy())
    clin.loc[[2, 5, 9], "outcome"] = clin.loc[[2, 5, 9], "outcome"].map(
        {"mets": "none", "none": "mets"})
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "covariates": ["age"]},
        "arms": [{"name": "r", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST)})
    with pytest.raises(InputError, match=r"column 'outcome' is in both the feature table and "
                                         r"the clinical table.*differ for 3 patient\(s\) "
                                         r"\(e.g. P002, P005, P009\).*drop it from one"):
        build_table(feats, spec, clinical=clin)


def test_the_same_values_written_differently_agree():
    feats, clin = cohort(20)
    age = clin["age"].astype(float).to_numpy()
    age[3] = np.nan
    clin.loc[3, "age"] = "NA"
    clin.loc[4, "age"] = f"{age[4]:.1f}"  # "61.0" beside 61
    feats = feats.assign(age=age, P="x")
    clin = clin.assign(P="x")
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "covariates": ["age"]},
        "arms": [{"name": "r", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST)})
    table = build_table(feats, spec, clinical=clin)
    assert table.X["age"].isna().sum() == 1


# --------------------------------------------------------------------- 3. Parquet provenance


def test_a_parquet_resaved_by_pandas_has_no_provenance_and_says_so(tmp_path):
    from radiomix.table import read_provenance, write_table

    written = write_table([{"patient_id": "A", "x": 1.0}], tmp_path / "t.parquet",
                          provenance={"settings_hash": "abc"})
    assert read_provenance(written) == {"settings_hash": "abc"}
    pd.read_parquet(written).to_parquet(tmp_path / "pandas.parquet")
    with pytest.raises(InputError, match=r"pandas\.parquet carries no radiomix provenance"):
        read_provenance(tmp_path / "pandas.parquet")
    pd.read_parquet(written).to_csv(tmp_path / "bare.csv", index=False)
    with pytest.raises(InputError, match=r"bare\.csv carries no radiomix provenance"):
        read_provenance(tmp_path / "bare.csv")


# --------------------------------------------------------------------- 4. --columns and roles


def _run_table(tmp_path):
    feats, clin = cohort(30, signal=0.0)
    y = (clin["outcome"] == "mets").to_numpy()
    rng = np.random.default_rng(0)
    table = feats.drop(columns=[c for c in feats if ".deep." in c]).assign(
        lung_mets=y.astype(int),
        lung_mets_days=np.where(y, rng.integers(100, 700, 30), rng.integers(500, 3000, 30)))
    table.to_csv(tmp_path / "features.csv", index=False)
    return tmp_path / "features.csv"


@pytest.mark.parametrize(("flags", "pattern", "message"), [
    ({"target": "lung_mets"}, "lung_mets",
     "lung_mets is an outcome column (the binary outcome, --target) and cannot be a model "
     "input"),
    ({"time": "lung_mets_days", "event": "lung_mets"}, "lung_mets_days",
     "lung_mets_days is an outcome column (the time of the survival outcome, --time) and "
     "cannot be a model input"),
    ({"time": "lung_mets_days", "event": "lung_mets"}, "lung_mets",
     "lung_mets is an outcome column (the event of the survival outcome, --event)"),
])
def test_columns_naming_an_outcome_column_says_so(tmp_path, flags, pattern, message):
    from radiomix.analysis.adhoc import run_adhoc

    path = _run_table(tmp_path)
    with pytest.raises(SettingsError) as err:
        run_adhoc(tmp_path / "o", features=path, columns=f"ct.original.morph.*,{pattern}",
                  report=False, **flags)
    assert message in str(err.value)
    assert "did you mean" not in str(err.value)


def test_a_near_miss_pattern_never_suggests_an_outcome_derived_column(tmp_path):
    from radiomix.analysis.adhoc import run_adhoc

    path = _run_table(tmp_path)
    with pytest.raises(InputError, match="matches no column") as err:
        run_adhoc(tmp_path / "o", features=path, target="lung_mets",
                  columns="ct.original.morph.*,lung_met", report=False)
    assert "lung_mets_days" not in str(err.value)
    assert "lung_mets" not in str(err.value).replace("'lung_met'", "")


# --------------------------------------------------------------------- 5. no event at all


def test_an_event_column_without_events_says_so_not_event_value(tmp_path):
    feats, clin = cohort(30)
    clin["status"] = "0"
    with pytest.raises(InputError, match=r"column 'status' holds no event \(only \['0'\]: "
                                         r"every patient is censored\), so a survival model "
                                         r"cannot be fitted") as err:
        build_table(feats, analysis_from_dict({
            "outcomes": [{**SURVIVAL, "event_value": "1"}],
            "roles": {"group": "patient_id", "derived": DERIVED},
            "arms": [{"name": "cox", "blocks": ["radiomic"], "model": "coxnet"}],
            "validation": dict(FAST)}), clinical=clin)
    assert "event-value" not in str(err.value)
    assert not isinstance(err.value, SettingsError)  # bad data (exit 1), not a setting
    clin["status"] = np.where(clin["outcome"] == "mets", "2", "0")  # "2" may be the event
    with pytest.raises(SettingsError, match="--event-value"):
        build_table(feats, analysis_from_dict({
            "outcomes": [{**SURVIVAL, "event_value": "1"}],
            "roles": {"group": "patient_id", "derived": DERIVED},
            "arms": [{"name": "cox", "blocks": ["radiomic"], "model": "coxnet"}],
            "validation": dict(FAST)}), clinical=clin)
