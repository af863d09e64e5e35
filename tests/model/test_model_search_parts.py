"""The building blocks of the model search: hygiene, top-k filter, clipped kNN, penalised
logistic regression tuned inside ``fit``, post-hoc calibration, the rad-score fallback.

Each is checked against an independent computation (plain numpy / scikit-learn on the same
folds), not against its own output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from radiomix.errors import InputError
from radiomix.evaluate.validate import fit_tuned, nested_cv
from radiomix.model import (
    ClippedKNeighborsClassifier,
    PenalisedLogisticCV,
    PostHocCalibrated,
    RadScore,
    TableHygiene,
    UnivariateKBest,
    build_pipeline,
    default_model_name,
    default_param_grid,
    make_classifier,
)
from radiomix.model.classifiers import grouped_folds


def _table(n=60, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + 0.7 * rng.normal(size=n) > 0).astype(int)
    return X, y


# --- hygiene -------------------------------------------------------------------------


def test_hygiene_counts_and_train_medians():
    X = np.array(
        [
            [1.0, 5.0, 1.0, np.nan],
            [2.0, 5.0, 2.0, 4.0],
            [np.nan, 5.0, 6.0, 8.0],
            [7.0, 5.0, 7.0, 2.0],
        ]
    )
    h = TableHygiene().fit(X)
    # column 1 constant; column 2 differs from column 0 only where column 0 was missing:
    # after imputing the median (2.0) it is not a copy
    assert h.n_imputed_ == 2
    assert h.n_constant_ == 1
    assert h.n_duplicate_ == 0
    assert h.support_.tolist() == [True, False, True, True]
    np.testing.assert_allclose(h.medians_[[0, 3]], [2.0, 4.0])
    new = np.array([[np.nan, 0.0, 0.0, np.nan]])
    np.testing.assert_allclose(h.transform(new), [[2.0, 0.0, 4.0]])  # training medians


def test_hygiene_all_missing_column_and_names():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3, "c": [1.0, 2.0, 3.0]})
    h = TableHygiene().fit(X)
    assert h.get_feature_names_out().tolist() == ["a"]
    assert (h.n_constant_, h.n_duplicate_, h.n_imputed_) == (1, 1, 3)


def test_hygiene_refuses_all_constant():
    with pytest.raises(InputError, match="every column is constant"):
        TableHygiene().fit(np.ones((4, 3)))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=3, max_value=12),
    st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=10_000),
)
def test_hygiene_output_has_unique_nonconstant_columns(n, copies, seed):
    """Invariant: whatever the copies and constants, the kept training columns are distinct
    and non-constant, and every distinct non-constant input column survives once."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 3, size=(n, len(copies))).astype(float)
    cols = [base[:, [j]] for j, c in enumerate(copies) for _ in range(c + 1)]
    X = np.hstack([*cols, np.full((n, 1), 2.0)])
    try:
        out = TableHygiene().fit_transform(X)
    except InputError:
        assert all(np.ptp(base[:, j]) == 0 for j in range(base.shape[1]))
        return
    assert np.all(np.ptp(out, axis=0) > 0)
    assert len({out[:, j].tobytes() for j in range(out.shape[1])}) == out.shape[1]
    distinct = {base[:, j].tobytes() for j in range(base.shape[1]) if np.ptp(base[:, j]) > 0}
    assert out.shape[1] == len(distinct)


# --- univariate top k ----------------------------------------------------------------


def test_univariate_kbest_matches_sklearn():
    X, y = _table(p=20)
    ours = UnivariateKBest(k=5).fit(X, y).get_support()
    ref = SelectKBest(f_classif, k=5).fit(X, y).get_support()
    assert ours.tolist() == ref.tolist()
    assert UnivariateKBest(k=50).fit(X, y).get_support().all()  # k above p keeps all


# --- clipped kNN ---------------------------------------------------------------------


def test_knn_equals_sklearn_when_not_clipped():
    X, y = _table()
    ours = ClippedKNeighborsClassifier(n_neighbors=7).fit(X[:40], y[:40])
    ref = KNeighborsClassifier(n_neighbors=7).fit(X[:40], y[:40])
    np.testing.assert_array_equal(ours.predict_proba(X[40:]), ref.predict_proba(X[40:]))
    assert ours.clipped_ is False
    assert ours.n_neighbors_ == 7


def test_knn_default_grid_runs_at_12_patients():
    """default_param_grid('knn') holds k = 15; with 12 patients (about 5 in an inner
    training fold) the search must clip, not crash, and record the clip."""
    X, y = _table(n=12, p=4, seed=3)
    g = np.arange(12)
    model = fit_tuned(
        build_pipeline("knn"), X, y, groups=g, param_grid=default_param_grid("knn"), inner_splits=2
    )
    final = model.best_estimator_.named_steps["model"]
    assert final.n_neighbors_ == min(final.n_neighbors, 12)
    clipped = build_pipeline("knn").set_params(model__n_neighbors=15).fit(X, y)
    assert clipped.named_steps["model"].clipped_
    assert clipped.named_steps["model"].n_neighbors_ == 12
    # all 12 rows vote: every prediction is the training prevalence
    np.testing.assert_allclose(clipped.predict_proba(X)[:, 1], y.mean())
    res = nested_cv(
        build_pipeline("knn"),
        X,
        y,
        groups=g,
        param_grid=default_param_grid("knn"),
        outer_splits=3,
        inner_splits=2,
        n_bootstrap=20,
    )
    assert np.isfinite(res.estimate("roc_auc"))


# --- penalised logistic --------------------------------------------------------------


