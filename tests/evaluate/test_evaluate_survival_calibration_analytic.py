"""Survival calibration at a horizon and Kaplan–Meier by a training cut-off.

Oracles: a simulated exponential model whose survival is known in closed form,
:math:`S(t \\mid x) = \\exp(-\\lambda e^{\\beta x} t)`; a product-limit loop written here;
lifelines' Cox fit, Kaplan–Meier and log-rank test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from radiomix.errors import InputError
from radiomix.evaluate.splits import grouped_cv_splits
from radiomix.evaluate.survival import (
    event_prob_column,
    km_by_training_cutoff,
    survival_calibration,
    survival_cv,
    training_cutoff,
)
from radiomix.model.survival import CoxPH

LAMBDA, BETA, HORIZON = 0.1, 0.8, 5.0


def _exponential(n, seed):
    """x ~ N(0, 1), hazard 0.1 exp(0.8 x), uniform censoring on (0, 30)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    event_time = rng.exponential(1.0 / (LAMBDA * np.exp(BETA * x)))
    censor = rng.uniform(0.0, 30.0, n)
    t = np.minimum(event_time, censor)
    e = (event_time <= censor).astype(int)
    true_prob = 1.0 - np.exp(-LAMBDA * np.exp(BETA * x) * HORIZON)
    return x, t, e, true_prob


def _product_limit(t, e, at):
    s = 1.0
    for u in np.unique(t[(e == 1) & (t <= at)]):
        s *= 1.0 - np.sum((t == u) & (e == 1)) / np.sum(t >= u)
    return s


def test_true_probabilities_are_calibrated_and_distorted_ones_are_not():
    _x, t, e, p = _exponential(20000, seed=0)
    cal = survival_calibration(t, e, p, HORIZON, n_groups=5)
    assert cal["group"].tolist() == [1, 2, 3, 4, 5]
    assert cal["n"].sum() == t.size
    assert (np.diff(cal["predicted"]) > 0).all()
    np.testing.assert_allclose(cal["observed"], cal["predicted"], atol=0.02)
    assert (cal["observed_ci_low"] <= cal["predicted"] + 0.01).all()
    assert (cal["predicted"] - 0.01 <= cal["observed_ci_high"]).all()
    # the observed column is the product-limit estimate of each group
    order = pd.qcut(p, 5, labels=False)
    for k in range(5):
        m = order == k
        assert cal["observed"].iloc[k] == pytest.approx(1 - _product_limit(t[m], e[m], HORIZON))
        assert cal["n_at_risk"].iloc[k] == int(np.sum(t[m] >= HORIZON))
        assert cal["n_events"].iloc[k] == int(np.sum((e[m] == 1) & (t[m] <= HORIZON)))
    # halved probabilities are visibly miscalibrated in the high-risk groups
    bad = survival_calibration(t, e, p / 2, HORIZON, n_groups=5)
    assert (bad["observed"] - bad["predicted"]).iloc[-2:].min() > 0.1


def test_calibration_refusals_and_short_follow_up_groups():
    _x, t, e, p = _exponential(300, seed=1)
    with pytest.raises(InputError, match="calibration refused: horizon 40: only 0 patient"):
        survival_calibration(t, e, p, 40.0)
    with pytest.raises(InputError, match="probabilities in \\[0, 1\\]"):
        survival_calibration(t, e, p + 1.0, HORIZON)
    # a group whose follow-up ends before the horizon has no observed value
    t2 = t.copy()
    low = p <= np.quantile(p, 1 / 3)
    t2[low] = np.minimum(t2[low], HORIZON / 2)
    cal = survival_calibration(t2, np.where(low, 0, e), p, HORIZON, n_groups=3)
    assert np.isnan(cal["observed"].iloc[0])
    assert cal["n_at_risk"].iloc[0] == 0
    assert cal["observed"].iloc[1:].notna().all()


