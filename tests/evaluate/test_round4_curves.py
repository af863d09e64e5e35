"""Round-4 honesty of the curves: of repeated cross-validation every curve is the mean of the
repeats' curves (the predictor whose metrics are reported, the mean of the repeats'
metrics), never a curve of the per-row average of the repeats' predictions; the
Kaplan-Meier split is recorded for every repeat. Oracles: numpy formulas and lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test

from radiomix.evaluate import survival as S
from radiomix.evaluate.curves import calibration_curve, decision_curves
from radiomix.evaluate.survival import SurvivalEvaluation, event_prob_column, survival_calibration


def _repeats(seed: int = 3, n: int = 40, r: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.r_[np.ones(n // 3, int), np.zeros(n - n // 3, int)])
    base = 0.3 + 0.3 * y
    P = np.clip(base[None, :] + rng.normal(scale=0.2, size=(r, n)), 0.01, 0.99)
    return y, P


def _net_benefit(y: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    n = y.size
    tp = ((p[None, :] >= t[:, None]) & (y == 1)).sum(1) / n
    fp = ((p[None, :] >= t[:, None]) & (y == 0)).sum(1) / n
    return tp - fp * t / (1 - t)


def test_decision_curve_is_the_mean_of_the_repeats_net_benefit() -> None:
    y, P = _repeats()
    t = np.arange(5, 80, 5) / 100
    got = np.asarray(decision_curves(y, {"m": P}, thresholds=t)["net_benefit"]["m"])
    expected = np.mean([_net_benefit(y, p, t) for p in P], axis=0)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # the averaged predictor is another curve (the check above can tell them apart)
    assert np.abs(_net_benefit(y, P.mean(axis=0), t) - expected).max() > 1e-3


def test_calibration_curve_is_the_mean_of_the_repeats_curves() -> None:
    y, P = _repeats(seed=5, n=31, r=3)
    got = calibration_curve(y, P, n_bins=4)
    pred, obs = [], []
    for p in P:
        bins = np.array_split(np.argsort(p, kind="stable"), 4)
        pred.append([p[b].mean() for b in bins])
        obs.append([y[b].mean() for b in bins])
    np.testing.assert_allclose(got["predicted"], np.mean(pred, axis=0), atol=1e-12)
    np.testing.assert_allclose(got["observed"], np.mean(obs, axis=0), atol=1e-12)
    assert got["n"] == [8, 8, 8, 7]
    assert got["n_repeats"] == 3
    assert all(lo <= o <= hi for lo, o, hi in zip(got["lower"], got["observed"], got["upper"],
                                                 strict=True))


def _survival_evaluation(seed: int = 11, n: int = 60, r: int = 5) -> SurvivalEvaluation:
    """Out-of-fold predictions of ``r`` repeats: the real class, filled with data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    time = rng.exponential(2.0 * np.exp(-0.6 * x))
    event = rng.random(n) < 0.75
    frames = []
    for rep in range(r):
        risk = x + rng.normal(scale=0.8, size=n)
        cut = np.repeat(rng.normal(scale=0.2, size=3), [20, 20, n - 40])
        prob = 1 - np.exp(-np.exp(risk) * 0.5)
        frames.append(pd.DataFrame({"row": np.arange(n), "patient_id": np.arange(n),
                                    "time": time, "event": event, "repeat": rep,
                                    "fold": np.repeat([0, 1, 2], [20, 20, n - 40]),
                                    "risk": risk, "risk_cutoff": cut,
                                    event_prob_column(1.0): prob}))
    return SurvivalEvaluation("nested_cv", pd.DataFrame(), pd.concat(frames, ignore_index=True),
                              {"horizons": [1.0], "min_at_risk": 5})


def test_logrank_of_every_repeat_equals_lifelines_and_the_median_one_is_drawn() -> None:
    ev = _survival_evaluation()
    table = ev.logrank_by_repeat()
    assert table["repeat"].tolist() == [0, 1, 2, 3, 4]
    pr = ev.predictions
    for rep, p in zip(table["repeat"], table["logrank_p"], strict=True):
        g = pr[pr["repeat"] == rep]
        hi = (g["risk"] > g["risk_cutoff"]).to_numpy()
        t, e = g["time"].to_numpy(), g["event"].to_numpy()
        assert p == pytest.approx(logrank_test(t[hi], t[~hi], e[hi], e[~hi]).p_value,
                                  rel=1e-10)
    drawn = S.median_logrank_repeat(table)
    assert table.set_index("repeat")["logrank_p"][drawn] == pytest.approx(
        float(np.median(table["logrank_p"])))


def test_median_repeat_of_an_even_count_and_of_no_split() -> None:
    t = pd.DataFrame({"repeat": [0, 1, 2, 3], "logrank_p": [0.5, 0.01, np.nan, 0.2]})
    assert S.median_logrank_repeat(t) == 3  # of 0.01, 0.2, 0.5: the median
    t = pd.DataFrame({"repeat": [0, 1, 2, 3], "logrank_p": [0.5, 0.01, 0.3, 0.2]})
    assert S.median_logrank_repeat(t) == 2  # higher middle of 0.01, 0.2, 0.3, 0.5
    t = pd.DataFrame({"repeat": [0, 1], "logrank_p": [0.936, 0.277]})
    assert S.median_logrank_repeat(t) == 0  # of two, never the better split
    assert S.median_logrank_repeat(pd.DataFrame({"repeat": [0], "logrank_p": [np.nan]})) is None


def test_survival_calibration_is_the_mean_of_the_repeats_tables() -> None:
    ev = _survival_evaluation(seed=4)
    got = ev.mean_calibration(1.0)
    pr = ev.predictions
    tables = [survival_calibration(g["time"], g["event"], g[event_prob_column(1.0)], 1.0,
                                   min_at_risk=5) for _, g in pr.groupby("repeat")]
    for col in ("predicted", "observed", "observed_ci_low", "observed_ci_high"):
        np.testing.assert_allclose(got[col], np.mean([t[col] for t in tables], axis=0),
                                   atol=1e-12)
    assert int(got["n_repeats"].iloc[0]) == 5
