"""Round-10 findings on intervals and verdicts: vote-share probabilities, a balanced
accuracy every replicate agrees on, and the Brier verdict against the prevalence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from radiomix.evaluate.bootstrap import bootstrap_binary_metrics
from radiomix.report.words import brier_words


def _row(table, metric: str) -> dict:
    return table.set_index("metric").loc[metric].to_dict()


def test_calibration_of_vote_shares_is_not_estimable() -> None:
    """kNN probabilities of exactly 0 or 1 have no logit: the calibration slope and
    intercept would be whatever the clip makes them, so they are not reported."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    votes = np.clip(np.round((y + rng.normal(0, 0.6, 60)) * 5) / 5, 0, 1)  # k = 5 votes
    assert ((votes == 0) | (votes == 1)).any()
    table = bootstrap_binary_metrics(y, votes, groups=np.arange(60), n_bootstrap=200)
    for name in ("calibration_slope", "calibration_intercept"):
        row = _row(table, name)
        assert np.isnan(row["estimate"])
        assert "exactly 0 or 1" in row["reason"]
    # strictly inside (0, 1): estimable, and equal to an independent logistic fit
    inner = np.clip(votes, 0.05, 0.95)
    slope = _row(bootstrap_binary_metrics(y, inner, groups=np.arange(60), n_bootstrap=200),
                 "calibration_slope")
    x = np.log(inner / (1 - inner))
    from scipy.optimize import minimize

    def nll(t):
        z = t[0] + t[1] * x
        return np.sum(np.logaddexp(0, z) - y * z)

    fit = minimize(nll, [0.0, 1.0], method="BFGS", options={"gtol": 1e-10})
    assert slope["estimate"] == pytest.approx(fit.x[1], rel=1e-6)


def test_balanced_accuracy_that_never_varies_gets_an_exact_interval() -> None:
    """A model that calls every patient negative: sensitivity 0, specificity 1, balanced
    accuracy 0.5 in every replicate. The interval is not the point 0.5–0.5 but the mean of
    the Clopper–Pearson bounds at 97.5 % each."""
    y = np.array([1] * 6 + [0] * 30)
    p = np.full(y.size, 0.2)
    p[::7] = 0.3  # still below the threshold: every call negative
    row = _row(bootstrap_binary_metrics(y, p, groups=np.arange(y.size), n_bootstrap=300),
               "balanced_accuracy")
    assert row["estimate"] == 0.5
    sens_hi = stats.beta.ppf(1 - 0.0125, 1, 6)  # 0 of 6
    spec_lo = stats.beta.ppf(0.0125, 30, 1)  # 30 of 30
    assert row["ci_low"] == pytest.approx((0.0 + spec_lo) / 2, abs=1e-9)
    assert row["ci_high"] == pytest.approx((sens_hi + 1.0) / 2, abs=1e-9)
    assert row["ci_high"] - row["ci_low"] > 0.3
    assert "Clopper" in row["interval_method"]


@pytest.mark.parametrize(
    ("difference", "verdict"),
    [
        ({"estimate": -0.00008, "ci_low": -0.05, "ci_high": 0.06}, "not distinguishable"),
        ({"estimate": 0.0001, "ci_low": -0.002, "ci_high": 0.003}, "not distinguishable"),
        ({"estimate": -0.10, "ci_low": -0.14, "ci_high": -0.06}, "better"),
        ({"estimate": 0.08, "ci_low": 0.03, "ci_high": 0.13}, "worse"),
        (None, "no paired difference"),
    ],
)
def test_brier_verdict_needs_the_interval_of_the_difference_on_one_side(difference,
                                                                       verdict) -> None:
    """0.224 against 0.224 is no evidence: a verdict only when the interval of the paired
    difference (arm minus prevalence reference) excludes 0."""
    assert brier_words(difference).startswith(verdict)


