"""Metric values against independent computations (scikit-learn, lifelines, scipy, loops)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import logrank_test
from lifelines.utils import concordance_index as lifelines_cindex
from scipy import optimize, stats
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from radiomix.errors import InputError
from radiomix.evaluate.metrics import (
    binary_metrics,
    decision_curve,
    delong_test,
    multiclass_metrics,
    weighted_binary_metrics,
)
from radiomix.evaluate.survival import concordance_index, km_by_risk_group, time_dependent_auc
from radiomix.model.survival import CoxPH, survival_target


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    # rounded scores create ties, which the metrics must handle like sklearn
    p = np.clip(np.round(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, 400), 2), 0.0, 1.0)
    return y, p


def test_threshold_and_ranking_metrics_equal_sklearn(scored):
    y, p = scored
    m = binary_metrics(y, p, threshold=0.5)
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - pred), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)


def test_bootstrap_weights_equal_repeated_rows(scored):
    """Integer weights must equal duplicating rows (what a patient bootstrap replicate is)."""
    y, p = scored
    rng = np.random.default_rng(3)
    W = rng.integers(0, 4, size=(3, y.size)).astype(float)
    got = weighted_binary_metrics(y, p, W)
    for b in range(3):
        idx = np.repeat(np.arange(y.size), W[b].astype(int))
        yb, pb = y[idx], p[idx]
        assert got["roc_auc"][b] == pytest.approx(skm.roc_auc_score(yb, pb), abs=1e-12)
        assert got["pr_auc"][b] == pytest.approx(skm.average_precision_score(yb, pb), abs=1e-12)
        assert got["brier"][b] == pytest.approx(skm.brier_score_loss(yb, pb), abs=1e-12)
        assert got["accuracy"][b] == pytest.approx(skm.accuracy_score(yb, pb >= 0.5), abs=1e-12)


def _logit(p):
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def test_calibration_slope_and_intercept_equal_independent_fits(scored):
    y, p = scored
    m = binary_metrics(y, p)
    x = _logit(p)
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(x[:, None], y)
    assert m["calibration_slope"] == pytest.approx(lr.coef_[0, 0], abs=1e-5)

    def nll(a):  # calibration-in-the-large: slope fixed at 1 (offset)
        eta = a[0] + x
        return -np.sum(y * eta - np.logaddexp(0, eta))

    a = optimize.minimize(nll, [0.0], method="BFGS", options={"gtol": 1e-10}).x[0]
    assert m["calibration_intercept"] == pytest.approx(a, abs=1e-5)


def test_perfect_calibration_of_true_probabilities():
    rng = np.random.default_rng(11)
    p = rng.uniform(0.05, 0.95, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    m = binary_metrics(y, p)
    assert m["calibration_slope"] == pytest.approx(1.0, abs=0.06)
    assert m["calibration_intercept"] == pytest.approx(0.0, abs=0.05)


def test_calibration_slope_undefined_when_separated():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert np.isnan(m["calibration_slope"])
    assert m["roc_auc"] == 1.0


def _delong_by_loops(y, a, b):
    """DeLong's variance from explicit placement values (O(m n) loops)."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)

    def psi(x, z):
        return 1.0 if x > z else 0.5 if x == z else 0.0

    v10 = np.array([[np.mean([psi(s[i], s[j]) for j in neg]) for i in pos] for s in (a, b)])
    v01 = np.array([[np.mean([psi(s[i], s[j]) for i in pos]) for j in neg] for s in (a, b)])
    auc = v10.mean(axis=1)
    S = np.cov(v10) / pos.size + np.cov(v01) / neg.size
    se = np.sqrt(S[0, 0] + S[1, 1] - 2 * S[0, 1])
    z = (auc[0] - auc[1]) / se
    return auc, z, 2 * stats.norm.sf(abs(z))


