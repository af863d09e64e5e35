"""Survival CV with an inner patient-grouped loop tuning the Cox penalty, against brute force.

The oracle refits lifelines' ``CoxPHFitter`` by hand on z-scored covariates in every inner
fold and scores it with lifelines' own concordance index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from lifelines.utils import concordance_index as lifelines_cindex
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from radiomix.errors import InputError, MissingGroupsError
from radiomix.evaluate.splits import grouped_cv_splits
from radiomix.evaluate.survival import fit_survival_tuned, survival_cv
from radiomix.model.survival import CoxPH

GRID = [0.01, 0.3, 3.0, 30.0, 300.0]


@pytest.fixture(scope="module")
def rossi():
    """200 rows of the Rossi recidivism data, two rows per synthetic patient."""
    d = load_rossi().sample(n=200, random_state=1).reset_index(drop=True)
    X = d[["fin", "age", "prio", "wexp", "mar"]].astype(float)
    groups = np.asarray([f"P{i // 2:03d}" for i in range(len(d))])
    return X, d["week"].to_numpy(float), d["arrest"].to_numpy(int), groups


def _lifelines_risk(X_train, t, e, X_test, penalizer):
    mu, sd = X_train.mean(), X_train.std(ddof=0)
    frame = ((X_train - mu) / sd).assign(T=t, E=e)
    fitter = CoxPHFitter(penalizer=penalizer).fit(frame, "T", "E")
    return ((X_test - mu) / sd).to_numpy() @ fitter.params_[X_train.columns].to_numpy()


def _brute_force_choice(X, t, e, g, seed):
    folds = list(StratifiedGroupKFold(3, shuffle=True, random_state=seed).split(X, e, g))
    means = []
    for pen in GRID:
        scores = []
        for tr, te in folds:
            assert not set(g[tr]) & set(g[te])
            risk = _lifelines_risk(X.iloc[tr], t[tr], e[tr], X.iloc[te], pen)
            scores.append(lifelines_cindex(t[te], -risk, e[te]))
        means.append(np.mean(scores))
    return GRID[int(np.argmax(means))], means


def test_survival_cv_chooses_the_penalty_of_a_brute_force_inner_cv(rossi):
    X, t, e, g = rossi
    pipe = Pipeline([("scale", StandardScaler()), ("model", CoxPH())]).set_output(
        transform="pandas"
    )
    res = survival_cv(
        pipe,
        X,
        t,
        e,
        groups=g,
        n_splits=3,
        param_grid={"model__penalizer": GRID},
        inner_splits=3,
        n_bootstrap=20,
        random_state=7,
    )
    assert "nested" in res.scheme
    assert len(res.folds) == 3
    chosen_all = []
    for sp in grouped_cv_splits(e, groups=g, n_splits=3, random_state=7):
        Xtr = X.iloc[sp.train]
        seed = 7 + 1000 * sp.repeat + sp.fold
        chosen, _ = _brute_force_choice(Xtr, t[sp.train], e[sp.train], g[sp.train], seed)
        chosen_all.append(chosen)
        row = res.folds[(res.folds["repeat"] == sp.repeat) & (res.folds["fold"] == sp.fold)]
        assert row["best_params"].iloc[0] == {"model__penalizer": chosen}
        # the out-of-fold risk is the refit with the chosen penalty on the whole training fold
        ref = _lifelines_risk(Xtr, t[sp.train], e[sp.train], X.iloc[sp.test], chosen)
        pred = res.predictions.set_index("row").loc[sp.test, "risk"].to_numpy()
        np.testing.assert_allclose(pred, ref, rtol=1e-4, atol=1e-6)
    # the grid has an interior optimum that differs between folds on these data
    assert set(chosen_all) == {3.0, 30.0}
    assert res.settings["param_grid"] == {"model__penalizer": GRID}
    assert res.to_dict()["folds"][0]["best_params"] == {"model__penalizer": chosen_all[0]}


def test_fit_survival_tuned_mean_scores_equal_brute_force(rossi):
    X, t, e, g = rossi
    search = fit_survival_tuned(
        CoxPH(), X, t, e, groups=g, param_grid={"penalizer": GRID}, random_state=3
    )
    chosen, means = _brute_force_choice(X, t, e, g, 3)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, atol=1e-6)
    # CoxPH takes the patient ids (clustered intervals): tuned as the step "model"
    assert search.best_params_ == {"model__penalizer": chosen}
    # refitted on all rows with the chosen penalty
    np.testing.assert_allclose(
        search.predict(X), _lifelines_risk(X, t, e, X, chosen), rtol=1e-4, atol=1e-6
    )


def test_survival_cv_without_grid_is_the_plain_grouped_cv(rossi):
    X, t, e, g = rossi
    res = survival_cv(CoxPH(), X, t, e, groups=g, n_splits=3, n_bootstrap=10, random_state=2)
    assert res.folds["best_params"].tolist() == [{}, {}, {}]
    assert res.scheme.startswith("patient-grouped CV")
    for sp in grouped_cv_splits(e, groups=g, n_splits=3, random_state=2):
        ref = _lifelines_risk(X.iloc[sp.train], t[sp.train], e[sp.train], X.iloc[sp.test], 0.0)
        pred = res.predictions.set_index("row").loc[sp.test, "risk"].to_numpy()
        np.testing.assert_allclose(pred, ref, rtol=1e-4, atol=1e-6)


def test_survival_tuning_errors(rossi):
    X, t, e, g = rossi
    with pytest.raises(MissingGroupsError, match="groups is missing"):
        fit_survival_tuned(CoxPH(), X, t, e, groups=None, param_grid={"penalizer": GRID})
    with pytest.raises(InputError, match="inner_splits must be an int"):
        fit_survival_tuned(
            CoxPH(), X, t, e, groups=g, param_grid={"penalizer": GRID}, inner_splits=1
        )
    with pytest.raises(InputError, match="inner_splits must be an int"):
        fit_survival_tuned(
            CoxPH(),
            X.iloc[:6],
            t[:6],
            e[:6],
            groups=pd.Series(g[:6]),
            param_grid={"penalizer": GRID},
            inner_splits=4,
        )


def test_survival_cv_survives_a_category_absent_from_a_training_fold(rossi):
    """A rare category (one patient) is constant in the folds that leave it out."""
    X, t, e, g = rossi
    Xr = X.assign(rare=(g == g[0]).astype(float))
    res = survival_cv(CoxPH(), Xr, t, e, groups=g, n_splits=3, n_bootstrap=10, random_state=2)
    n_constant = 0
    for sp in grouped_cv_splits(e, groups=g, n_splits=3, random_state=2):
        train = Xr.iloc[sp.train]
        cols = [c for c in Xr.columns if train[c].nunique() > 1]
        n_constant += len(cols) < Xr.shape[1]
        ref = _lifelines_risk(train[cols], t[sp.train], e[sp.train], Xr.iloc[sp.test][cols], 0.0)
        pred = res.predictions.set_index("row").loc[sp.test, "risk"].to_numpy()
        np.testing.assert_allclose(pred, ref, rtol=1e-4, atol=1e-6)
    assert n_constant == 1  # the fold holding the rare patient's rows in its test part
