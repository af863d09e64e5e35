"""Patient ids reach models that ask for them, also when a grid is tuned around a bare model.

``GridSearchCV.fit(X, y, groups=...)`` keeps ``groups`` for its own splitter; a bare model
whose ``fit`` takes ``groups`` (the nomograms' cross-fitting) must still receive them, or its
internal folds would split patients with several rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomix.evaluate import fit_tuned
from radiomix.evaluate.survival import fit_survival_tuned
from radiomix.evaluate.validate import groups_fit_params, route_groups
from radiomix.model.nomogram import CoxNomogram, Nomogram


def _rows_per_patient(seed: int = 0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(40), 3)
    X = pd.DataFrame(
        {
            "ct.original.stat.a": rng.normal(size=g.size),
            "ct.original.stat.b": rng.normal(size=g.size),
            "age": rng.normal(size=g.size),
        }
    )
    return rng, g, X


def test_bare_nomogram_tuned_keeps_patient_grouped_crossfitting():
    rng, g, X = _rows_per_patient()
    y = (rng.uniform(size=40) < 0.5).astype(int)[g]
    model = fit_tuned(
        Nomogram(radiomic_columns="auto"), X, y, groups=g, param_grid={"radscore_C": [0.3, 1.0]}
    )
    nomogram = model.best_estimator_.named_steps["model"]
    assert nomogram.crossfit_grouped_
    assert set(model.best_params_) == {"model__radscore_C"}


def test_bare_cox_nomogram_tuned_keeps_patient_grouped_crossfitting():
    rng, g, X = _rows_per_patient(1)
    t = rng.exponential(5.0, 40)[g]
    e = (rng.uniform(size=40) < 0.6).astype(int)[g]
    model = fit_survival_tuned(
        CoxNomogram(radiomic_columns="auto"),
        X,
        t,
        e,
        groups=g,
        param_grid={"radscore_penalizer": [0.1, 1.0]},
    )
    assert model.best_estimator_.named_steps["model"].crossfit_grouped_


def test_route_groups_leaves_other_estimators_alone():
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression()
    assert route_groups(est, {"C": [1.0]}) == (est, {"C": [1.0]})
    wrapped, grid = route_groups(Nomogram(), {"C": [1.0]})
    assert grid == {"model__C": [1.0]}
    assert list(groups_fit_params(wrapped, np.arange(2))) == ["model__groups"]
