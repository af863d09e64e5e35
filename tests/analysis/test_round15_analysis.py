"""Fifteenth round, the analysis side: what a self-tuning model chose in each fold is on
record, and its C grid's ends are read like a declared grid's."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import analysis_from_dict

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


LOGISTIC = {"name": "rad", "blocks": ["radiomic"], "model": "logistic", "tune": False}


def _spec(arms=(LOGISTIC,), **roles):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"], **roles},
        "arms": list(arms),
        "validation": FAST,
    })


def test_the_penalty_a_self_tuning_model_chose_is_recorded_per_fold(tmp_path):
    """penalised_logistic tunes C and the L1 ratio inside fit; its ``chosen`` was
    ``[{}, {}, {}]``. Each fold's choice is now recorded, a value of the model's own
    grid."""
    from radiomix.analysis.engine import run_analysis
    from radiomix.model.classifiers import PenalisedLogisticCV

    feats, clin = cohort(30)
    spec = _spec([{"name": "pen", "blocks": ["radiomic"], "model": "penalised_logistic"}])
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    (val,) = doc["outcomes"][0]["validation"]
    chosen = val["arms"]["pen"]["chosen"]
    assert len(chosen) == 3
    grid = PenalisedLogisticCV().Cs
    for c in chosen:
        assert set(c) == {"C", "l1_ratio"}
        assert any(c["C"] == pytest.approx(g, rel=1e-12) for g in grid)
        assert c["l1_ratio"] in (0.0, 1.0)


def test_tuned_params_reads_a_grid_and_a_self_tuned_penalty():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from radiomix.evaluate.validate import tuned_params
    from radiomix.model.classifiers import PenalisedLogisticCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    own = PenalisedLogisticCV(random_state=0).fit(X, y)
    assert tuned_params(own) == {"C": own.C_, "l1_ratio": own.l1_ratio_}
    assert tuned_params(Pipeline([("model", own)])) == {"C": own.C_, "l1_ratio": own.l1_ratio_}
    grid = GridSearchCV(Pipeline([("model", LogisticRegression())]),
                        {"model__C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert tuned_params(grid) == {"model__C": grid.best_params_["model__C"]}
    assert tuned_params(LogisticRegression().fit(X, y)) == {}


def test_a_self_tuned_c_at_the_end_of_its_grid_is_said():
    """The grid-end warning read only declared grids; penalised_logistic's own C grid
    (0.01 to 10) is read the same way."""
    from radiomix.analysis.arms import BuiltArm
    from radiomix.analysis.engine import _grid_edge_warnings, _tuning_grid

    arm = BuiltArm(key="pen", label="pen", description="", kind="model",
                   outcome_kind="binary", blocks=["radiomic"], columns=["a"], selector=None,
                   model="penalised_logistic", estimator=None)
    (said,) = _grid_edge_warnings(_tuning_grid(arm), [{"C": 10.0, "l1_ratio": 1.0}] * 4)
    assert said.startswith("tuned C took the largest value of its grid (10) in 4 of 4 ")
    arm.model = "logistic"
    assert _tuning_grid(arm) == {}


def test_a_centre_that_nearly_separates_the_outcome_gets_a_banner_too():
    """At 95 % of patients in their centre's class the warning was logged, but only a
    complete separation reached the report's banners."""
    import pandas as pd

    feats, clin = cohort(40)
    positive = (clin["outcome"] == "mets").to_numpy()
    centre = np.where(positive, "A", "B")
    flip = np.flatnonzero(positive)[0]
    centre[flip] = "B"  # one of 40 patients against its centre's class: 97.5 %
    feats["centre"] = pd.Series(centre, index=feats.index)
    spec = _spec(centre="centre")
    table = build_table(feats, spec, clinical=clin)
    ((title, text),) = table.alerts
    assert title == "The centre (nearly) separates the outcome"
    assert "nearly separates (98% of patients)" in text


def _two_lesions(n_patients=30):
    import pandas as pd

    feats, clin = cohort(n_patients)
    second = feats.copy()
    second["lesion_id"] = "2"
    numeric = [c for c in second.columns if second[c].dtype.kind == "f"][:3]
    second[numeric] += 0.1
    feats = pd.concat([feats, second], ignore_index=True)
    feats["lesion_id"] = feats["patient_id"] + "-" + feats["lesion_id"].astype(str)
    return feats.merge(clin, on="patient_id")


