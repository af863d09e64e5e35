"""Invariants of the survival building blocks (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.evaluate.survival import km_by_training_cutoff, survival_calibration
from radiomix.model.survival import (
    baseline_at,
    breslow_baseline_survival,
    breslow_log_partial_likelihood,
)


@st.composite
def cohorts(draw, min_n=4, max_n=40):
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 12, n).astype(float)  # integer times: many ties
    e = rng.random(n) < 0.6
    e[0] = True
    r = rng.normal(0, 1, n)
    return t, e, r, rng


@settings(max_examples=60, deadline=None)
@given(cohorts(), st.floats(-20, 20))
def test_partial_likelihood_ignores_a_shift_and_the_row_order(c, shift):
    t, e, r, rng = c
    ll = breslow_log_partial_likelihood(t, e, r)
    assert np.isclose(breslow_log_partial_likelihood(t, e, r + shift), ll, rtol=1e-9, atol=1e-9)
    p = rng.permutation(t.size)
    assert np.isclose(breslow_log_partial_likelihood(t[p], e[p], r[p]), ll, rtol=1e-12)
    assert ll <= 0


@settings(max_examples=60, deadline=None)
@given(cohorts(), st.floats(-2, 2))  # S0 ** exp(shift) underflows beyond a few units
def test_breslow_survival_of_a_patient_ignores_a_shift_of_the_risk(c, shift):
    t, e, r, _ = c
    times = np.linspace(0, t.max(), 7)
    s = baseline_at(breslow_baseline_survival(t, e, r), times)
    s_shift = baseline_at(breslow_baseline_survival(t, e, r + shift), times)
    np.testing.assert_allclose(s_shift ** np.exp(shift), s, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(s) <= 1e-15)  # a survival curve never rises
    assert np.all((s > 0) & (s <= 1))
    # no estimate after the last follow-up (round 20: it was carried forward)
    assert np.isnan(baseline_at(breslow_baseline_survival(t, e, r), [t.max() * 1.01])).all()


@settings(max_examples=40, deadline=None)
@given(cohorts(min_n=6))
def test_km_groups_partition_the_rows_and_at_risk_never_rises(c):
    t, e, r, _ = c
    cut = float(np.median(r))
    if (r > cut).all() or not (r > cut).any():
        return
    km = km_by_training_cutoff(t, r, e, cut, at_times=[0, 2, 4, 8, 16])
    assert km.groups["n"].sum() == t.size
    assert km.groups["events"].sum() == e.sum()
    for _, rows in km.at_risk.groupby("group"):
        assert np.all(np.diff(rows["n_at_risk"]) <= 0)
        n = int(km.groups.set_index("group").loc[rows["group"].iloc[0], "n"])
        assert (rows["n_at_risk"].iloc[0]) == n  # everyone is at risk at time 0
        total = rows["n_at_risk"] + rows["n_events"] + rows["n_censored"]
        assert (total >= n).all()


@settings(max_examples=40, deadline=None)
@given(cohorts(min_n=20, max_n=60), st.integers(1, 4))
def test_calibration_groups_partition_the_rows(c, n_groups):
    t, e, r, _ = c
    p = 1 / (1 + np.exp(-r))
    h = 3.0
    if np.sum(t >= h) < 10 or np.sum(e & (t <= h)) < 2 or np.sum(t > h) < 2:
        return  # refused (horizon_refusal: two cases and two controls at least)
    cal = survival_calibration(t, e, p, h, n_groups=n_groups, min_at_risk=10)
    assert cal["n"].sum() == t.size
    assert np.isclose((cal["predicted"] * cal["n"]).sum(), p.sum())
    assert cal["n_events"].sum() == int(np.sum(e & (t <= h)))
    ok = cal["observed"].notna()
    assert ((cal.loc[ok, "observed"] >= 0) & (cal.loc[ok, "observed"] <= 1)).all()
    assert (cal.loc[ok, "observed_ci_low"] <= cal.loc[ok, "observed"] + 1e-12).all()