def test_cv_event_probabilities_are_the_training_fold_breslow_predictions():
    """Per fold: lifelines' Cox fit on the fold's training rows predicts the same survival."""
    x, t, e, truth = _exponential(600, seed=2)
    X = pd.DataFrame({"x": x})
    g = np.arange(t.size)
    res = survival_cv(CoxPH(), X, t, e, groups=g, horizons=[HORIZON], n_splits=3, n_bootstrap=20)
    col = event_prob_column(HORIZON)
    pred = res.predictions.set_index("row")
    for sp in grouped_cv_splits(e, groups=g, n_splits=3, random_state=0):
        train = X.iloc[sp.train].assign(T=t[sp.train], E=e[sp.train])
        ref = CoxPHFitter().fit(train, "T", "E")
        # lifelines interpolates between event times when given times=; read its step
        # function at the last training time <= the horizon instead
        sf = ref.predict_survival_function(X.iloc[sp.test])
        surv = sf.loc[sf.index <= HORIZON].iloc[-1].to_numpy()
        np.testing.assert_allclose(pred.loc[sp.test, col], 1 - surv, rtol=1e-6, atol=1e-8)
        # the fold's cut-off: median training risk (lifelines centres at the training mean too)
        lp_train = ref.predict_log_partial_hazard(X.iloc[sp.train]).to_numpy()
        assert (pred.loc[sp.test, "risk_cutoff"] == pred.loc[sp.test[0], "risk_cutoff"]).all()
        assert pred.loc[sp.test[0], "risk_cutoff"] == pytest.approx(np.median(lp_train), abs=1e-6)
    # pooled out-of-fold probabilities are calibrated against the known truth
    assert np.corrcoef(pred[col], truth[pred.index])[0, 1] > 0.99
    cal = res.calibration(HORIZON, n_groups=3)
    np.testing.assert_allclose(cal["observed"], cal["predicted"], atol=0.08)


def test_km_by_training_cutoff_against_lifelines():
    x, t, e, _ = _exponential(400, seed=3)
    train, test = np.arange(200), np.arange(200, 400)
    cut = training_cutoff(x[train])
    assert cut == pytest.approx(np.median(x[train]))
    at = [0.0, 5.0, 10.0, 20.0]
    km = km_by_training_cutoff(t[test], x[test], e[test], cut, at_times=at)
    high = x[test] > cut
    assert km.cutoffs == [cut]
    assert km.cutoff_source.startswith("training data")
    ref = logrank_test(t[test][high], t[test][~high], e[test][high], e[test][~high])
    assert km.logrank_p == pytest.approx(ref.p_value, rel=1e-10)
    for name, m in (("high risk", high), ("low risk", ~high)):
        tg, eg = t[test][m], e[test][m]
        rows = km.at_risk[km.at_risk["group"] == name]
        assert rows["time"].tolist() == at
        assert rows["n_at_risk"].tolist() == [int(np.sum(tg >= a)) for a in at]
        assert rows["n_events"].tolist() == [int(np.sum((eg == 1) & (tg <= a))) for a in at]
        assert rows["n_censored"].tolist() == [int(np.sum((eg == 0) & (tg <= a))) for a in at]
        cens = km.censored[km.censored["group"] == name]
        np.testing.assert_array_equal(cens["time"], np.unique(tg[eg == 0]))
        fit = KaplanMeierFitter().fit(tg, eg)
        np.testing.assert_allclose(
            cens["survival"], fit.survival_function_at_times(cens["time"]).to_numpy()
        )
        curve = km.curves[name]
        assert curve["time"].iloc[0] == 0.0
        assert curve["survival"].iloc[0] == 1.0
        assert curve["survival"].iloc[-1] == pytest.approx(_product_limit(tg, eg, tg.max()))


def test_km_with_one_cutoff_per_row_and_errors():
    x, t, e, _ = _exponential(100, seed=4)
    cuts = np.where(np.arange(100) < 50, -0.5, 0.5)  # two folds, two training cut-offs
    km = km_by_training_cutoff(t, x, e, cuts)
    assert km.cutoffs == [-0.5, 0.5]
    np.testing.assert_array_equal(km.assignment == "high risk", x > cuts)
    with pytest.raises(InputError, match="all 100 rows fall above the training cut-off"):
        km_by_training_cutoff(t, x, e, x.min() - 1)
    with pytest.raises(InputError, match="one per row"):
        km_by_training_cutoff(t, x, e, [0.0, 1.0])