@pytest.mark.parametrize("lesion", ["lesion_id", None])
def test_a_group_column_finer_than_the_patient_is_refused(lesion):
    """``roles.group: lesion_id`` ran: two lesions of one patient were two groups, so a split
    could put them on both sides."""
    from radiomix.errors import SettingsError

    table = _two_lesions()

    def spec(group, lesion):
        return analysis_from_dict({
            "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                          "positive": "mets"}],
            "roles": {"group": group, "lesion": lesion,
                      "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
            "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic",
                      "tune": False}],
            "validation": FAST,
        })

    said = (r"roles.group and roles.lesion both name 'lesion_id'" if lesion else
            r"the group column 'lesion_id' is finer than the patient column 'patient_id' \(60 "
            r"groups in 30 patients; patient 'P000' has 2\)")
    with pytest.raises(SettingsError, match=said):
        build_table(table, spec("lesion_id", lesion))
    built = build_table(table, spec("patient_id", "lesion_id"))
    assert len(set(built.groups)) == 30


# -- tester B, round 15 ---------------------------------------------------------------------


def test_the_volume_baseline_of_a_standardised_table_is_not_estimable():
    """A quantile-normalised table (volumes -2.3 to 2.3) crashed the whole analysis in the
    log of the volume."""
    from radiomix.analysis.arms import volume_not_estimable

    why = volume_not_estimable([-2.3, 0.4, 2.3], "ct.original.morph.volume_mesh")
    assert why.startswith("the tumour-volume column ct.original.morph.volume_mesh holds values "
                          "of 0 or below (smallest -2.3)")
    assert volume_not_estimable([0.5, 12.0, 300.0], "v") is None


def test_a_sensitivity_rule_no_cut_reaches_takes_the_nearest_cut():
    """Positives predicted below 1e-6 (3 events): ``sensitivity=0.9`` crashed."""
    from radiomix.evaluate.metrics import choose_threshold

    y = [0, 0, 0, 1, 1]
    p = [1e-11, 0.2, 0.6, 1.3e-7, 1.5e-8]
    assert choose_threshold("sensitivity=0.9", y, p) == pytest.approx(1e-6)
    assert choose_threshold("specificity=0.9", [1, 1, 0], [0.5, 0.6, 1 - 1e-9]) == \
        pytest.approx(1 - 1e-6)
    assert choose_threshold("sensitivity=0.9", [0, 0], [0.1, 0.2]) == pytest.approx(1e-6)


def test_patient_means_that_differ_by_summation_order_are_ties():
    """With ``level: patient`` equal mean predictions differed in the last bits, and the AUC
    counted their pairs as 1 or 0 instead of 0.5."""
    from sklearn.metrics import roc_auc_score

    from radiomix.evaluate.metrics import settle

    a = (0.1 + 0.2 + 0.3) / 3
    b = (0.3 + 0.2 + 0.1) / 3
    assert a != b
    y = [1, 0]
    assert roc_auc_score(y, [a, b]) != 0.5
    assert roc_auc_score(y, settle([a, b])) == 0.5
    rng = np.random.default_rng(0)
    x = rng.normal(scale=10.0 ** rng.integers(-8, 8, 200), size=200)
    assert np.allclose(settle(x), x, rtol=1e-11, atol=0)
    assert np.array_equal(np.argsort(settle(np.sort(x))), np.arange(200))
    assert settle([0.0, np.nan, np.inf]).tolist()[0] == 0.0


def test_patient_level_scores_equal_predictions_as_ties(tmp_path):
    """End to end: two lesions of each patient predicting the same two values in either
    order give every patient the same mean: the AUC is 0.5 exactly."""
    import pandas as pd

    from radiomix.evaluate.validate import _to_patient_level

    rows = []
    for i in range(6):
        for j, p in enumerate((0.1, 0.2, 0.3) if i % 2 else (0.3, 0.2, 0.1)):
            rows.append({"row": f"r{i}{j}", "patient_id": f"P{i}", "y_true": i % 2,
                         "repeat": 0, "fold": 0, "proba": p})
    agg = _to_patient_level(pd.DataFrame(rows))
    assert agg["proba"].nunique() == 1


