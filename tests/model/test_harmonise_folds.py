"""ComBat inside patient-grouped folds: the centre effect goes, the biology stays, no leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict, cross_validate
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import radiomix.model.harmonise as harmonise
from radiomix.model.harmonise import ComBatHarmoniser

N_FEATURES = 20


def two_centre_table(seed: int = 0, n: int = 240) -> tuple[pd.DataFrame, np.ndarray]:
    """Two centres with a planted additive + multiplicative centre shift on every feature,
    and a biological label (balanced in both centres) that shifts features 0-4 by 1 SD."""
    rng = np.random.default_rng(seed)
    centre = np.repeat(["A", "B"], n // 2)
    label = np.tile([0, 1], n // 2)
    base = rng.normal(size=(n, N_FEATURES))
    base[:, :5] += label[:, None] * 1.0
    add = rng.uniform(1.0, 3.0, N_FEATURES)  # centre B: shift of 1-3 SD
    mult = rng.uniform(1.5, 2.5, N_FEATURES)  # ... and 1.5-2.5 times the spread
    b = centre == "B"
    base[b] = base[b] * mult + add
    cols = [f"ct.original.stat.f{i:02d}" for i in range(N_FEATURES)]
    table = pd.DataFrame(base, columns=cols)
    table.insert(0, "centre", centre)
    table.index = [f"P{i:03d}" for i in range(n)]
    return table, label


def _oof_auc(pipe: Pipeline, table: pd.DataFrame, y: np.ndarray) -> float:
    groups = table.index.to_numpy()  # one row per patient
    proba = cross_val_predict(
        pipe, table, y, groups=groups, cv=GroupKFold(n_splits=5), method="predict_proba"
    )[:, 1]
    return float(roc_auc_score(y, proba))


def _centre_pipe(model, combat: bool) -> Pipeline:
    steps = [("combat", ComBatHarmoniser("centre"))] if combat else [("drop", _DropCentre())]
    return Pipeline([*steps, ("scale", StandardScaler()), ("model", model)])


class _DropCentre(StandardScaler):
    """Baseline without harmonisation: only removes the centre column."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.drop(columns=["centre"])


@pytest.mark.parametrize("model", [LogisticRegression(max_iter=1000), GaussianNB()])
def test_centre_no_longer_predictable(model):
    """Out-of-fold AUC for the centre: about 1 without ComBat, about 0.5 with it in the folds.

    240 patients, 120 per centre: the null AUC has a standard deviation of about 0.04, so
    0.5 +- 0.12 is a 3-SD band. GaussianNB also sees the multiplicative (variance) shift.
    """
    table, _ = two_centre_table()
    centre = (table.centre == "B").to_numpy().astype(int)
    assert _oof_auc(_centre_pipe(clone(model), combat=False), table, centre) > 0.95
    auc = _oof_auc(_centre_pipe(clone(model), combat=True), table, centre)
    assert abs(auc - 0.5) < 0.12


def test_biological_signal_kept():
    """The planted label stays predictable after in-fold ComBat (AUC about 0.85-0.9).

    Bayes AUC for five features shifted by 1 SD is Phi(sqrt(5)/sqrt(2)) = 0.94; the fitted
    model reaches less. Harmonised, the signal must remain above 0.8 and at least as strong
    as without harmonisation (where the centre's scale differences add noise).
    """
    table, label = two_centre_table(seed=1)
    pipe = Pipeline(
        [
            ("combat", ComBatHarmoniser("centre")),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    harmonised = _oof_auc(pipe, table, label)
    raw = _oof_auc(_centre_pipe(LogisticRegression(max_iter=1000), combat=False), table, label)
    assert harmonised > 0.8
    assert harmonised >= raw - 0.02


def test_test_fold_rows_do_not_reach_the_fit():
    """Changing only the test rows of fold 0 leaves fold 0's fitted estimates unchanged.

    Evaluation runs through sklearn's cross_validate with patient groups, as the engine's
    folds do; the test rows of fold 0 are replaced by wild values (and another centre mix).
    """
    table, label = two_centre_table(seed=2)
    groups = table.index.to_numpy()
    cv = list(GroupKFold(n_splits=4).split(table, label, groups))
    train0, test0 = cv[0]
    changed = table.copy()
    rng = np.random.default_rng(99)
    feats = [c for c in table.columns if c != "centre"]
    changed.iloc[test0, changed.columns.get_indexer(feats)] = rng.normal(
        50.0, 30.0, (len(test0), len(feats))
    )
    pipe = Pipeline(
        [("combat", ComBatHarmoniser("centre")), ("model", LogisticRegression(max_iter=500))]
    )
    runs = [
        cross_validate(pipe, t, label, groups=groups, cv=cv, return_estimator=True)
        for t in (table, changed)
    ]
    a, b = (r["estimator"][0].named_steps["combat"] for r in runs)
    for attr in ("grand_mean_", "var_pooled_", "gamma_star_", "delta_star_"):
        np.testing.assert_allclose(getattr(a, attr), getattr(b, attr), rtol=1e-12, atol=0)
    # the same holds for the direct fit on the training rows only
    direct = ComBatHarmoniser("centre").fit(table.iloc[train0])
    np.testing.assert_allclose(direct.gamma_star_, a.gamma_star_, rtol=1e-12, atol=0)
    # and the other folds, whose training rows include the changed rows, do change
    c, d = (r["estimator"][1].named_steps["combat"] for r in runs)
    assert not np.allclose(c.grand_mean_, d.grand_mean_)


def test_transform_uses_training_estimates_only():
    """Transforming one test row gives the same values as transforming it with others."""
    table, _ = two_centre_table(seed=3)
    train, test = table.iloc[:200], table.iloc[200:]
    combat = ComBatHarmoniser("centre").fit(train)
    together = combat.transform(test)
    alone = pd.concat([combat.transform(test.iloc[[i]]) for i in range(len(test))])
    np.testing.assert_allclose(alone.to_numpy(), together.to_numpy(), rtol=1e-12)


def test_no_whole_table_shortcut():
    """The module offers only the transformer: no function that harmonises all rows at once."""
    public = [n for n in dir(harmonise) if not n.startswith("_")]
    callables = {
        n
        for n in public
        if callable(getattr(harmonise, n))
        and getattr(getattr(harmonise, n), "__module__", "") == harmonise.__name__
    }
    assert callables == {"ComBatHarmoniser"}
    assert harmonise.__all__ == ["ComBatHarmoniser"]


def test_clone_and_params_roundtrip():
    """sklearn contract: parameters stored unchanged, clone rebuilds an unfitted copy."""
    est = ComBatHarmoniser("site", covariates=("age",), empirical_bayes=False)
    cl = clone(est)
    assert cl.get_params() == est.get_params()
    assert not hasattr(cl, "gamma_star_")


def test_output_columns_and_names():
    """Output: input columns less the batch column, same index; names reported."""
    table, _ = two_centre_table(seed=4, n=40)
    table["age"] = np.arange(40.0)
    combat = ComBatHarmoniser("centre", covariates=["age"]).fit(table)
    out = combat.transform(table)
    assert list(out.columns) == [c for c in table.columns if c != "centre"]
    assert list(combat.get_feature_names_out()) == list(out.columns)
    assert (out.index == table.index).all()
    np.testing.assert_array_equal(out["age"], table["age"])  # covariates pass through
    kept = ComBatHarmoniser("centre", drop_batch=False).fit(table).transform(table)
    assert "centre" in kept.columns
