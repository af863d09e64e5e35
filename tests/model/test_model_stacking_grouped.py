"""Stacking with patient-grouped internal folds, against scikit-learn's StackingClassifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from radiomix.errors import InputError
from radiomix.evaluate.validate import fit_tuned
from radiomix.model.classifiers import (
    GroupedStackingClassifier,
    build_pipeline,
    make_classifier,
)


def _slices(n_patients=12, n_slices=6, n_classes=2, seed=0):
    """Slice-level rows: every patient's slices share a patient effect and the label."""
    rng = np.random.default_rng(seed)
    label = np.arange(n_patients) % n_classes
    rng.shuffle(label)
    centre = rng.normal(size=(n_patients, 3)) + 0.8 * label[:, None]
    patients = np.repeat(np.arange(n_patients), n_slices)
    X = centre[patients] + 0.1 * rng.normal(size=(patients.size, 3))
    return X, label[patients], np.asarray([f"P{p:02d}" for p in patients])


def _base():
    return [
        ("logistic", LogisticRegression(C=1.0)),
        ("knn", KNeighborsClassifier(n_neighbors=5)),
        ("nb", GaussianNB()),
    ]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_internal_folds_keep_patients_whole_and_match_sklearn_stacking(n_classes):
    X, y, g = _slices(n_patients=15, n_classes=n_classes)
    clf = GroupedStackingClassifier(
        estimators=_base(), final_estimator=LogisticRegression(C=0.5), cv=3, random_state=4
    ).fit(X, y, groups=g)
    assert clf.grouped_
    assert len(clf.folds_) == 3
    covered = np.concatenate([te for _, te in clf.folds_])
    assert np.array_equal(np.sort(covered), np.arange(y.size))
    for tr, te in clf.folds_:
        assert set(g[tr]).isdisjoint(g[te])
    # the folds are the documented splitter's
    ref_folds = StratifiedGroupKFold(3, shuffle=True, random_state=4).split(X, y, g)
    for (tr, te), (rtr, rte) in zip(clf.folds_, ref_folds, strict=True):
        assert np.array_equal(tr, rtr)
        assert np.array_equal(te, rte)
    # scikit-learn's own stacking with the same folds is the same model
    ref = StackingClassifier(_base(), final_estimator=LogisticRegression(C=0.5), cv=clf.folds_)
    ref.fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(clf.transform(X), ref.transform(X), atol=1e-12)
    assert np.array_equal(clf.predict(X), ref.predict(X))


def test_meta_model_by_hand_with_the_same_folds():
    X, y, g = _slices()
    clf = GroupedStackingClassifier(
        estimators=_base(), final_estimator=LogisticRegression(), cv=4, random_state=1
    ).fit(X, y, groups=g)
    oof = np.zeros((y.size, 3))
    for tr, te in clf.folds_:
        for b, (_, est) in enumerate(_base()):
            oof[te, b] = est.fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
    meta = LogisticRegression().fit(oof, y)
    np.testing.assert_allclose(clf.final_estimator_.coef_, meta.coef_, rtol=1e-6)
    full = np.column_stack([est.fit(X, y).predict_proba(X)[:, 1] for _, est in _base()])
    np.testing.assert_allclose(clf.predict_proba(X), meta.predict_proba(full), atol=1e-10)


def test_without_groups_rows_are_taken_as_patients():
    X, y, _ = _slices()
    clf = GroupedStackingClassifier(estimators=_base(), cv=3, random_state=2).fit(X, y)
    assert not clf.grouped_
    ref = StratifiedKFold(3, shuffle=True, random_state=2).split(X, y)
    for (tr, _), (rtr, _) in zip(clf.folds_, ref, strict=True):
        assert np.array_equal(tr, rtr)


def test_row_folds_leak_into_the_meta_model_and_grouped_folds_do_not():
    """Pure-noise patient labels, near-identical slices: a 1-NN base predicts the label of
    another slice of the same patient under row folds (leak), chance under grouped folds."""
    rng = np.random.default_rng(3)
    n_patients, n_slices = 40, 5
    label = rng.permutation(np.arange(n_patients) % 2)
    patients = np.repeat(np.arange(n_patients), n_slices)
    X = rng.normal(size=(n_patients, 4))[patients] + 0.01 * rng.normal(size=(patients.size, 4))
    y = label[patients]
    base = [("knn", KNeighborsClassifier(n_neighbors=1))]
    kw = {"estimators": base, "final_estimator": LogisticRegression(), "cv": 5}
    rows = GroupedStackingClassifier(**kw, random_state=0).fit(X, y)
    grouped = GroupedStackingClassifier(**kw, random_state=0).fit(X, y, groups=patients)
    coef_rows = float(rows.final_estimator_.coef_[0, 0])
    coef_grouped = float(grouped.final_estimator_.coef_[0, 0])
    assert coef_rows > 3.0  # trusts the leaked out-of-fold predictions
    assert abs(coef_grouped) < 1.0


def test_pipeline_and_fit_tuned_pass_patient_ids_to_the_stacking():
    X, y, g = _slices(n_patients=18)
    small = GroupedStackingClassifier(
        estimators=_base(), final_estimator=LogisticRegression(), cv=3, random_state=0
    )
    pipe = build_pipeline(small)
    search = fit_tuned(pipe, X, y, groups=g, param_grid={"model__final_estimator__C": [0.1, 1.0]})
    model = search.best_estimator_.named_steps["model"]
    assert model.grouped_
    for tr, te in model.folds_:
        assert set(g[tr]).isdisjoint(g[te])
    assert isinstance(make_classifier("stacking", random_state=0), GroupedStackingClassifier)


def test_stacking_errors():
    X, y, g = _slices()
    with pytest.raises(InputError, match="cv must be an int >= 2"):
        GroupedStackingClassifier(estimators=_base(), cv=1).fit(X, y, groups=g)
    # more folds than patients per class: clipped to what the smaller class holds
    clipped = GroupedStackingClassifier(estimators=_base(), cv=13).fit(X, y, groups=g)
    per_class = pd.DataFrame({"g": g, "y": y}).drop_duplicates("g")["y"].value_counts().min()
    assert clipped.n_splits_ == per_class
    with pytest.raises(InputError, match="no predict_proba"):
        GroupedStackingClassifier(estimators=[("ridge", RidgeClassifier())]).fit(X, y)
    with pytest.raises(InputError, match="non-empty list"):
        GroupedStackingClassifier(estimators=[]).fit(X, y)
    with pytest.raises(InputError, match="at least 2 classes"):
        GroupedStackingClassifier(estimators=_base()).fit(X, np.zeros_like(y))
    # a class held by one patient only cannot be in every internal training fold
    # (then no meta-model can be learned: the base probabilities are averaged, and said so)
    y_rare = np.where(g == "P00", 2, y)
    rare = GroupedStackingClassifier(estimators=_base(), cv=3).fit(X, y_rare, groups=g)
    assert rare.final_estimator_ is None
    assert rare.fallback_
    expected = np.mean([e.predict_proba(X) for e in rare.estimators_], axis=0)
    np.testing.assert_allclose(rare.predict_proba(X), expected)