def test_penalised_logistic_scores_equal_sklearn_on_same_folds():
    X, y = _table(n=70, p=15, seed=1)
    g = np.repeat(np.arange(35), 2)
    clf = PenalisedLogisticCV(Cs=[0.05, 1.0], l1_ratios=[1.0, 0.0], cv=4, random_state=0)
    clf.fit(X, y, groups=g)
    folds, grouped = grouped_folds(y, g, 4, 0)
    assert grouped
    for tr, te in folds:
        assert set(g[tr]).isdisjoint(g[te])
    for ratio, C, solver in [(1.0, 0.05, "liblinear"), (0.0, 1.0, "lbfgs")]:
        losses = []
        for tr, te in folds:
            sc = StandardScaler().fit(X[tr])
            m = LogisticRegression(C=C, l1_ratio=ratio, solver=solver, max_iter=5000)
            m.fit(sc.transform(X[tr]), y[tr])
            losses.append(log_loss(y[te], m.predict_proba(sc.transform(X[te])), labels=[0, 1]))
        row = clf.cv_results_.query("l1_ratio == @ratio and C == @C").iloc[0]
        assert row["log_loss"] == pytest.approx(np.mean(losses), rel=1e-3)
    best = clf.cv_results_.sort_values(["log_loss", "C"]).iloc[0]
    assert (clf.C_, clf.l1_ratio_) == (best["C"], best["l1_ratio"])


def test_penalised_logistic_is_the_default_for_wide_tables():
    assert default_model_name(77, 1015) == "penalised_logistic"
    assert default_model_name(300, 20) == "logistic"
    assert isinstance(make_classifier("penalised_logistic"), PenalisedLogisticCV)
    assert default_param_grid("penalised_logistic") == {}


def test_penalised_logistic_bad_grid():
    X, y = _table()
    with pytest.raises(InputError, match="Cs must be numbers > 0"):
        PenalisedLogisticCV(Cs=[0.0]).fit(X, y)
    with pytest.raises(InputError, match="l1_ratios"):
        PenalisedLogisticCV(l1_ratios=[2.0]).fit(X, y)


def test_grouped_folds_refuse_a_class_of_one_patient():
    y = np.array([0, 0, 0, 0, 1, 1])
    with pytest.raises(InputError, match="at least 2 patients of every class"):
        grouped_folds(y, np.array([1, 2, 3, 4, 5, 5]), 3, 0)


# --- post-hoc calibration ------------------------------------------------------------


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_posthoc_calibration_equals_sklearn_on_grouped_folds(method):
    X, y = _table(n=80, p=5, seed=2)
    g = np.repeat(np.arange(40), 2)
    clf = PostHocCalibrated(SVC(C=1.0), method=method, cv=3, random_state=0).fit(X, y, groups=g)
    for tr, te in clf.folds_:
        assert set(g[tr]).isdisjoint(g[te])
    ref = CalibratedClassifierCV(SVC(C=1.0), method=method, cv=clf.folds_).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-12)


def test_build_pipeline_calibration_option():
    X, y = _table()
    X[:, 0] += 1.5 * y
    pipe = build_pipeline("svm", calibration="sigmoid", random_state=0)
    assert isinstance(pipe.named_steps["model"], PostHocCalibrated)
    res = nested_cv(pipe, X, y, groups=np.arange(60), outer_splits=3, n_bootstrap=20)
    assert res.estimate("roc_auc") > 0.7
    with pytest.raises(InputError, match="calibration must be one of"):
        build_pipeline("svm", calibration="platt")


# --- rad-score fallback --------------------------------------------------------------


def _weak(seed=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 12))
    y = (0.4 * X[:, 3] + rng.normal(size=40) > 0).astype(int)
    return X, y


def test_radscore_falls_back_to_the_strongest_feature():
    X, y = _weak()
    rs = RadScore(C=0.01).fit(X, y)  # this penalty keeps nothing
    assert rs.no_signal_
    assert rs.n_selected_ == 1
    auc = np.array([roc_auc_score(y, X[:, j]) for j in range(X.shape[1])])
    j = int(np.argmax(np.abs(auc - 0.5)))
    assert np.flatnonzero(rs.coef_).tolist() == [j]
    assert rs.fallback_ == f"strongest feature (x{j})"
    # the fallback is an L2 logistic model (C = 1) on that z-scored feature
    z = (X[:, [j]] - X[:, j].mean()) / X[:, j].std()
    ref = LogisticRegression(C=1.0, max_iter=5000).fit(z, y)
    np.testing.assert_allclose(rs.predict_proba(X)[:, 1], ref.predict_proba(z)[:, 1], atol=1e-6)
    assert np.ptp(rs.decision_function(X)) > 0  # never a constant predictor


def test_radscore_fallback_none_marks_no_signal():
    X, y = _weak()
    rs = RadScore(C=0.01, fallback="none").fit(X, y)
    assert rs.no_signal_
    assert rs.fallback_ is None
    assert rs.n_selected_ == 0
    kept = RadScore(C=10.0).fit(X, y)
    assert not kept.no_signal_
    assert kept.fallback_ is None
    assert kept.n_selected_ >= 1
    with pytest.raises(InputError, match="fallback must be"):
        RadScore(fallback="zero").fit(X, y)


def test_penalised_logistic_is_reproducible_with_a_seed():
    """liblinear shuffles with its random_state: the seed must reach it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 200))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    a = PenalisedLogisticCV(random_state=3).fit(X, y).predict_proba(X)
    b = PenalisedLogisticCV(random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
