"""Survival analyses whose unit is the patient (fourteenth outside round): a patient's
lesions share one time and one event, so the Kaplan–Meier groups, the log-rank test, the
hazard ratio, the calibration groups and the "at least 10 at risk" rule count patients.

Before, each lesion row counted as a patient: on null data with about four lesions per
patient, the log-rank p fell below 0.05 in 5 of 12 repeats (1 of 12 per patient), and a
3-year AUC was reported with 7 patients (21 lesions) at risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import InputError
from radiomix.evaluate.survival import (
    SurvivalEvaluation,
    horizon_refusal,
    one_row_per_patient,
    survival_cv,
)


def _patients(seed: int, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    return pd.DataFrame({
        "patient_id": [f"p{i:02d}" for i in range(n)],
        "time": np.round(rng.exponential(np.exp(-risk)), 2) + 0.01,
        "event": rng.random(n) < 0.7,
        "repeat": 0, "fold": np.arange(n) % 3, "risk": risk,
        "risk_cutoff": np.array([-0.1, 0.0, 0.2])[np.arange(n) % 3],
        "event_prob_0.5": 1 / (1 + np.exp(-risk)),
    })


def _as_lesions(patients: pd.DataFrame, copies: np.ndarray, jitter: float, seed: int):
    """Each patient's row repeated ``copies[i]`` times, its risk spread by +-jitter about
    the patient's value so that the mean over its rows is the patient's risk."""
    rng = np.random.default_rng(seed)
    rows = []
    for (_, p), k in zip(patients.iterrows(), copies, strict=True):
        offsets = rng.normal(scale=jitter, size=k)
        offsets -= offsets.mean()
        for off in offsets:
            rows.append({**p.to_dict(), "risk": p["risk"] + off,
                         "event_prob_0.5": p["event_prob_0.5"] + off / 100})
    lesions = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return lesions.assign(row=np.arange(len(lesions)))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(1, 6), min_size=30, max_size=30))
def test_km_and_calibration_count_patients_whatever_their_lesions(seed, counts):
    """Repeating a patient's row (its lesions) changes no curve, number at risk, log-rank p,
    hazard ratio or calibration group: they are those of one row per patient."""
    patients = _patients(seed)
    lesions = _as_lesions(patients, np.array(counts), jitter=0.05, seed=seed)
    one = SurvivalEvaluation("nested_cv", pd.DataFrame(), patients.assign(row=range(30)), {})
    many = SurvivalEvaluation("nested_cv", pd.DataFrame(), lesions, {})
    try:
        km_one = one.km()
    except InputError:
        with pytest.raises(InputError):
            many.km()
        return
    km_many = many.km()
    assert km_many.logrank_p == pytest.approx(km_one.logrank_p, rel=1e-9)
    assert km_many.groups["n"].sum() == 30
    pd.testing.assert_frame_equal(km_many.at_risk.reset_index(drop=True),
                                  km_one.at_risk.reset_index(drop=True))
    assert km_many.hazard_ratio.estimate == pytest.approx(km_one.hazard_ratio.estimate,
                                                          rel=1e-9, nan_ok=True)
    try:
        cal_one = one.calibration(0.5, min_at_risk=5)
    except InputError:
        with pytest.raises(InputError):
            many.calibration(0.5, min_at_risk=5)
        return
    cal_many = many.calibration(0.5, min_at_risk=5)
    assert cal_many["n"].tolist() == cal_one["n"].tolist()
    assert cal_many["observed"].to_numpy() == pytest.approx(cal_one["observed"].to_numpy(),
                                                            nan_ok=True)


def test_the_log_rank_p_is_lifelines_on_one_row_per_patient():
    """Independent check: lifelines' log-rank test of the patients split by their mean risk
    against their fold's training cut-off."""
    from lifelines.statistics import logrank_test

    patients = _patients(3, n=40)
    lesions = _as_lesions(patients, np.arange(40) % 5 + 1, jitter=0.3, seed=3)
    mean = lesions.groupby("patient_id").agg(time=("time", "first"), event=("event", "first"),
                                             risk=("risk", "mean"), cut=("risk_cutoff", "first"))
    high = mean["risk"] > mean["cut"]
    expected = logrank_test(mean["time"][high], mean["time"][~high],
                            mean["event"][high], mean["event"][~high]).p_value
    km = SurvivalEvaluation("nested_cv", pd.DataFrame(), lesions, {}).km()
    assert km.logrank_p == pytest.approx(expected, rel=1e-9)
    assert km.groups["n"].sum() == 40


def test_rows_of_a_patient_that_disagree_on_the_outcome_are_refused():
    lesions = _as_lesions(_patients(1), np.full(30, 2), jitter=0.1, seed=1)
    lesions.loc[lesions["patient_id"] == "p03", "time"] = [1.0, 2.0]
    with pytest.raises(InputError, match="the rows of a patient disagree on time"):
        one_row_per_patient(lesions)


def test_the_at_risk_rule_counts_patients_not_lesions():
    """7 patients (21 lesions) followed beyond the horizon: refused at 10 patients."""
    t = np.r_[np.full(21, 4.0), np.linspace(0.2, 2.5, 30)]
    e = np.r_[np.zeros(21), np.ones(30)].astype(bool)
    g = np.r_[np.repeat([f"late{i}" for i in range(7)], 3), [f"early{i}" for i in range(30)]]
    assert horizon_refusal(t, e, 3.0, min_at_risk=10) is None  # rows: 21 at risk
    reason = horizon_refusal(t, e, 3.0, min_at_risk=10, groups=g)
    assert reason is not None
    assert "only 7 patient(s) still at risk" in reason


def test_td_auc_reports_patients_at_risk():
    """survival_cv's n_at_risk counts patients (before: rows)."""
    from radiomix.model.survival import CoxPH

    rng = np.random.default_rng(0)
    n = 60
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    e = rng.random(n) < 0.8
    g = np.array([f"p{i}" for i in range(n)])
    rows = np.repeat(np.arange(n), 2)  # two lesions per patient
    X = pd.DataFrame({"x": x[rows] + rng.normal(scale=0.01, size=2 * n)})
    res = survival_cv(CoxPH(), X, t[rows], e[rows], groups=g[rows], horizons=[0.5],
                      n_splits=3, n_repeats=1, n_bootstrap=50, random_state=0)
    td = res.metrics[res.metrics["metric"] == "td_auc"].iloc[0]
    assert td["n_at_risk"] == int(np.sum(t >= 0.5))
