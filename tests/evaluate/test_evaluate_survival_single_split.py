"""Survival hold-out and external validation, LASSO-Cox in the CV loops, failing grid points.

Oracles: lifelines' Cox fit on the training patients by hand, lifelines' concordance index,
the unwidened patient-bootstrap percentile interval of the test patients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from lifelines.utils import concordance_index as lifelines_cindex

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import patient_bootstrap_weights, percentile_interval
from radiomix.evaluate.splits import grouped_cv_splits, patient_holdout_split
from radiomix.evaluate.survival import (
    concordance_index,
    fit_survival_tuned,
    survival_cv,
    survival_external_validation,
    survival_holdout_validation,
    time_dependent_auc,
)
from radiomix.model.survival import CoxNet, CoxPH


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    X = d[["fin", "age", "prio", "wexp", "mar"]].astype(float)
    g = np.asarray([f"P{i:03d}" for i in range(len(d))])
    centre = np.where(np.arange(len(d)) < 300, "A", "B")
    return X, d["week"].to_numpy(float), d["arrest"].to_numpy(int), g, centre


def _lifelines_risk(X, t, e, train, test):
    fit = CoxPHFitter().fit(X.iloc[train].assign(T=t[train], E=e[train]), "T", "E")
    return fit.predict_log_partial_hazard(X.iloc[test]).to_numpy()


def test_holdout_scores_test_patients_with_unwidened_intervals(rossi):
    X, t, e, g, _ = rossi
    res = survival_holdout_validation(
        CoxPH(),
        X,
        t,
        e,
        groups=g,
        test_size=0.3,
        horizons=[20.0, 40.0, 60.0],
        n_bootstrap=200,
        random_state=3,
        on_refused_horizon="record",
    )
    tr, te = patient_holdout_split(e, groups=g, test_size=0.3, random_state=3)
    pred = res.predictions
    assert pred["row"].tolist() == te.tolist()
    assert not set(g[tr]) & set(pred["patient_id"])
    risk = _lifelines_risk(X, t, e, tr, te)
    np.testing.assert_allclose(pred["risk"], risk, rtol=1e-5, atol=1e-7)
    m = res.metrics.set_index("metric")
    c = res.metrics[res.metrics["metric"] == "c_index"].iloc[0]
    assert c["estimate"] == pytest.approx(lifelines_cindex(t[te], -risk, e[te]), abs=1e-6)
    W = patient_bootstrap_weights(g[te], n_bootstrap=200, random_state=3)
    lo, hi, _ = percentile_interval(concordance_index(t[te], pred["risk"], e[te], W))
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((lo, hi))  # not widened
    td = m.loc["td_auc"].set_index("horizon")
    ref20 = time_dependent_auc(t[te], pred["risk"], e[te], [20.0])["auc"].iloc[0]
    assert td.loc[20.0, "estimate"] == pytest.approx(ref20)
    assert np.isnan(td.loc[60.0, "estimate"])
    assert "only 0 patient(s) still at risk" in td.loc[60.0, "refused"]
    assert res.model.coefficients()["term"].tolist() == list(X.columns)
    assert res.settings["n_test_patients"] == te.size
    assert "hold-out" in res.scheme
    assert "not widened" in res.settings["interval"]
    assert not res.calibration(20.0).empty
    assert set(res.km().assignment) == {"low risk", "high risk"}


def test_external_validation_scores_only_the_external_centre(rossi):
    X, t, e, g, centre = rossi
    res = survival_external_validation(
        CoxPH(),
        X,
        t,
        e,
        groups=g,
        centre=centre,
        test_centres=["B"],
        horizons=[26.0],
        n_bootstrap=50,
    )
    train, test = np.flatnonzero(centre == "A"), np.flatnonzero(centre == "B")
    assert res.predictions["row"].tolist() == test.tolist()
    np.testing.assert_allclose(
        res.predictions["risk"], _lifelines_risk(X, t, e, train, test), rtol=1e-5, atol=1e-7
    )
    assert res.settings["test_centres"] == ["B"]
    assert res.folds["n_train"].tolist() == [train.size]
    # the cut-off of the KM comes from the training centre only
    cut = np.median(_lifelines_risk(X, t, e, train, train))
    assert res.predictions["risk_cutoff"].iloc[0] == pytest.approx(cut, abs=1e-6)
    with pytest.raises(InputError, match="test centres \\['C'\\] must be among"):
        survival_external_validation(
            CoxPH(), X, t, e, groups=g, centre=centre, test_centres=["C"], n_bootstrap=10
        )
    with pytest.raises(InputError, match="fewer than 10"):
        survival_external_validation(
            CoxPH(), X, t, e, groups=g, centre=centre, test_centres=["B"], horizons=[60.0]
        )


def test_lasso_cox_runs_in_survival_cv_with_patient_groups(rossi):
    """CoxNet receives the patient ids of each outer training fold for its inner folds."""
    X, t, e, _, _ = rossi
    g2 = np.asarray([f"P{i // 2:03d}" for i in range(len(t))])  # two rows per patient
    model = CoxNet(n_alphas=10, random_state=1)
    res = survival_cv(model, X, t, e, groups=g2, n_splits=3, n_bootstrap=10, random_state=4)
    pred = res.predictions.set_index("row")
    for sp in grouped_cv_splits(e, groups=g2, n_splits=3, random_state=4):
        by_hand = CoxNet(n_alphas=10, random_state=1).fit(
            X.iloc[sp.train], np.column_stack([t[sp.train], e[sp.train]]), groups=g2[sp.train]
        )
        np.testing.assert_allclose(pred.loc[sp.test, "risk"], by_hand.predict(X.iloc[sp.test]))
        row = res.folds[res.folds["fold"] == sp.fold].iloc[0]
        assert row["n_selected"] == by_hand.n_selected_
        assert row["fallback"] == by_hand.fallback_
    c = res.metrics.loc[res.metrics["metric"] == "c_index", "estimate"].iloc[0]
    assert 0.55 < c < 0.75
    assert res.folds["n_selected"].notna().all()


def test_a_failing_grid_point_is_skipped_not_fatal(rossi, caplog):
    X, t, e, g, _ = rossi
    with caplog.at_level("WARNING", logger="radiomix.evaluate.survival"):
        search = fit_survival_tuned(
            CoxPH(), X, t, e, groups=g, param_grid={"penalizer": [-1.0, 0.1]}
        )
    # CoxPH takes the patient ids (clustered intervals): tuned as the step "model"
    assert search.best_params_ == {"model__penalizer": 0.1}
    assert search.failed_params_ == [{"model__penalizer": -1.0}]
    assert "1 of 2 grid point(s) failed" in caplog.text
    with pytest.raises(InputError, match="every point of the tuning grid failed"):
        fit_survival_tuned(CoxPH(), X, t, e, groups=g, param_grid={"penalizer": [-1.0, -2.0]})
    res = survival_cv(
        CoxPH(),
        X,
        t,
        e,
        groups=g,
        n_splits=3,
        n_bootstrap=10,
        param_grid={"penalizer": [-1.0, 0.1]},
    )
    assert res.folds["failed_candidates"].tolist() == [[{"model__penalizer": -1.0}]] * 3
    assert res.folds["n_selected"].isna().all()  # CoxPH selects nothing
    assert isinstance(res.to_dict()["folds"][0]["failed_candidates"], list)


def test_single_split_errors(rossi):
    X, t, e, g, centre = rossi
    with pytest.raises(InputError, match="X has 10 rows but time has"):
        survival_holdout_validation(CoxPH(), X.iloc[:10], t, e, groups=g)
    with pytest.raises(InputError, match="horizons must be finite times > 0"):
        survival_holdout_validation(CoxPH(), X, t, e, groups=g, horizons=[-1.0])
    no_event_train = np.where(centre == "A", 0, e)
    with pytest.raises(InputError, match="training patients hold no observed event"):
        survival_external_validation(
            CoxPH(), X, t, no_event_train, groups=g, centre=centre, test_centres=["B"]
        )
    with pytest.raises(InputError, match="on_refused_horizon must be"):
        survival_holdout_validation(
            CoxPH(), X, t, e, groups=g, n_bootstrap=5, on_refused_horizon="ignore"
        )
    frame = pd.DataFrame({"x": X["age"]})
    res = survival_holdout_validation(CoxPH(), frame, t, e, groups=g, n_bootstrap=5)
    with pytest.raises(InputError, match="no predicted probabilities at horizon 10"):
        res.calibration(10.0)
