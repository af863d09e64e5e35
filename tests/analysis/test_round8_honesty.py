"""Eighth outside round: numbers the analysis reported that the data could not support."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.evaluate.survival import _survival_metrics, horizon_refusal


def test_a_time_dependent_auc_from_one_case_is_refused():
    """With one event before the horizon the td-AUC was 0.26 [0.10, 0.43], an interval
    wholly below chance; the rule of every AUC (two of each class) now applies."""
    rng = np.random.default_rng(0)
    t = np.concatenate([[0.01], rng.uniform(1, 5, 39)])
    e = (rng.uniform(size=40) < 0.6).astype(int)
    e[0] = 1
    g = np.array([f"P{i}" for i in range(40)])
    assert horizon_refusal(t, e, 0.02) == ("horizon 0.02: 1 case(s) (event by then), 39 "
                                           "control(s) (event-free after it); at least 2 of "
                                           "each are needed")
    met = _survival_metrics(t, e, g, rng.normal(size=(1, 40)), horizons=[0.02, 3.0],
                            n_bootstrap=200, min_at_risk=10, random_state=0,
                            cross_validated=False, on_refused_horizon="record")
    td = met[met["metric"] == "td_auc"].set_index("horizon")
    assert np.isnan(td.loc[0.02, "estimate"])
    assert td.loc[0.02, "refused"].startswith("horizon 0.02: 1 case(s)")
    assert np.isfinite(td.loc[3.0, "estimate"])
    t[1] = 0.015
    e[1] = 1
    assert horizon_refusal(t, e, 0.02) is None


@pytest.mark.parametrize("n", [19, 20, 300, 500])
def test_a_p_value_is_never_below_what_its_replicates_resolve(n):
    """With every replicate above 0 the p-value was 0.0, printed "p = 0.000"; n replicates
    cannot resolve less than 1 / (n + 1) (kept at 0 only where that resolution would exceed
    0.05, so that p < 0.05 stays exactly "the 95 % interval excludes 0")."""
    from radiomix.evaluate.bootstrap import interval_p_value, percentile_interval

    diff = np.linspace(0.1, 0.3, n)
    lo, _, _ = percentile_interval(diff)
    assert lo > 0
    p = interval_p_value(diff, 0.2)
    assert p == (pytest.approx(1 / (n + 1)) if n >= 20 else 0.0)
    assert p < 0.05


def test_a_log_rank_test_without_any_event_is_not_reported():
    """An external centre without events printed "Log-rank p = 1.000" (lifelines' value
    for nothing to compare) beside a hazard ratio correctly not estimable."""
    from lifelines.statistics import multivariate_logrank_test

    from radiomix.evaluate.survival import km_by_risk_group

    t = np.arange(1.0, 13.0)
    risk = np.linspace(0, 1, 12)
    none = km_by_risk_group(t, risk, np.zeros(12, int))
    assert np.isnan(none.logrank_p)
    assert np.isnan(none.logrank_statistic)
    e = np.array([1, 0] * 6)
    some = km_by_risk_group(t, risk, e)
    groups = (risk > np.median(risk)).astype(int)
    assert some.logrank_p == pytest.approx(multivariate_logrank_test(t, groups, e).p_value)
