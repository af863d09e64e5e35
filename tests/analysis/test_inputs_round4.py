"""Input honesty of the analysis layer, round 4: a table of another tool needs ``--columns``,
the leak guard catches inputs that track a time of the study (not only exact monotone copies,
and for binary outcomes too), 0.0/1.0 and true/false labels are 0/1 with one recorded coding,
and the refusals of a lesion-level outcome and of a patient in two centres say the fix."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, tracking_columns
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError, SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}
SURVIVAL = {"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
            "event_value": "D"}
BINARY = {"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}
LEGIT = ["age", {"name": "sex", "kind": "categorical"},
         {"name": "grade", "kind": "ordinal", "levels": ["Low", "Intermediate", "High"]}]


def _spec(outcomes, covariates, **roles):
    return analysis_from_dict({
        "outcomes": outcomes,
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"], "covariates": covariates,
                  **roles},
        "arms": [{"name": "m", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "logistic" if outcomes[0]["kind"] == "binary" else "coxnet"}],
        "validation": dict(FAST),
    })


def _time_variants(n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic cohort with variants of its follow-up time that are not exact monotone
    copies: counted from another date, with a few days of noise."""
    feats, clin = cohort(n)
    rng = np.random.default_rng(7)
    days = clin["fu_days"].astype(float).to_numpy()
    clin = clin.assign(
        from_mri=(days - rng.integers(0, 60, n)).astype(int).astype(str),
        jitter=(days + rng.normal(0, 3, n)).round(1).astype(str),
        log_plus_age=np.log(days) + clin["age"].astype(float) / 1000,
        months=(days / 30.4375).round(2),
        years=np.round(days / 365.25),
    )
    return feats, clin


# --------------------------------------------------------------------- 1. a foreign table


def _foreign(tmp_path) -> str:
    feats, clin = cohort(30)
    rng = np.random.default_rng(1)
    y = (clin["outcome"] == "mets").astype(int)
    fu = np.where(y == 1, rng.integers(60, 400, 30), rng.integers(700, 2000, 30))
    table = pd.DataFrame({"patient_id": feats["patient_id"], "lung_mets": y,
                          "fu_days": fu + rng.integers(-300, 300, 30)})
    for i in range(5):
        table[f"feat_{i}"] = feats[f"ct.original.stat.f{i:02d}"]
    path = tmp_path / "foreign.csv"
    table.to_csv(path, index=False)
    return str(path)


