"""Ties of the inner-CV C-index over a CoxNet penalty grid go to the weakest penalty.

Oracle: with one covariate every penalty below the data's alpha_max keeps it with the same
sign, so the risk ranks the patients identically and the inner C-indices are equal (exact
tie, checked); a penalty large enough to drop the covariate predicts a constant (C-index
0.5, never tied with the others). The rule is the logistic models' one
(:func:`radiomix.evaluate.validate.weakest_penalty_best`); scikit-learn's own gives a tie to
the first grid point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.evaluate.survival import fit_survival_tuned
from radiomix.model.survival import CoxNet


@pytest.fixture(scope="module")
def one_covariate():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame({"f0": rng.normal(size=n)})
    t = rng.exponential(np.exp(-1.0 * X["f0"].to_numpy()))
    e = (rng.uniform(size=n) < 0.8).astype(int)
    g = np.array([f"P{i:02d}" for i in range(n)])
    return X, t, e, g


@pytest.mark.parametrize("alphas", [[0.05, 0.01, 0.002], [0.01, 0.002, 0.05]])
def test_tied_c_index_goes_to_the_smallest_alpha(one_covariate, alphas):
    X, t, e, g = one_covariate
    search = fit_survival_tuned(CoxNet(min_selected=0), X, t, e, groups=g,
                                param_grid={"alpha": alphas}, inner_splits=3)
    scores = search.cv_results_["mean_test_score"]
    assert np.ptp(scores) < 1e-12  # the premise: an exact tie
    assert search.best_params_ == {"model__alpha": 0.002}
    assert search.best_estimator_.steps[-1][1].alpha_ == pytest.approx(0.002)


def test_a_better_score_still_beats_a_weaker_penalty(one_covariate):
    """The tie rule orders only tied points: the penalty that drops the covariate (constant
    risk, C-index 0.5) comes first in the grid and is not chosen, and among the tied ones
    the weakest wins over grid order."""
    X, t, e, g = one_covariate
    search = fit_survival_tuned(CoxNet(min_selected=0), X, t, e, groups=g,
                                param_grid={"alpha": [50.0, 0.05, 0.01]}, inner_splits=3)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == pytest.approx(0.5)
    assert scores[1] == pytest.approx(scores[2])
    assert scores[1] > 0.5
    assert search.best_params_ == {"model__alpha": 0.01}