def test_balanced_accuracy_carries_the_exact_interval_of_a_constant_half() -> None:
    """Sensitivity 0 of 9 in every replicate, specificity varying: the interval of the
    balanced accuracy was 0.488 [0.464, 0.505], as if sensitivity were known exactly."""
    rng = np.random.default_rng(4)
    y = np.array([1] * 9 + [0] * 40)
    p = np.full(y.size, 0.2)
    p[9:][rng.uniform(size=40) < 0.2] = 0.7  # a few false positives; no true positive
    table = bootstrap_binary_metrics(y, p, groups=np.arange(y.size), n_bootstrap=400)
    ba, spec = _row(table, "balanced_accuracy"), _row(table, "specificity")
    sens_hi = stats.beta.ppf(1 - 0.0125, 1, 9)  # 0 of 9 at 97.5 %
    assert ba["estimate"] == pytest.approx(spec["estimate"] / 2)
    assert ba["ci_high"] >= (sens_hi + spec["estimate"]) / 2
    assert ba["ci_low"] <= spec["ci_low"] / 2 + 1e-12
    assert "sensitivity" in ba["interval_method"]


def test_exact_intervals_of_cross_validated_scores_are_widened_like_the_others() -> None:
    """The glossary says every cross-validated interval is widened by √2 around its
    estimate; the exact (Clopper–Pearson) intervals that stand in for a bootstrap that
    cannot vary are no exception (a perfect AUC, a 0 % sensitivity, a balanced accuracy
    whose halves never vary)."""
    y = np.array([1] * 8 + [0] * 20)
    p = np.where(y == 1, 0.9, 0.1)  # perfect separation
    plain = bootstrap_binary_metrics(y, p, groups=np.arange(y.size), n_bootstrap=300)
    cv = bootstrap_binary_metrics(y, p, groups=np.arange(y.size), n_bootstrap=300,
                                  cross_validated=True)
    cp_lo = stats.beta.ppf(0.025, 8, 1)  # 8 of 8: the smaller class
    assert _row(plain, "roc_auc")["ci_low"] == pytest.approx(cp_lo, abs=1e-9)
    auc = _row(cv, "roc_auc")
    assert auc["ci_low"] == pytest.approx(1 - np.sqrt(2) * (1 - cp_lo), abs=1e-9)
    assert auc["ci_high"] == 1.0
    assert "widened" in auc["interval_method"]
    spec_lo = stats.beta.ppf(0.025, 20, 1)  # specificity 20 of 20
    assert _row(cv, "specificity")["ci_low"] == pytest.approx(
        1 - np.sqrt(2) * (1 - spec_lo), abs=1e-9)
    # a perfect balanced accuracy takes the separation bound of the smaller class
    assert _row(cv, "balanced_accuracy")["ci_low"] == pytest.approx(auc["ci_low"], abs=1e-9)
    # a balanced accuracy of 0.5 whose halves never vary (every call negative): the mean of
    # the two halves' 97.5 % exact bounds, each widened around its estimate
    y = np.array([1] * 6 + [0] * 30)
    ba = _row(bootstrap_binary_metrics(y, np.full(y.size, 0.2), groups=np.arange(y.size),
                                       n_bootstrap=300, cross_validated=True),
              "balanced_accuracy")
    sens_hi = np.sqrt(2) * stats.beta.ppf(1 - 0.0125, 1, 6)  # 0 of 6, widened from 0
    spec_lo = 1 - np.sqrt(2) * (1 - stats.beta.ppf(0.0125, 30, 1))  # 30 of 30
    assert ba["ci_low"] == pytest.approx((0.0 + spec_lo) / 2, abs=1e-9)
    assert ba["ci_high"] == pytest.approx((min(sens_hi, 1.0) + 1.0) / 2, abs=1e-9)
    assert "widened" in ba["interval_method"]


def test_exact_c_index_bound_is_widened_under_cross_validation() -> None:
    from radiomix.evaluate.survival import _survival_metrics

    t = np.arange(1.0, 31.0)
    e = (np.arange(30) % 2 == 0).astype(int)
    risk = -t[None, :]  # earlier event, higher risk: every comparable pair concordant

    def c_row(cv: bool) -> dict:
        table = _survival_metrics(t, e, np.arange(30), risk, horizons=[], n_bootstrap=200,
                                  min_at_risk=10, random_state=0, cross_validated=cv,
                                  on_refused_horizon="record")
        return _row(table, "c_index")

    plain, cv = c_row(False), c_row(True)
    assert plain["estimate"] == cv["estimate"] == 1.0
    assert plain["ci_high"] == cv["ci_high"] == 1.0
    assert 0.0 < plain["ci_low"] < 1.0
    assert cv["ci_low"] == pytest.approx(1 - np.sqrt(2) * (1 - plain["ci_low"]), abs=1e-9)
    assert "widened" in cv["interval_method"]
    assert "widened" not in plain["interval_method"]