def test_a_table_without_radiomix_names_needs_columns_and_uses_only_those(tmp_path):
    path = _foreign(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "radiomix.cli", "model", "--features", path, "--target",
         "lung_mets", "--outer", "3", "--inner", "2", "--repeats", "1", "--bootstrap", "50",
         "--no-report", "--quiet", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1
    assert "--columns" in lines[0]
    assert "fu_days" in lines[0]  # listed among the columns to choose from
    assert not (tmp_path / "o" / "analysis.json").exists()
    from radiomix.analysis.adhoc import run_adhoc

    doc = run_adhoc(tmp_path / "p", features=path, target="lung_mets",
                    columns="feat_*", outer=3, inner=2, repeats=1, bootstrap=50, tune=False,
                    report=False)
    assert doc["outcomes"][0]["arms"]["model"]["columns"] == [f"feat_{i}" for i in range(5)]


# --------------------------------------------------------------------- 2. time trackers


@pytest.mark.parametrize("column", ["from_mri", "jitter", "log_plus_age"])
def test_a_survival_input_that_tracks_its_time_is_refused(column):
    feats, clin = _time_variants()
    assert abs(clin[column].astype(float).corr(clin["fu_days"].astype(float),
                                               method="spearman")) < 1.0
    with pytest.raises(SettingsError, match=f"survival outcome os: {column} \\(tracks the time "
                                            "column fu_days: Spearman .*--allow"):
        build_table(feats, _spec([SURVIVAL], ["age", column]), clinical=clin)


@pytest.mark.parametrize("column", ["from_mri", "jitter", "months", "years"])
def test_a_binary_input_that_tracks_a_derived_time_is_refused(column):
    feats, clin = _time_variants()
    spec = _spec([BINARY], ["age", column],
                 derived=["outcome_text", "days_to_outcome", "fu_days", "status"])
    with pytest.raises(SettingsError, match=f"{column} \\(.*fu_days.*binary ones included"):
        build_table(feats, spec, clinical=clin)


def test_a_binary_input_that_tracks_the_study_time_column_is_refused():
    feats, clin = _time_variants()
    spec = _spec([BINARY], ["age", "from_mri"])
    assert build_table(feats, spec, clinical=clin).blocks["clinical"] == ["age", "from_mri"]
    with pytest.raises(SettingsError, match=r"from_mri \(tracks fu_days: Spearman"):
        build_table(feats, spec, clinical=clin, time_columns=["fu_days"])


def test_legit_covariates_pass_the_time_guard_and_allow_keeps_a_tracker():
    feats, clin = _time_variants()
    both = [BINARY, SURVIVAL]
    derived = {"derived": ["outcome_text", "days_to_outcome"]}
    table = build_table(feats, _spec(both, LEGIT, **derived), clinical=clin,
                        time_columns=["fu_days"])
    assert table.blocks["clinical"] == ["age", "sex=Male", "grade"]
    kept = build_table(feats, _spec(both, [*LEGIT, "from_mri"], allow=["from_mri"]),
                       clinical=clin)
    assert "from_mri" in kept.blocks["clinical"]


def test_tracking_needs_more_than_chance():
    t = np.array([30.0, 400.0, 90.0, 250.0, 700.0, 120.0])
    few = pd.DataFrame({"same_order": t / 7})  # 6 rows: 2 of 720 orders are this exact
    assert tracking_columns(few, t) == {}
    rng = np.random.default_rng(0)
    t = rng.permutation(np.arange(1.0, 61.0)) * 20
    three = np.digitize(t, np.quantile(t, [1 / 3, 2 / 3]))  # at most rho 0.94
    X = pd.DataFrame({"three_levels": three.astype(float), "noise": rng.normal(size=60),
                      "near": t + rng.normal(0, 15, 60)})
    found = tracking_columns(X, t)
    assert list(found) == ["near"]
    assert 0.95 <= found["near"] < 1.0


# --------------------------------------------------------------------- 3. labels


def _binary(values, positive=None):
    feats, clin = cohort(30)
    y = (clin["outcome"] == "mets").to_numpy()
    clin = clin.assign(label=np.where(y, values[1], values[0]))
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "label", "positive": positive}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome"],
                  "covariates": ["age"]},
        "validation": dict(FAST)})
    target = build_table(feats, spec, clinical=clin).targets["y"]
    assert (target.y == y.astype(int)).all()
    return target


@pytest.mark.parametrize("values", [("0.0", "1.0"), ("0", "1.00"), ("FALSE", "TRUE")])
def test_labels_equal_to_0_and_1_need_no_positive_and_are_recorded_as_0(values):
    assert _binary(values).negative == ["0"]


def test_a_positive_class_is_recorded_with_its_negative_in_the_same_coding():
    assert _binary((False, True), positive="True").negative == ["False"]
    assert _binary(("0.0", "1.0"), positive="1").negative == ["0"]
    assert _binary(("0.0", "1.0"), positive="1.0").negative == ["0.0"]
    assert _binary(("1", "2"), positive="2.0").y.sum() > 0


def test_an_event_column_written_as_floats_matches_event_value_1():
    feats, clin = cohort(30)
    clin = clin.assign(event=np.where(clin["status"] == "D", "1.0", "0.0"))
    spec = _spec([{**SURVIVAL, "event": "event", "event_value": "1"}], ["age"],
                 derived=["outcome_text", "days_to_outcome", "status"])
    target = build_table(feats, spec, clinical=clin).targets["os"]
    assert target.event is not None
    assert target.event.sum() == int((clin["status"] == "D").sum())


# --------------------------------------------------------------------- 4. messages with fixes


