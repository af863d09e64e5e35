"""Fifteenth round, the analysis side: what a self-tuning model chose in each fold is on
record, and its C grid's ends are read like a declared grid's."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import analysis_from_dict

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _spec(arms):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"]},
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
    spec = analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "derived": ["outcome_text", "days_to_outcome"]},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic", "tune": False}],
        "validation": FAST,
    })
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
