"""Rad-score and nomograms: coefficients vs independent fits, points arithmetic, charts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sklearn.linear_model import LogisticRegression

from _data import require_data, sts_lung_metastasis_outcome
from radiomix.errors import InputError
from radiomix.model import RadScore, encode_clinical
from radiomix.model.nomogram import CoxNomogram, Nomogram
from radiomix.model.survival import survival_target


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame(
        rng.normal(size=(n, 4)) * [1, 10, 0.1, 3],
        columns=[f"ct.original.stat.f{i}" for i in range(4)],
    )
    eta = X.iloc[:, 0] + 0.1 * X.iloc[:, 1] - 0.5 * X.iloc[:, 3] / 3
    y = (eta + rng.logistic(size=n) > 0).astype(int).to_numpy()
    X["age"] = rng.normal(60, 10, n) + 4 * y
    X["grade"] = rng.integers(0, 3, n).astype(float)
    return X, y


def test_radscore_is_the_penalised_logistic_linear_predictor(data):
    X, y = data
    R = X.filter(like="ct.")
    rs = RadScore(C=0.5).fit(R, y)
    z = (R - R.mean()) / R.std(ddof=0)
    ref = LogisticRegression(
        C=0.5, l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=10000
    ).fit(z, y)
    np.testing.assert_allclose(rs.coef_, ref.coef_[0], atol=1e-3)
    # raw-scale coefficients give the same linear predictor
    lp = rs.intercept_raw_ + R.to_numpy() @ rs.coef_raw_
    np.testing.assert_allclose(rs.decision_function(R), lp, rtol=1e-10)
    np.testing.assert_allclose(rs.transform(R)[:, 0], lp, rtol=1e-10)
    np.testing.assert_allclose(rs.predict_proba(R)[:, 1], 1 / (1 + np.exp(-lp)), rtol=1e-12)
    coef = rs.coefficients()
    assert coef["term"].tolist() == ["(intercept)", *R.columns]
    assert coef["selected"].iloc[1:].tolist() == (rs.coef_ != 0).tolist()
    assert list(rs.set_output(transform="pandas").transform(R).columns) == ["radscore"]


def test_radscore_refuses_multiclass(data):
    X, _ = data
    with pytest.raises(InputError, match="Only binary classification"):
        RadScore().fit(X, np.arange(len(X)) % 3)
    with pytest.raises(InputError, match="C must be > 0"):
        RadScore(C=0).fit(X, np.arange(len(X)) % 2)


def test_clinical_nomogram_equals_logistic_regression(data):
    X, y = data
    clin = X[["age", "grade"]]
    nomo = Nomogram(C=np.inf).fit(clin, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100000).fit(clin, y)
    np.testing.assert_allclose(nomo.coef_raw_, ref.coef_[0], rtol=1e-4)
    assert nomo.intercept_raw_ == pytest.approx(ref.intercept_[0], rel=1e-4)


def test_points_and_total_points_reproduce_the_linear_predictor(data):
    X, y = data
    nomo = Nomogram(radiomic_columns="auto", random_state=0).fit(X, y)
    assert nomo.terms_ == ["radscore", "age", "grade"]
    table = nomo.points_table()
    span = table.groupby("term")["points"].agg(["min", "max"])
    assert span["min"].min() == pytest.approx(0.0, abs=1e-12)
    assert span["max"].max() == pytest.approx(100.0)  # the widest term spans 0-100
    # total points -> linear predictor: eta = eta_ref + T * R / 100
    beta = nomo.coef_raw_
    lo, hi = nomo.term_min_, nomo.term_max_
    R = np.max(np.abs(beta) * (hi - lo))
    eta_ref = nomo.intercept_raw_ + np.sum(beta * np.where(beta >= 0, lo, hi))
    T = nomo.total_points(X)
    np.testing.assert_allclose(eta_ref + T * R / 100, nomo.decision_function(X), rtol=1e-10)
    fig = nomo.plot()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Points", "radscore", "age", "grade", "Total points", "P(1)"]


def test_nomogram_imputes_missing_clinical_values_with_training_median(data):
    X, y = data
    X = X.copy()
    X.loc[X.index[:5], "grade"] = np.nan
    nomo = Nomogram().fit(X[["age", "grade"]], y)
    assert nomo.clinical_medians_[1] == pytest.approx(np.nanmedian(X["grade"]))
    assert np.isfinite(nomo.predict_proba(X[["age", "grade"]])).all()


def test_cox_nomogram_on_sarcoma_outcome(tmp_path):
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    out = sts_lung_metastasis_outcome(clinical)
    X = encode_clinical(
        clinical, ["age", "grade"], ordinal={"grade": ["Low", "Intermediate", "High"]}
    )
    y = survival_target(out["time_years"], out["event"])
    nomo = CoxNomogram(horizon=1.0, penalizer=0.0).fit(X, y)
    # same coefficients as lifelines on the median-imputed covariates
    filled = X.fillna(X.median())
    ref = CoxPHFitter().fit(filled.assign(T=out["time_years"], E=out["event"]), "T", "E")
    np.testing.assert_allclose(nomo.coef_raw_, ref.params_.to_numpy(), rtol=1e-5)
    # at an event time (lifelines interpolates between event times, the Breslow estimate
    # is a step function: they agree at the steps)
    times = nomo.cox_.baseline_survival_.index.to_numpy()
    t0 = float(times[times <= 1.0].max())
    S = nomo.predict_survival(X, [t0])[:, 0]
    ref_S = ref.predict_survival_function(filled, times=[t0]).to_numpy()[0]
    np.testing.assert_allclose(S, ref_S, rtol=1e-6)
    fig = nomo.plot()
    fig.savefig(tmp_path / "cox_nomogram.png")
    assert (tmp_path / "cox_nomogram.png").stat().st_size > 1000


def test_nomogram_errors(data):
    X, y = data
    with pytest.raises(InputError, match="no radiomic column"):
        Nomogram(radiomic_columns="auto").fit(X[["age", "grade"]], y)
    with pytest.raises(InputError, match="absent from X"):
        Nomogram(radiomic_columns=["ct.original.stat.nope"]).fit(X, y)
    with pytest.raises(InputError, match="Only binary classification"):
        Nomogram().fit(X[["age"]], np.arange(len(X)) % 3)
    with pytest.raises(InputError, match="horizon must be > 0"):
        CoxNomogram(horizon=0).fit(X[["age"]], survival_target(np.ones(len(X)), np.ones(len(X))))
