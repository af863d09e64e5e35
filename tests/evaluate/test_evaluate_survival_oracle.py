"""C-index and time-dependent AUC against scikit-survival and lifelines on WHAS500.

WHAS500 (Worcester Heart Attack Study, 500 patients, 215 deaths) ships with
scikit-survival; the risk score is a Cox model fitted on its 14 covariates.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index as lifelines_cindex
from sksurv.datasets import load_whas500
from sksurv.metrics import concordance_index_censored, cumulative_dynamic_auc

from radiomix.errors import InputError
from radiomix.evaluate.survival import (
    concordance_index,
    horizon_refusal,
    time_dependent_auc,
)
from radiomix.model.survival import CoxPH, survival_target

HORIZONS = [365.0, 730.0, 1095.0, 1460.0]  # days: 1 to 4 years


@pytest.fixture(scope="module")
def whas500():
    X, y = load_whas500()
    X = X.apply(lambda c: c.astype(float))
    t, e = y["lenfol"].astype(float), y["fstat"].astype(bool)
    risk = CoxPH().fit(X, survival_target(t, e)).predict(X)
    return y, t, e, risk


@pytest.mark.parametrize("decimals", [None, 0])
def test_c_index_equals_sksurv_and_lifelines(whas500, decimals):
    _, t, e, risk = whas500
    r = risk if decimals is None else np.round(risk, decimals)  # rounding makes tied risks
    got = concordance_index(t, r, e)
    assert got == pytest.approx(concordance_index_censored(e, t, r)[0], abs=1e-12)
    assert got == pytest.approx(lifelines_cindex(t, -r, e), abs=1e-12)
    assert 0.7 < got < 0.85


def test_td_auc_equals_sksurv_when_no_censoring_ties_an_event(whas500):
    """Uno's estimator: with no censoring at an event time, G(T-) = G(T) and the two agree."""
    y, t, e, risk = whas500
    t2 = np.where(e, t, t + 0.5)  # move censorings half a day off the event days
    y2 = y.copy()
    y2["lenfol"] = t2
    assert np.intersect1d(t2[e], t2[~e]).size == 0
    got = time_dependent_auc(t2, risk, e, HORIZONS)
    ref, _ = cumulative_dynamic_auc(y2, y2, risk, HORIZONS)
    np.testing.assert_allclose(got["auc"].to_numpy(float), ref, rtol=0, atol=1e-12)
    assert got["n_at_risk"].tolist() == [int(np.sum(t2 >= h)) for h in HORIZONS]


def test_td_auc_on_raw_whas500_differs_from_sksurv_only_through_tie_handling(whas500):
    """13 days hold both a death and a censoring: we weight a case by 1/G(T-) (Uno 2007),
    scikit-survival by 1/G(T); the difference stays tiny."""
    y, t, e, risk = whas500
    assert np.intersect1d(t[e], t[~e]).size == 13
    got = time_dependent_auc(t, risk, e, HORIZONS)["auc"].to_numpy(float)
    ref, _ = cumulative_dynamic_auc(y, y, risk, HORIZONS)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert got[0] == pytest.approx(ref[0], abs=1e-12)  # no such tie before one year


def test_horizon_refusal_reasons(whas500):
    _, t, e, risk = whas500
    assert horizon_refusal(t, e, 365.0) is None
    late = float(np.sort(t)[-5])  # only 5 patients followed that long
    reason = horizon_refusal(t, e, late)
    assert reason is not None
    assert "only 5 patient(s) still at risk" in reason
    with pytest.raises(InputError, match="only 5 patient"):
        time_dependent_auc(t, risk, e, [late])
    no_case = horizon_refusal(t, e, float(t.min()) / 2)
    assert no_case is not None
    assert "0 case(s)" in no_case
