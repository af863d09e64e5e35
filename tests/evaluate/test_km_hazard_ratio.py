"""The hazard ratio of the Kaplan-Meier risk groups (high against low risk), with its 95 %
Wald interval: checked against a Cox partial likelihood maximised here by Newton's method
(Efron's method for tied times, as lifelines), and carried into the analysis
document for the repeat the figure draws."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomix.evaluate.survival import group_hazard_ratio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict


def _newton_cox(t: np.ndarray, e: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """beta and its standard error for one covariate, Efron's method for tied event times
    (independent code: Newton's method on the partial likelihood)."""
    t, e, x = np.asarray(t, float), np.asarray(e).astype(bool), np.asarray(x, float)
    beta = 0.0
    for _ in range(100):
        w = np.exp(beta * x)
        grad = info = 0.0
        for tau in np.unique(t[e]):
            risk = t >= tau
            dead = e & (t == tau)
            d = int(dead.sum())
            s = [np.sum(w[risk] * x[risk] ** k) for k in range(3)]
            r = [np.sum(w[dead] * x[dead] ** k) for k in range(3)]
            grad += float(np.sum(x[dead]))
            for ell in range(d):
                a0, a1, a2 = (s[k] - ell / d * r[k] for k in range(3))
                grad -= a1 / a0
                info += a2 / a0 - (a1 / a0) ** 2
        step = grad / info
        beta += step
        if abs(step) < 1e-12:
            break
    return beta, 1.0 / math.sqrt(info)


def _two_groups(*, seed: int, n: int, low_scale: float, p_event: float) -> tuple[np.ndarray, ...]:
    """Exponential times of two random groups (mean 1 in the high group, ``low_scale`` in
    the other) and events drawn with probability ``p_event``: (time, event, high group)."""
    rng = np.random.default_rng(seed)
    x = rng.random(n) < 0.5
    t = rng.exponential(np.where(x, 1.0, low_scale))
    e = rng.random(n) < p_event
    return t, e, x


def test_group_hazard_ratio_is_the_cox_estimate_with_its_wald_interval() -> None:
    t, e, x = _two_groups(seed=3, n=80, low_scale=2.5, p_event=0.8)
    beta, se = _newton_cox(t, e, x)
    hr = group_hazard_ratio(t, e, x)
    assert hr.reason is None
    assert hr.estimate == pytest.approx(math.exp(beta), rel=1e-6)
    assert hr.ci_low == pytest.approx(math.exp(beta - 1.959963984540054 * se), rel=1e-6)
    assert hr.ci_high == pytest.approx(math.exp(beta + 1.959963984540054 * se), rel=1e-6)


def test_a_group_without_events_has_no_hazard_ratio() -> None:
    t = np.arange(1.0, 11.0)
    e = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0])
    high = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    hr = group_hazard_ratio(t, e, high)
    assert math.isnan(hr.estimate)
    assert math.isnan(hr.ci_low)
    assert hr.reason is not None
    assert "no event in the low-risk group" in hr.reason


def test_analysis_document_gives_the_drawn_repeats_hazard_ratio(tmp_path) -> None:
    feats, clin = cohort(48, seed=4)
    spec = analysis_from_dict({
        "outcomes": [{"name": "t", "kind": "survival", "time": "fu_days", "event": "outcome",
                      "event_value": "mets", "horizons_years": [1]}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "excluded": ["outcome_text", "days_to_outcome", "status"]},
        "arms": [{"name": "rad_cox", "blocks": ["radiomic"], "model": "cox"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 3, "bootstrap": 60}})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    v = doc["outcomes"][0]["validation"][0]
    km = v["curves"]["km"]
    pr = pd.read_csv(tmp_path / "predictions.csv")
    q = pr[(pr["arm"] == km["arm"]) & (pr["scheme"] == v["scheme"])
           & (pr["repeat"] == km["repeat"])]
    high = (q["risk"] > q["risk_cutoff"]).to_numpy()
    t, e = q["time"].to_numpy(dtype=float), q["event"].to_numpy()
    beta, se = _newton_cox(t, e, high)
    got = km["hazard_ratio"]
    # the groups come from the out-of-fold risks of a cross-validation: the Wald interval
    # is widened by sqrt(2) on the log scale, as every cross-validated interval
    z = 1.959963984540054 * math.sqrt(2.0)
    assert got["estimate"] == pytest.approx(math.exp(beta), rel=1e-6)
    assert got["ci_low"] == pytest.approx(math.exp(beta - z * se), rel=1e-6)
    assert got["ci_high"] == pytest.approx(math.exp(beta + z * se), rel=1e-6)
    assert "widened by √2" in got["interval"]


def test_scale_widens_the_wald_interval_on_the_log_scale() -> None:
    t, e, x = _two_groups(seed=5, n=60, low_scale=2.0, p_event=0.85)
    beta, se = _newton_cox(t, e, x)
    plain = group_hazard_ratio(t, e, x)
    wide = group_hazard_ratio(t, e, x, scale=math.sqrt(2.0))
    assert wide.estimate == plain.estimate
    assert (plain.scale, wide.scale) == (1.0, math.sqrt(2.0))
    z = 1.959963984540054 * math.sqrt(2.0)
    assert wide.ci_low == pytest.approx(math.exp(beta - z * se), rel=1e-6)
    assert wide.ci_high == pytest.approx(math.exp(beta + z * se), rel=1e-6)
    assert wide.ci_low < plain.ci_low < plain.estimate < plain.ci_high < wide.ci_high


def test_only_cross_validated_groups_are_widened() -> None:
    """A hold-out test set's groups come from one model: plain Wald interval; the folds of
    a cross-validation: widened."""
    from radiomix.evaluate.survival import SurvivalEvaluation

    rng = np.random.default_rng(6)
    n = 40
    risk = rng.normal(size=n)
    pred = pd.DataFrame({"row": np.arange(n), "patient_id": [f"p{i}" for i in range(n)],
                         "time": rng.exponential(np.exp(-risk)), "event": rng.random(n) < 0.8,
                         "repeat": 0, "fold": 0, "risk": risk, "risk_cutoff": 0.0})
    single = SurvivalEvaluation("holdout", pd.DataFrame(), pred, {})
    assert single.km().hazard_ratio.scale == 1.0
    folds = pred.assign(fold=np.arange(n) % 4)
    cv = SurvivalEvaluation("nested_cv", pd.DataFrame(), folds, {})
    hr_cv, hr_one = cv.km().hazard_ratio, single.km().hazard_ratio
    assert hr_cv.scale == pytest.approx(math.sqrt(2.0))
    assert hr_cv.estimate == hr_one.estimate
    assert math.log(hr_cv.ci_high / hr_cv.estimate) == pytest.approx(
        math.sqrt(2.0) * math.log(hr_one.ci_high / hr_one.estimate), rel=1e-9)


def test_groups_whose_event_times_do_not_overlap_have_no_hazard_ratio() -> None:
    """Every high-risk event before the first low-risk patient's time, and the low-risk
    events after the last high-risk patient left: the partial likelihood grows without
    bound (lifelines would report a huge ratio with a convergence warning)."""
    import warnings

    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    e = np.array([1, 1, 1, 0, 1, 1, 0, 1])
    high = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hr = group_hazard_ratio(t, e, high)
    assert math.isnan(hr.estimate)
    assert hr.reason is not None
    assert "after the last high-risk patient left follow-up" in hr.reason