def test_delong_equals_placement_value_loops():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 80)
    a = np.round(y + rng.normal(0, 1.0, 80), 1)
    b = np.round(y + rng.normal(0, 1.5, 80), 1)
    res = delong_test(y, a, b)
    auc, z, pval = _delong_by_loops(y, a, b)
    assert res.auc_a == pytest.approx(auc[0], abs=1e-12)
    assert res.auc_b == pytest.approx(auc[1], abs=1e-12)
    assert res.auc_a == pytest.approx(skm.roc_auc_score(y, a), abs=1e-12)
    assert res.z == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(pval, rel=1e-9)


def test_delong_identical_scores_give_p_one():
    y = np.array([0, 1, 0, 1, 1, 0])
    s = np.array([0.1, 0.7, 0.3, 0.9, 0.4, 0.5])
    assert delong_test(y, s, s).p_value == 1.0


def test_decision_curve_by_hand():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.6, 0.55, 0.2, 0.35, 0.1, 0.4, 0.05, 0.7, 0.25])
    dc = decision_curve(y, p, thresholds=[0.3, 0.5])
    # t = 0.3: positives p >= 0.3 -> rows 0,1,2,4,6,8: TP = 3 (0,1,4), FP = 3 (2,6,8)
    assert dc["net_benefit"][0] == pytest.approx(3 / 10 - 3 / 10 * 0.3 / 0.7)
    # t = 0.5: rows 0,1,2,8: TP = 2, FP = 2
    assert dc["net_benefit"][1] == pytest.approx(2 / 10 - 2 / 10 * 1.0)
    assert dc["treat_all"][0] == pytest.approx(0.4 - 0.6 * 0.3 / 0.7)
    assert (dc["treat_none"] == 0).all()


def test_multiclass_metrics_equal_sklearn():
    rng = np.random.default_rng(2)
    y = rng.choice(["hcc", "fnh", "haem"], 150)
    classes = np.array(["fnh", "haem", "hcc"])
    logits = rng.normal(size=(150, 3)) + 1.5 * (y[:, None] == classes[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = multiclass_metrics(y, proba, classes)
    pred = classes[proba.argmax(1)]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["roc_auc_ovr_macro"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    )


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    X = d.drop(columns=["week", "arrest"])
    return X, d["week"].to_numpy(float), d["arrest"].to_numpy(int)


def test_c_index_equals_lifelines_on_rossi(rossi):
    X, t, e = rossi
    risk = CoxPH().fit(X, survival_target(t, e)).predict(X)
    # lifelines expects scores that rank *survival* (higher = later), hence -risk
    assert concordance_index(t, risk, e) == pytest.approx(lifelines_cindex(t, -risk, e), abs=1e-12)
    # with rounded risks (many ties) too
    r2 = np.round(risk, 1)
    assert concordance_index(t, r2, e) == pytest.approx(lifelines_cindex(t, -r2, e), abs=1e-12)


def test_c_index_weights_equal_repeated_rows(rossi):
    X, t, e = rossi
    risk = X["prio"].to_numpy(float)
    w = np.random.default_rng(0).integers(0, 3, t.size)
    idx = np.repeat(np.arange(t.size), w)
    got = concordance_index(t, risk, e, W=w[None, :].astype(float))[0]
    assert got == pytest.approx(lifelines_cindex(t[idx], -risk[idx], e[idx]), abs=1e-12)


def test_time_dependent_auc_without_censoring_equals_roc_auc():
    rng = np.random.default_rng(4)
    t = rng.exponential(2.0, 300)
    risk = -np.log(t) + rng.normal(0, 1, 300)
    e = np.ones(300, dtype=int)
    res = time_dependent_auc(t, risk, e, [1.0, 2.0])
    for h, auc in zip(res["horizon"], res["auc"], strict=True):
        keep = (t <= h) | (t > h)
        assert auc == pytest.approx(skm.roc_auc_score((t <= h)[keep], risk[keep]), abs=1e-12)


def test_time_dependent_auc_with_censoring_equals_ipcw_loops(rossi):
    X, t, e = rossi
    risk = X["prio"].to_numpy(float) - 0.05 * X["age"].to_numpy(float)
    h = 30.0
    got = time_dependent_auc(t, risk, e, [h])["auc"].iloc[0]
    # independent IPCW: censoring KM from lifelines, G(T_i-) = value just before T_i
    km = KaplanMeierFitter().fit(t, 1 - e)
    num = den_case = 0.0
    controls = np.flatnonzero(t > h)
    for i in np.flatnonzero((t <= h) & (e == 1)):
        g = float(km.survival_function_at_times(t[i] - 1e-9).iloc[0])
        w = 1.0 / g
        den_case += w
        num += w * np.sum((risk[i] > risk[controls]) + 0.5 * (risk[i] == risk[controls]))
    assert got == pytest.approx(num / (den_case * controls.size), abs=1e-10)


def test_horizon_with_few_at_risk_is_refused():
    t = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], float)
    e = np.ones(12, dtype=int)
    with pytest.raises(InputError, match="only 3 patient"):
        time_dependent_auc(t, -t, e, [10.0])