def test_a_rare_categorical_level_is_warned_about(caplog):
    import logging

    feats, clin = cohort(30)
    clin["site"] = ["arm"] * 15 + ["leg"] * 14 + ["head"]
    spec = _spec(covariates=[{"name": "site", "kind": "categorical"}])
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, spec, clinical=clin)
    assert ("covariate 'site' (categorical): level(s) 'head' (1) held by fewer than 3 "
            "patients") in caplog.text


def test_mostly_missing_inputs_are_warned_about(caplog):
    import logging

    feats, clin = cohort(30)
    clin.loc[clin.index[:20], "age"] = np.nan
    spec = _spec(covariates=["age"])
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, spec, clinical=clin)
    assert ("input(s) missing for more than half of the 30 analysed rows, imputed inside the "
            "training folds, so mostly the imputed value: age (20 missing)") in caplog.text


def test_the_kaplan_meier_repeat_is_named_as_drawn():
    """With 2 repeats the figure drew the better split under a caption saying neither the
    best nor the worst split was shown."""
    from radiomix.analysis.engine import _drawn_repeat_words

    assert "less favourable split of the two" in _drawn_repeat_words(2)
    assert "neither the best nor the worst" not in _drawn_repeat_words(2)
    assert _drawn_repeat_words(3).startswith("the repeat whose log-rank p is the median")
    assert _drawn_repeat_words(4).startswith("the repeat with the higher of the two middle")


def test_another_tools_columns_are_named_when_no_block_column_matches():
    import pandas as pd

    from radiomix.errors import SettingsError

    feats, clin = cohort(30)
    other = feats[["patient_id", "lesion_id"]].assign(
        original_firstorder_Mean=np.arange(30.0), original_shape_Sphericity=np.ones(30) / 2)
    spec = _spec()
    from radiomix.analysis.arms import build_arms

    table = build_table(pd.DataFrame(other), spec, clinical=clin)
    with pytest.raises(SettingsError, match=r"the table's other columns \(original_firstorder_"
                                            r"Mean, original_shape_Sphericity, .*\) are not read "
                                            r"as image features"):
        build_arms(spec, table, spec.outcomes[0])


def test_a_centre_of_one_outcome_class_is_said_beside_a_mixed_one():
    """Centre B: 10 of 10 positive, centre A: 9 of 41. The pooled share in the centres'
    majority class is 82 %, under the 95 % rule: no warning, no banner."""
    import pandas as pd

    feats, clin = cohort(51)
    positive = np.zeros(51, dtype=bool)
    positive[:19] = True
    clin["outcome"] = np.where(positive, "mets", "none")
    centre = np.where(np.arange(51) < 10, "B", "A")  # B: the first 10, all positive
    feats["centre"] = pd.Series(centre, index=feats.index)
    table = build_table(feats, _spec(centre="centre"), clinical=clin)
    ((title, text),) = table.alerts
    assert title == "The centre (nearly) separates the outcome"
    assert "the patients of a centre (column 'centre') all have one outcome (B: 10 of 10 " \
           "patients positive)" in text
    few = feats.assign(centre=np.where(np.arange(51) >= 46, "C", "A"))  # 5 negatives: luck
    assert build_table(few, _spec(centre="centre"), clinical=clin).alerts == []


@pytest.mark.parametrize("rule", ["sensitivity=1.0", "sensitivity=1", "specificity=0.95"])
def test_a_sensitivity_of_one_is_a_valid_rule(rule):
    """``sensitivity=1.0`` was refused as "not a probability"."""
    spec = analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "arms": [LOGISTIC], "validation": {**FAST, "threshold": rule}})
    assert spec.validation.threshold == rule


def test_a_group_column_coarser_than_the_patient_names_itself():
    """``roles.group: family`` (two patients per family) was refused as patients with
    different outcomes, without a word on the group column."""
    from radiomix.errors import InputError

    feats, clin = cohort(30)
    table = feats.merge(clin, on="patient_id")
    table["family"] = [f"F{i // 2:02d}" for i in range(30)]
    spec = analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "family", "lesion": None,
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days",
                              "patient_id"]},
        "arms": [LOGISTIC], "validation": FAST})
    with pytest.raises(InputError, match=r"patient\(s\) \(values of the group column 'family'\) "
                                         r"have rows with different outcome values .* if the "
                                         r"group column is not the patient id"):
        build_table(table, spec)
