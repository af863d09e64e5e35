"""Predictions past the end of follow-up (outside tester T, round 20).

With follow-up ending at 11 months, ``event_prob_1`` and ``event_prob_5`` were written for
every patient and equal on every row: the probability at the last event time, carried
forward to 1 and 5 years. A calibration group whose patients were all censored before the
horizon was left out of the figure without a word, so the model looked calibrated because
its worst group was missing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from radiomix.errors import InputError
from radiomix.evaluate.survival import survival_calibration, survival_cv
from radiomix.model.survival import CoxPH, baseline_at, breslow_baseline_survival


def test_the_breslow_baseline_ends_at_the_last_follow_up():
    time = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 7.0])
    event = np.array([1, 1, 0, 1, 0, 0])
    risk = np.zeros(6)
    s0 = breslow_baseline_survival(time, event, risk)
    # by hand (all risks 0): H(1) = 1/6, H(2) = 1/6 + 1/5, H(3) = H(2) + 1/3, flat to 7
    h = np.cumsum([1 / 6, 1 / 5, 1 / 3])
    assert s0.index.tolist() == [1.0, 2.0, 3.0, 7.0]
    np.testing.assert_allclose(s0.to_numpy(), np.exp(-np.r_[h, h[-1]]), rtol=1e-12)
    at = baseline_at(s0, [0.5, 3.0, 6.9, 7.0, 7.01, 50.0])
    np.testing.assert_allclose(at[:4], [1.0, math.exp(-h[2]), math.exp(-h[2]),
                                        math.exp(-h[2])], rtol=1e-12)
    assert np.isnan(at[4:]).all()


def test_without_events_the_baseline_is_one_up_to_the_follow_up():
    s0 = breslow_baseline_survival([2.0, 4.0], [0, 0], [0.0, 0.0])
    assert baseline_at(s0, [1.0, 4.0]).tolist() == [1.0, 1.0]
    assert np.isnan(baseline_at(s0, [4.5])[0])


def _cohort(n=90, follow_up=0.9, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(1.0 / np.exp(0.8 * x))
    c = rng.uniform(0.05, follow_up, size=n)
    return pd.DataFrame({"x": x}), np.minimum(t, c), (t <= c).astype(int)


def test_cross_validated_probabilities_past_the_training_follow_up_are_empty():
    X, time, event = _cohort()
    res = survival_cv(CoxPH(penalizer=0.1), X, time, event, groups=np.arange(len(time)),
                      horizons=[0.3, 1.0, 5.0], n_splits=3, n_bootstrap=20,
                      on_refused_horizon="record")
    pred = res.predictions
    assert pred["event_prob_0.3"].notna().all()
    assert pred["event_prob_1"].isna().all()
    assert pred["event_prob_5"].isna().all()
    # within the follow-up: the Breslow estimate of each fold's training rows, checked by
    # hand for one fold (S(t|x) = S0(t) ** exp(risk - mean training risk))
    fold = pred[pred["fold"] == 0]
    train = np.setdiff1d(np.arange(len(time)), fold["row"].to_numpy())
    model = CoxPH(penalizer=0.1).fit(X.iloc[train], np.c_[time[train], event[train]])
    r_train = model.predict(X.iloc[train])
    m = r_train.mean()
    t0 = time[train][event[train] == 1]
    h0 = sum(1.0 / np.exp(r_train[time[train] >= s] - m).sum() for s in np.unique(t0[t0 <= 0.3]))
    expected = 1.0 - np.exp(-h0) ** np.exp(model.predict(X.iloc[fold["row"]]) - m)
    np.testing.assert_allclose(fold["event_prob_0.3"].to_numpy(), expected, rtol=1e-6)


def test_calibration_refuses_missing_probabilities_and_names_a_group_it_cannot_draw():
    with pytest.raises(InputError, match=r"horizon 1: 2 row\(s\) have no predicted"):
        survival_calibration([1.0, 2, 3, 4], [1, 0, 1, 0], [0.1, np.nan, 0.3, np.nan], 1.0)
    rng = np.random.default_rng(0)
    n = 150
    p = np.sort(rng.uniform(0.05, 0.95, n))
    time = rng.uniform(1.2, 4.0, n)
    time[100:] = rng.uniform(0.1, 0.6, 50)  # the highest-risk third: censored early
    event = (rng.uniform(size=n) < 0.5).astype(int)
    cal = survival_calibration(time, event, p, 1.0)
    assert cal["observed"].notna().tolist() == [True, True, False]
    np.testing.assert_allclose(cal["last_time"], [time[:50].max(), time[50:100].max(),
                                                  time[100:].max()])


def test_the_analysis_says_what_it_left_out(tmp_path):
    """End to end through ``radiomix model``: the horizons past the follow-up are empty in
    predictions.csv with an arm warning; the calibration group the horizon is beyond has
    a reason in analysis.json and in the figure's legend."""
    import json

    from _data import run_cli

    rng = np.random.default_rng(11)
    n = 150
    x = rng.normal(size=n)
    t_event = rng.exponential(1.5 * np.exp(-1.2 * x))
    # the higher-risk 55 %: censored within 0.7 years (tester T's design)
    censor = np.where(x > np.quantile(x, 0.45), rng.uniform(0.05, 0.7, n),
                      rng.uniform(1.2, 4.0, n))
    table = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)],
                          "f0": x, "f1": rng.normal(size=n),
                          "tt": np.round(np.minimum(t_event, censor) * 365.25, 1),
                          "ev": (t_event <= censor).astype(int)})
    table.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "out"
    res = run_cli("model", "--out", str(out), "--features", str(tmp_path / "t.csv"),
                  "--time", "tt", "--event", "ev", "--time-unit", "days", "--columns", "f0,f1",
                  "--model", "cox", "--outer", "3", "--inner", "2", "--repeats", "1",
                  "--bootstrap", "50", "--horizon", "1", "--horizon", "9", "--jobs", "1",
                  "--no-report")
    assert res.returncode == 0, res.stderr
    pred = pd.read_csv(out / "predictions.csv")
    assert pred["event_prob_1"].notna().all()
    assert pred["event_prob_9"].isna().all()
    assert "no predicted probability of the event by 9 years for" in res.stderr
    doc = json.loads((out / "analysis.json").read_text())
    val = doc["outcomes"][0]["validation"][0]
    cal = val["curves"]["calibration"]["model"]
    assert cal["horizon_years"] == 1
    missing = [i for i, v in enumerate(cal["observed"]) if v is None]
    assert missing, cal  # the early-censored high-risk group
    for i, reason in enumerate(cal["reasons"]):
        assert (reason is not None) == (i in missing)
    assert all("no patient followed to 1 year" in cal["reasons"][i] for i in missing)
    assert cal["reasons"][missing[0]] in cal["legend"]


def test_a_group_without_an_event_has_an_exact_upper_bound():
    """Round 20 (tester X): 30 patients, no event by 1 year, 3 still at risk: the observed
    risk was 0 with the interval [0, 0]."""
    rng = np.random.default_rng(4)
    p = np.r_[np.full(30, 0.05), rng.uniform(0.2, 0.9, 60)]
    time = np.r_[rng.uniform(0.2, 0.95, 27), [1.2, 1.5, 2.0], rng.uniform(0.1, 3.0, 60)]
    event = np.r_[np.zeros(30, int), (rng.uniform(size=60) < 0.6).astype(int)]
    cal = survival_calibration(time, event, p, 1.0)
    low = cal.iloc[0]
    assert (low["n_events"], low["n_at_risk"], low["observed"]) == (0, 3, 0.0)
    assert low["observed_ci_low"] == 0.0
    assert low["observed_ci_high"] == pytest.approx(1 - 0.025 ** (1 / 3))  # 0.708
    from scipy.stats import beta

    assert low["observed_ci_high"] == pytest.approx(beta.ppf(0.975, 1, 3))  # Clopper-Pearson