def test_a_lesion_level_outcome_says_what_to_do():
    feats, clin = cohort(20)
    second = feats.assign(lesion_id="2")
    feats = pd.concat([feats, second], ignore_index=True)
    feats["outcome"] = np.where(feats["lesion_id"] == "1", "mets", "none")
    spec = _spec([BINARY], ["age"])
    with pytest.raises(InputError, match=r"patient-level outcomes.*keep one lesion per "
                                         r"patient"):
        build_table(feats, spec, clinical=clin.drop(columns=["outcome"]))


def test_a_patient_in_two_centres_is_refused_for_external_validation_with_the_fix():
    feats, clin = cohort(30, centres=("A", "B"))
    second = feats.iloc[:3].assign(lesion_id="2", centre="C")
    feats = pd.concat([feats, second], ignore_index=True)
    roles = {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
             "derived": ["outcome_text", "days_to_outcome"], "covariates": ["age"]}
    spec = analysis_from_dict({"outcomes": [BINARY], "roles": roles, "validation": {
        **FAST, "schemes": ["external"], "test_centres": ["B"]}})
    with pytest.raises(InputError, match=r"3 patient\(s\) have rows in more than one centre"
                                         r".*P000.*correct the centre.*--validation nested"):
        build_table(feats, spec, clinical=clin)
    nested = analysis_from_dict({"outcomes": [BINARY], "roles": roles,
                                 "validation": dict(FAST)})
    assert build_table(feats, nested, clinical=clin).n_patients == 30


# --------------------------------------------------------------- near copies of the outcome


def _with_near_copy(n: int = 40, flipped: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort with the outcome recorded again under another name, a few labels changed,
    and a legitimate two-valued covariate."""
    feats, clin = cohort(n)
    y = (clin["outcome"] == "mets").to_numpy()
    copy = y.copy()
    copy[:flipped] = ~copy[:flipped]
    return feats, clin.assign(relapse_flag=np.where(copy, "yes", "no"),
                              smoker=np.where(np.arange(n) % 3 == 0, "yes", "no"))


def test_a_near_copy_of_a_binary_outcome_is_refused():
    """Two labels changed in 40 (95 % agreement): not a perfect separation, still the outcome
    under another name (the tester's copy with two flipped labels used to pass)."""
    feats, clin = _with_near_copy()
    spec = _spec([BINARY], ["age", {"name": "relapse_flag", "kind": "categorical"}])
    with pytest.raises(SettingsError, match=r"relapse_flag.*agrees on 95% of the rows.*--allow"):
        build_table(feats, spec, clinical=clin)


def test_a_near_copy_of_the_event_is_refused_for_a_survival_outcome():
    feats, clin = _with_near_copy()
    clin = clin.assign(status=np.where(clin["outcome"] == "mets", "D", "A"))
    spec = _spec([SURVIVAL], ["age", {"name": "relapse_flag", "kind": "categorical"}])
    with pytest.raises(SettingsError, match=r"relapse_flag.*agrees with the event column "
                                            r"status on 95% of the rows"):
        build_table(feats, spec, clinical=clin)


def test_legit_two_valued_covariates_and_allowed_near_copies_pass():
    feats, clin = _with_near_copy()
    smoker = {"name": "smoker", "kind": "categorical"}
    table = build_table(feats, _spec([BINARY], ["age", smoker]), clinical=clin)
    assert table.blocks["clinical"] == ["age", "smoker=yes"]
    flag = {"name": "relapse_flag", "kind": "categorical"}
    kept = build_table(feats, _spec([BINARY], ["age", flag], allow=["relapse_flag"]),
                       clinical=clin)
    assert any(c.startswith("relapse_flag") for c in kept.blocks["clinical"])


def test_agreement_needs_more_than_chance():
    """On 12 rows an agreement of 11 is not rare enough (chance above 1e-4)."""
    from radiomix.analysis.data import near_copies

    y = np.array([0, 1] * 6)
    x = y.copy()
    x[0] = 1
    assert near_copies(pd.DataFrame({"x": x.astype(float)}), y) == {}
    y40 = np.array([0, 1] * 20)
    x40 = y40.copy()
    x40[:2] = 1 - x40[:2]
    assert near_copies(pd.DataFrame({"x": x40.astype(float)}), y40) == {"x": 0.95}
