"""CoxNet (LASSO / elastic-net Cox) against scikit-survival called directly, by brute force.

Oracles: scikit-survival's ``CoxnetSurvivalAnalysis`` fitted by hand on z-scored covariates
(its own WHAS500 data and lifelines' Rossi data), a loop-by-loop Breslow partial likelihood,
scikit-survival's ``BreslowEstimator`` and lifelines' baseline survival.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sksurv.datasets import load_whas500
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import Surv
from threadpoolctl import threadpool_limits

from radiomix.errors import InputError
from radiomix.evaluate.survival import concordance_index
from radiomix.model.nomogram import CoxNomogram
from radiomix.model.survival import (
    CoxNet,
    CoxPH,
    baseline_at,
    breslow_baseline_survival,
    breslow_log_partial_likelihood,
    survival_target,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    X = d.drop(columns=["week", "arrest"]).astype(float)
    groups = np.asarray([f"P{i // 2:03d}" for i in range(len(d))])  # two rows per patient
    return X, d["week"].to_numpy(float), d["arrest"].to_numpy(bool), groups


@pytest.fixture(scope="module")
def whas500():
    X, y = load_whas500()
    X = X.apply(lambda c: c.astype(float))
    return X, y["lenfol"].astype(float), y["fstat"].astype(bool)


def _z(X):
    return (X - X.mean(axis=0)) / X.std(axis=0, ddof=0)


def _brute_loglik(t, e, eta):
    return sum(eta[i] - np.log(np.exp(eta[t >= t[i]]).sum()) for i in np.flatnonzero(e))


def test_breslow_partial_likelihood_equals_a_loop_with_ties(rossi):
    X, t, e, _ = rossi
    eta = _z(X).to_numpy() @ np.linspace(-0.3, 0.3, X.shape[1])
    assert breslow_log_partial_likelihood(t, e, eta) == pytest.approx(_brute_loglik(t, e, eta))
    both = breslow_log_partial_likelihood(t, e, np.column_stack([eta, 2 * eta]))
    np.testing.assert_allclose(both, [_brute_loglik(t, e, eta), _brute_loglik(t, e, 2 * eta)])
    assert np.unique(t[e]).size < e.sum()  # Rossi has tied event weeks


def test_breslow_baseline_equals_sksurv_and_lifelines(rossi):
    X, t, e, _ = rossi
    cox = CoxPH().fit(X, survival_target(t, e))
    risk = cox.predict(X)
    s0 = breslow_baseline_survival(t, e, risk)
    times = np.array([1.0, 8.0, 20.0, 35.5, 52.0])
    ref = BreslowEstimator().fit(risk, e, t).get_survival_function(np.zeros(1))[0]
    np.testing.assert_allclose(baseline_at(s0, times), ref(times), rtol=1e-10)
    np.testing.assert_allclose(
        baseline_at(s0, times), baseline_at(cox.baseline_survival_, times), rtol=1e-8
    )
    # a constant added to the risk changes S0, not S(t | x)
    s0_shift = breslow_baseline_survival(t, e, risk + 3.0)
    np.testing.assert_allclose(
        baseline_at(s0_shift, times) ** np.exp(3.0), baseline_at(s0, times), rtol=1e-10
    )


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_coxnet_at_a_given_alpha_equals_sksurv_on_whas500(whas500, l1_ratio):
    X, t, e = whas500
    alpha = 0.02
    model = CoxNet(alpha=alpha, l1_ratio=l1_ratio, min_selected=0, tol=1e-9).fit(
        X, survival_target(t, e)
    )
    Z = _z(X).to_numpy()
    ref = CoxnetSurvivalAnalysis(alphas=[alpha], l1_ratio=l1_ratio, tol=1e-9, max_iter=10**6)
    ref.fit(Z, Surv.from_arrays(e, t))
    # both solvers stop at their own coordinate-descent tolerance: agree to ~1e-5
    np.testing.assert_allclose(model.coef_, ref.coef_[:, 0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        model.coef_raw_, ref.coef_[:, 0] / X.std(ddof=0), rtol=1e-3, atol=1e-4
    )
    np.testing.assert_allclose(model.predict(X), Z @ ref.coef_[:, 0], rtol=1e-3, atol=1e-4)
    assert model.alpha_ == alpha
    assert 0 < model.n_selected_ < X.shape[1]
    # the path starts at scikit-survival's own alpha_max for these data
    path = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, n_alphas=5).fit(Z, Surv.from_arrays(e, t))
    assert model.alphas_[0] == pytest.approx(path.alphas_[0], rel=1e-10)
    table = model.coefficients()
    assert table["term"].tolist() == list(X.columns)
    assert table.loc[table["selected"], "term"].tolist() == model.selected_features_
    assert table[["hr_ci_low", "hr_ci_high", "p_value"]].isna().all().all()


def test_inner_cv_choice_equals_brute_force_with_sksurv(rossi):
    """Penalty chosen by grouped inner CV = sksurv fits per fold + a loop partial likelihood."""
    X, t, e, g = rossi
    model = CoxNet(n_alphas=12, cv=3, tol=1e-9, random_state=5).fit(
        X, survival_target(t, e), groups=g
    )
    alphas = model.alphas_
    folds = StratifiedGroupKFold(3, shuffle=True, random_state=5).split(X, e.astype(int), g)
    cvpl = np.zeros(alphas.size)
    for tr, _te in folds:
        assert not set(g[tr]) & set(g[_te])
        mu, sd = X.iloc[tr].mean(), X.iloc[tr].std(ddof=0)
        Zall = ((X - mu) / sd).to_numpy()
        for a, alpha in enumerate(alphas):  # one direct sksurv fit per penalty, no path
            ref = CoxnetSurvivalAnalysis(alphas=[alpha], l1_ratio=1.0, tol=1e-9, max_iter=10**6)
            with warnings.catch_warnings():  # all-zero fits above alpha_max are expected
                warnings.simplefilter("ignore", UserWarning)
                ref.fit(Zall[tr], Surv.from_arrays(e[tr], t[tr]))
            eta = Zall @ ref.coef_[:, 0]
            cvpl[a] += _brute_loglik(t, e, eta) - _brute_loglik(t[tr], e[tr], eta[tr])
    got = model.cv_results_["mean_score"].to_numpy()
    fitted = np.isfinite(got)
    # scikit-survival stops a path once the deviance stops changing: the tail is not fitted
    assert fitted[: alphas.size - 2].all()
    np.testing.assert_allclose(got[fitted], cvpl[fitted] / 3, rtol=1e-4)
    best = int(np.argmax(np.where(fitted, cvpl, -np.inf)))
    assert 0 < best < alphas.size - 1  # an interior optimum
    assert model.alpha_ == alphas[best]
    assert not model.fallback_
    full = CoxnetSurvivalAnalysis(alphas=[alphas[best]], l1_ratio=1.0, tol=1e-9, max_iter=10**6)
    full.fit(_z(X).to_numpy(), Surv.from_arrays(e, t))
    np.testing.assert_allclose(model.coef_, full.coef_[:, 0], rtol=1e-3, atol=1e-4)


def _planted(seed, n=40, p=500, effect=2.0, censor_scale=3.0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.standard_normal((n, p)), columns=[f"wavelet.glcm.f{i:03d}" for i in range(p)]
    )
    beta = np.zeros(p)
    beta[[3, 100, 400]] = [effect, -effect, effect]
    event_time = rng.exponential(1 / np.exp(X.to_numpy() @ beta))
    censor = rng.exponential(censor_scale, size=n)
    return X, np.minimum(event_time, censor), event_time <= censor


def test_lasso_cox_500_features_40_patients_finds_the_planted_features():
    """Issue 13: p >> n runs (no convergence failure), fast, selects and names the planted."""
    X, t, e = _planted(seed=1)
    start = time.perf_counter()
    model = CoxNet().fit(X, survival_target(t, e))
    elapsed = time.perf_counter() - start
    assert elapsed < 60  # the budget for one fit with its inner penalty choice
    planted = {"wavelet.glcm.f003", "wavelet.glcm.f100", "wavelet.glcm.f400"}
    assert planted <= set(model.selected_features_)
    table = model.coefficients().set_index("term")
    top3 = table["coef_standardised"].abs().nlargest(3).index
    assert set(top3) == planted
    assert table.loc["wavelet.glcm.f100", "coef_standardised"] < 0
    assert model.n_selected_ == int(table["selected"].sum()) < 40
    assert model.failed_alphas_ == []


def test_c_index_scoring_skips_inner_folds_without_a_comparable_pair():
    """40 patients, 14 events, 10 inner folds: two test folds hold no comparable pair."""
    X, t, e = _planted(seed=0, censor_scale=0.3)
    folds = StratifiedGroupKFold(10, shuffle=True, random_state=0).split(X, e, np.arange(40))
    c_of_fold = [concordance_index(t[te], np.zeros(te.size), e[te]) for _tr, te in folds]
    assert int(np.isnan(c_of_fold).sum()) == 2  # the case under test happens
    model = CoxNet(scoring="c_index").fit(X, survival_target(t, e))
    res = model.cv_results_
    assert model.n_inner_splits_ == 10
    candidates = res[res["mean_score"].notna()]
    assert len(candidates) > 5
    assert (candidates["n_folds"] == 10).all()
    assert model.alpha_ == candidates.loc[candidates["mean_score"].idxmax(), "alpha"]


def test_cox_nomogram_rad_score_by_coxnet_receives_patient_groups():
    X, t, e = _planted(seed=1)
    rad = list(X.columns)
    X = X.assign(age=np.random.default_rng(0).normal(60, 10, len(X)))
    g = np.asarray([f"P{i // 2:02d}" for i in range(len(X))])  # two rows per patient
    y = survival_target(t, e)
    nomo = CoxNomogram(
        radiomic_columns=rad, radscore_penalizer=None, radscore_cv=3, random_state=0
    ).fit(X, y, groups=g)
    assert isinstance(nomo.radscore_, CoxNet)
    by_hand = CoxNet(random_state=0).fit(X[rad], y, groups=g)
    np.testing.assert_allclose(nomo.radscore_.coef_, by_hand.coef_)
    assert {"wavelet.glcm.f003", "wavelet.glcm.f100"} <= set(nomo.radscore_.selected_features_)
    assert np.isfinite(nomo.predict(X)).all()
    assert nomo.crossfit_grouped_


def test_one_failing_penalty_does_not_kill_the_path(rossi, monkeypatch):
    X, t, e, g = rossi
    y = survival_target(t, e)
    clean = CoxNet(n_alphas=12, cv=3, random_state=5).fit(X, y, groups=g)
    bad = clean.alpha_  # the penalty the clean fit chose now fails everywhere
    original = CoxnetSurvivalAnalysis.fit

    def failing_fit(self, X_, y_):
        if np.any(np.isclose(self.alphas, bad, rtol=1e-12)):
            raise ArithmeticError("Numerical error, because weights are too large.")
        return original(self, X_, y_)

    monkeypatch.setattr(CoxnetSurvivalAnalysis, "fit", failing_fit)
    model = CoxNet(n_alphas=12, cv=3, random_state=5).fit(X, y, groups=g)
    assert model.failed_alphas_ == [bad]
    res = model.cv_results_.set_index("alpha")
    assert res.loc[bad, "n_folds"] == 0
    assert np.isnan(res.loc[bad, "mean_score"])
    others = res.drop(index=bad)
    assert (others["n_folds"] == 3).all()
    # the other penalties keep their clean scores (the stretch after the failure restarts
    # from zero instead of warm, so equal up to the solver tolerance)
    ref = clean.cv_results_.set_index("alpha").drop(index=bad)["mean_score"]
    both = ref.notna().to_numpy()
    np.testing.assert_allclose(others["mean_score"][both], ref[both], rtol=1e-4)
    assert model.alpha_ != bad
    assert model.alpha_ == others["mean_score"].idxmax()


def test_no_signal_falls_back_to_the_first_penalty_that_selects(caplog):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.standard_normal((40, 30))).add_prefix("noise")
    t, e = rng.exponential(1.0, 40), rng.random(40) < 0.7
    y = survival_target(t, e)
    empty = CoxNet(min_selected=0).fit(X, y)
    assert empty.n_selected_ == 0  # cross-validation prefers the null model here
    np.testing.assert_array_equal(empty.predict(X), 0.0)
    with caplog.at_level("WARNING", logger="radiomix.model.survival"):
        model = CoxNet().fit(X, y)
    assert model.fallback_
    assert "fallback" in caplog.text
    counts = model.cv_results_["n_selected"].to_numpy()
    first = int(np.flatnonzero(counts >= 1)[0])
    assert model.alpha_ == model.alphas_[first]
    assert model.n_selected_ == counts[first] >= 1


def test_names_survive_a_pandas_pipeline(rossi):
    X, t, e, _ = rossi
    pipe = Pipeline([("scale", StandardScaler()), ("model", CoxNet(alpha=0.01))])
    pipe.set_output(transform="pandas").fit(X, survival_target(t, e))
    assert pipe[-1].coefficients()["term"].tolist() == list(X.columns)
    assert set(pipe[-1].selected_features_) <= set(X.columns)


def test_coxnet_errors(rossi):
    X, t, e, _ = rossi
    y = survival_target(t, e)
    with pytest.raises(InputError, match=r"l1_ratio must be in \(0, 1\].*CoxPH"):
        CoxNet(l1_ratio=0.0).fit(X, y)
    with pytest.raises(InputError, match="alpha must be > 0 or None"):
        CoxNet(alpha=-1.0).fit(X, y)
    with pytest.raises(InputError, match="scoring must be one of"):
        CoxNet(scoring="auc").fit(X, y)
    with pytest.raises(InputError, match="at least 2 patients with an event"):
        CoxNet().fit(X.iloc[:6], survival_target(t[:6], [1, 0, 0, 0, 0, 0]))
    with pytest.raises(InputError, match="every covariate is constant"):
        CoxNet().fit(np.ones((10, 2)), survival_target(np.arange(1.0, 11.0), np.ones(10)))
    with pytest.raises(InputError, match="groups has 3 values"):
        CoxNet().fit(X, y, groups=["a", "b", "c"])


@parametrize_with_checks([CoxNet(alpha=0.05, min_selected=0), CoxNet(cv=2)])
def test_sklearn_contract(estimator, check):
    check(estimator)