def test_km_logrank_equals_lifelines(rossi):
    X, t, e = rossi
    risk = X["prio"].to_numpy(float)
    res = km_by_risk_group(t, risk, e, cutoffs=[2.5])
    high = risk > 2.5
    ref = logrank_test(t[high], t[~high], e[high], e[~high])
    assert res.logrank_p == pytest.approx(ref.p_value, rel=1e-10)
    assert set(res.groups["group"]) == {"low risk", "high risk"}
    assert res.groups["n"].sum() == t.size
    fig = res.plot(time_label="weeks")
    assert len(fig.axes[0].lines) == 2


def test_metric_input_errors():
    with pytest.raises(InputError, match="within"):
        binary_metrics([0, 1], [0.2, 1.3])
    with pytest.raises(InputError, match=r"y in \{0, 1\}"):
        binary_metrics([0, 2], [0.2, 0.3])
    with pytest.raises(InputError, match="2 values but the predictions 3"):
        binary_metrics([0, 1], [0.2, 0.3, 0.4])
    with pytest.raises(InputError, match="needs >= 2 positives"):
        delong_test([0, 1, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(InputError, match="thresholds"):
        decision_curve([0, 1], [0.1, 0.9], thresholds=[0.0, 0.5])
    frame = pd.DataFrame({"t": [1.0, 2.0], "r": [0.1, np.inf]})
    with pytest.raises(InputError, match="finite"):
        concordance_index(frame["t"], frame["r"], [1, 1])


def test_calibration_of_probabilities_near_0_and_1_uses_their_exact_logit():
    """Round 17: a nomogram predicting down to 1.7e-10 had its slope set by a clip at 1e-6
    (0.170 against 0.159 with the exact logit). The slope is now the maximum-likelihood
    value on the exact logits, from statsmodels' unpenalised logistic fit."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    eta = rng.normal(0, 9, 300)  # logits to about +-30: probabilities of 1e-13 and 1 - 1e-13
    p = 1 / (1 + np.exp(-eta))
    y = (rng.uniform(size=p.size) < 1 / (1 + np.exp(-0.3 * eta))).astype(int)
    assert p.min() < 1e-9
    assert p.max() < 1.0
    x = np.log(p) - np.log1p(-p)
    fit = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    m = binary_metrics(y, p)
    assert m["calibration_slope"] == pytest.approx(fit.params[1], rel=1e-6)
    offset = sm.GLM(y, np.ones((p.size, 1)), family=sm.families.Binomial(), offset=x).fit()
    assert m["calibration_intercept"] == pytest.approx(offset.params[0], rel=1e-6, abs=1e-9)
    clipped = np.log(np.clip(p, 1e-6, 1 - 1e-6)) - np.log1p(-np.clip(p, 1e-6, 1 - 1e-6))
    off = sm.Logit(y, sm.add_constant(clipped)).fit(disp=0, tol=1e-12).params[1]
    assert abs(off - fit.params[1]) > 1e-3  # the clip would have set another value
