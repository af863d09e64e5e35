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
    ("brier", "reference", "verdict"),
    [
        ({"estimate": 0.22412, "ci_low": 0.17, "ci_high": 0.28}, 0.22420, "not distinguishable"),
        ({"estimate": 0.057, "ci_low": 0.02, "ci_high": 0.09}, 0.0569, "not distinguishable"),
        ({"estimate": 0.12, "ci_low": 0.08, "ci_high": 0.16}, 0.22, "better"),
        ({"estimate": 0.30, "ci_low": 0.25, "ci_high": 0.35}, 0.22, "worse"),
    ],
)
def test_brier_verdict_needs_the_interval_on_one_side(brier, reference, verdict) -> None:
    """0.224 against 0.224 is no evidence: a verdict only when the interval excludes the
    prevalence reference."""
    assert brier_words(brier, reference).startswith(verdict)


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
