"""Nomograms with a cross-fitted rad-score: out-of-fold rad-scores against cross-fitting
done by hand, the optimism they remove, patient-grouped internal folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from radiomix.errors import InputError
from radiomix.evaluate.validate import fit_tuned
from radiomix.model import BlockFuser, RadScore
from radiomix.model.nomogram import CoxNomogram, Nomogram
from radiomix.model.survival import LassoCox, survival_target


def _lesions(seed=0, n_patients=40, per_patient=3, signal=1.5, p=6):
    """Lesion-level rows (several per patient), a patient-level binary outcome."""
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n_patients), per_patient)
    y_pat = rng.permutation(np.arange(n_patients) % 2)
    y = y_pat[patients]
    R = rng.normal(size=(patients.size, p))
    R[:, 0] += signal * (y - 0.5)
    X = pd.DataFrame(R, columns=[f"ct.original.stat.f{i}" for i in range(p)])
    X["age"] = rng.normal(60, 10, n_patients)[patients] + 3 * y
    return X, y, np.asarray([f"P{i:02d}" for i in patients])


def _manual_oof(R, y, folds, make):
    oof = np.full(len(y), np.nan)
    for tr, te in folds:
        model = make().fit(R.iloc[tr], y[tr])
        oof[te] = model.decision_function(R.iloc[te])
    return oof


def test_oof_radscore_equals_manual_grouped_crossfitting():
    X, y, g = _lesions()
    R = X.filter(like="ct.")
    nomo = Nomogram(
        radiomic_columns="auto", C=np.inf, radscore_C=0.5, radscore_cv=4, random_state=3
    ).fit(X, y, groups=g)
    folds = list(StratifiedGroupKFold(4, shuffle=True, random_state=3).split(X, y, g))
    oof = _manual_oof(R, y, folds, lambda: RadScore(C=0.5, random_state=3))
    np.testing.assert_allclose(nomo.radscore_oof_, oof, rtol=1e-10)
    assert nomo.crossfit_grouped_
    # every patient's rows sit in one internal fold, the manual fold
    per_patient = pd.Series(nomo.radscore_folds_).groupby(g).nunique()
    assert per_patient.max() == 1
    for k, (_, te) in enumerate(folds):
        assert (nomo.radscore_folds_[te] == k).all()
    # the nomogram is the logistic model on [out-of-fold rad-score, age] ...
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100000).fit(
        np.column_stack([oof, X["age"]]), y
    )
    np.testing.assert_allclose(nomo.coef_raw_, ref.coef_[0], rtol=1e-4)
    assert nomo.intercept_raw_ == pytest.approx(ref.intercept_[0], rel=1e-4)
    # ... and predicts with the rad-score refitted on all rows
    full = RadScore(C=0.5, random_state=3).fit(R, y)
    np.testing.assert_allclose(nomo.radscore_.coef_, full.coef_, rtol=1e-10)
    eta = ref.intercept_[0] + np.column_stack([full.decision_function(R), X["age"]]) @ ref.coef_[0]
    np.testing.assert_allclose(nomo.decision_function(X), eta, rtol=1e-4, atol=1e-6)


def test_without_groups_rows_are_the_crossfitting_units():
    X, y, _ = _lesions(seed=1)
    R = X.filter(like="ct.")
    nomo = Nomogram(radiomic_columns="auto", radscore_cv=3, random_state=0).fit(X, y)
    assert not nomo.crossfit_grouped_
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    oof = _manual_oof(R, y, folds, lambda: RadScore(random_state=0))
    np.testing.assert_allclose(nomo.radscore_oof_, oof, rtol=1e-10)


def _noise_or_signal(seed, signal, n=80, p=30):
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(n, p))
    age = rng.normal(60, 10, n)
    y = (0.05 * (age - 60) + signal * R[:, 0] + rng.logistic(size=n) > 0).astype(int)
    X = pd.DataFrame(R, columns=[f"ct.original.stat.f{i:02d}" for i in range(p)])
    X["age"] = age
    return X, y


def _in_sample_radscore_coef(X, y):
    """The old design, by hand: rad-score fitted and used as a covariate on the same rows."""
    R = X.filter(like="ct.")
    rs = RadScore(C=1.0, random_state=0).fit(R, y).decision_function(R)
    D = np.column_stack([rs, X["age"]])
    mu, sd = D.mean(0), D.std(0)
    lr = LogisticRegression(C=100.0, tol=1e-10, max_iter=10000).fit((D - mu) / sd, y)
    return float(lr.coef_[0, 0] / sd[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossfitting_removes_the_optimism_of_a_noise_radscore(seed):
    X, y = _noise_or_signal(seed, signal=0.0)
    nomo = Nomogram(radiomic_columns="auto", radscore_C=1.0, random_state=0).fit(X, y)
    in_sample = _in_sample_radscore_coef(X, y)
    assert in_sample > 1.0  # 30 noise columns: the in-sample rad-score looks predictive
    assert abs(nomo.coef_raw_[0]) < 0.2 * in_sample


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossfitted_radscore_keeps_a_planted_signal(seed):
    X, y = _noise_or_signal(seed, signal=2.0)
    nomo = Nomogram(radiomic_columns="auto", radscore_C=1.0, random_state=0).fit(X, y)
    assert nomo.coef_raw_[0] > 0.3
    # the refitted rad-score ranks the signal column first
    coef = nomo.radscore_.coefficients().iloc[1:]
    assert coef.loc[coef["coef_standardised"].abs().idxmax(), "term"] == "ct.original.stat.f00"


def _survival(seed=0, n_patients=60, per_patient=2):
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n_patients), per_patient)
    R = rng.normal(size=(patients.size, 4))
    age = rng.normal(60, 10, n_patients)[patients]
    risk = 0.8 * R[:, 0] + 0.03 * (age - 60)
    t_event = rng.exponential(np.exp(-risk))
    t_cens = rng.exponential(1.5, patients.size)
    X = pd.DataFrame(R, columns=[f"ct.original.stat.f{i}" for i in range(4)])
    X["age"] = age
    event = (t_event <= t_cens).astype(int)
    return X, np.minimum(t_event, t_cens), event, np.asarray([f"P{i:02d}" for i in patients])


def test_cox_nomogram_oof_radscore_equals_manual_crossfitting():
    X, t, e, g = _survival()
    y = survival_target(t, e)
    R = X.filter(like="ct.")
    nomo = CoxNomogram(radiomic_columns="auto", penalizer=0.0, radscore_cv=3, random_state=5).fit(
        X, y, groups=g
    )
    folds = list(StratifiedGroupKFold(3, shuffle=True, random_state=5).split(X, e, g))
    oof = np.full(len(t), np.nan)
    for tr, te in folds:
        oof[te] = LassoCox(penalizer=0.1).fit(R.iloc[tr], y[tr]).predict(R.iloc[te])
    np.testing.assert_allclose(nomo.radscore_oof_, oof, rtol=1e-8, atol=1e-10)
    assert pd.Series(nomo.radscore_folds_).groupby(g).nunique().max() == 1
    # the Cox model on [out-of-fold rad-score, age], by lifelines
    frame = pd.DataFrame({"radscore": oof, "age": X["age"], "T": t, "E": e})
    ref = CoxPHFitter().fit(frame, "T", "E")
    np.testing.assert_allclose(nomo.coef_raw_, ref.params_.to_numpy(), rtol=1e-5)
    assert nomo.coef_raw_[0] > 0  # the planted radiomic risk survives cross-fitting


def test_fit_tuned_passes_patients_to_the_nomogram():
    X, y, g = _lesions(seed=2)
    rad = [c for c in X.columns if c.startswith("ct.")]
    pipe = Pipeline(
        [
            ("fuse", BlockFuser(blocks={"radiomic": rad, "clinical": ["age"]}, scale=None)),
            ("model", Nomogram(radiomic_columns=rad, radscore_cv=3, random_state=0)),
        ]
    ).set_output(transform="pandas")
    search = fit_tuned(pipe, X, y, groups=g, param_grid={"model__radscore_C": [0.3, 1.0]})
    nomo = search.best_estimator_.named_steps["model"]
    assert nomo.crossfit_grouped_
    assert pd.Series(nomo.radscore_folds_).groupby(g).nunique().max() == 1


def test_fewer_patients_than_folds_caps_the_folds_at_the_smaller_class():
    X, y, g = _lesions(n_patients=8)  # 4 patients per class
    nomo = Nomogram(radiomic_columns="auto", radscore_cv=10, random_state=0).fit(X, y, groups=g)
    assert nomo.n_crossfit_folds_ == 4
    folds = list(StratifiedGroupKFold(4, shuffle=True, random_state=0).split(X, y, g))
    for k, (_, te) in enumerate(folds):
        assert (nomo.radscore_folds_[te] == k).all()
        assert set(y[te]) == {0, 1}


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_crossfitting_errors():
    X, y, g = _lesions()
    with pytest.raises(InputError, match="radscore_cv must be an int >= 2"):
        Nomogram(radiomic_columns="auto", radscore_cv=1).fit(X, y, groups=g)
    with pytest.raises(InputError, match="at least 2 patients"):
        Nomogram(radiomic_columns="auto").fit(X, y, groups=np.zeros(len(y)))
    with pytest.raises(InputError, match="give one per row"):
        Nomogram(radiomic_columns="auto").fit(X, y, groups=g[:-1])
    # every positive row belongs to one patient: no fold without it can learn the class, so
    # the rad-score's in-sample scores are used, and the model says so
    y_one = (g == "P00").astype(int)
    nomo = Nomogram(radiomic_columns="auto", radscore_cv=3).fit(X, y_one, groups=g)
    assert nomo.crossfit_fallback_
    assert nomo.n_crossfit_folds_ == 0
    assert (nomo.radscore_folds_ == -1).all()
    assert np.isfinite(nomo.predict_proba(X)).all()
    Xs, t, _, gs = _survival()
    e_one = (gs == "P00").astype(int)
    cox = CoxNomogram(radiomic_columns="auto", radscore_cv=3).fit(
        Xs, survival_target(t, e_one), groups=gs
    )
    assert cox.crossfit_fallback_
