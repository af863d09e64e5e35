"""The Brier verdict against the prevalence reference reads a paired difference: the arm's
squared error minus the reference's, row by row, with patients resampled together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.evaluate.bootstrap import CV_INTERVAL_SCALE, bootstrap_mean_difference


def _direct_replicates(d: np.ndarray, groups: list[str], n_bootstrap: int,
                       seed: int) -> np.ndarray:
    """Replicates drawn as explicit row lists: each replicate draws as many patients as
    there are (sorted by identifier), with replacement, and takes every row of each drawn
    patient once per draw."""
    patients = sorted(set(groups))
    rows_of = {p: [i for i, q in enumerate(groups) if q == p] for p in patients}
    draws = np.random.default_rng(seed).integers(0, len(patients),
                                                 size=(n_bootstrap, len(patients)))
    out = []
    for draw in draws:
        rows = [i for k in draw for i in rows_of[patients[k]]]
        out.append(np.mean([d[r, rows].mean() for r in range(d.shape[0])]))
    return np.asarray(out)


def test_the_interval_is_that_of_resampled_patients():
    rng = np.random.default_rng(1)
    groups = [f"P{i % 17:02d}" for i in range(40)]  # several rows per patient
    d = rng.normal(0.02, 0.1, size=(3, 40))  # three repeats
    got = bootstrap_mean_difference(d, groups=groups, n_bootstrap=300, random_state=7)
    reps = _direct_replicates(d, groups, 300, 7)
    assert got["estimate"] == pytest.approx(d.mean(), abs=1e-12)
    assert got["ci_low"] == pytest.approx(np.quantile(reps, 0.025), abs=1e-12)
    assert got["ci_high"] == pytest.approx(np.quantile(reps, 0.975), abs=1e-12)
    assert got["n_boot"] == 300
    wide = bootstrap_mean_difference(d, groups=groups, n_bootstrap=300, random_state=7,
                                     cross_validated=True, bounds=(-1.0, 1.0))
    assert wide["ci_low"] == pytest.approx(
        got["estimate"] - CV_INTERVAL_SCALE * (got["estimate"] - got["ci_low"]), abs=1e-11)
    assert wide["ci_high"] == pytest.approx(
        got["estimate"] + CV_INTERVAL_SCALE * (got["ci_high"] - got["estimate"]), abs=1e-11)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(4, 30), st.floats(-0.5, 0.5))
def test_the_interval_holds_the_estimate_and_shifts_with_it(seed, n, shift):
    """A constant shift of every difference moves the estimate and both limits by it."""
    rng = np.random.default_rng(seed)
    groups = [f"P{i % max(2, n // 2)}" for i in range(n)]
    d = rng.normal(0.0, 0.05, size=(1, n))
    a = bootstrap_mean_difference(d, groups=groups, n_bootstrap=120, random_state=seed)
    b = bootstrap_mean_difference(d + shift, groups=groups, n_bootstrap=120,
                                  random_state=seed)
    assert a["ci_low"] - 1e-12 <= a["estimate"] <= a["ci_high"] + 1e-12
    for k in ("estimate", "ci_low", "ci_high"):
        assert b[k] == pytest.approx(a[k] + shift, abs=1e-9)


def test_an_arm_with_signal_is_better_than_the_prevalence_by_its_paired_difference(tmp_path):
    """The arm's difference is its Brier score minus the prevalence reference, and a clear
    signal gives an interval wholly below 0 (the report says "better")."""
    from radiomix.analysis import analysis_from_dict, build_table, run_analysis
    from radiomix.report.words import brier_words

    rng = np.random.default_rng(5)
    n = 90
    y = (rng.uniform(size=n) < 0.4).astype(int)
    df = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "y": y,
                       "ct.original.stat.mean": y * 2.5 + rng.normal(0, 1, n)})
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "y", "positive": "1"}],
        "roles": {"group": "patient_id", "lesion": None, "covariates": []},
        "baselines": ["prevalence"],
        "arms": [{"name": "rad", "blocks": ["radiomic"],
                  "radiomic": ["ct.original.stat.mean"], "model": "logistic", "tune": False}],
        "validation": {"outer_splits": 3, "repeats": 2, "bootstrap": 200, "seed": 0}})
    doc = run_analysis(spec, build_table(df, spec), tmp_path, save_models=False)
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    diff = arms["rad"]["brier_vs_reference"]
    brier = arms["rad"]["metrics"]["brier"]["estimate"]
    assert diff["estimate"] == pytest.approx(brier - arms["rad"]["brier_reference"], abs=1e-12)
    assert arms["rad"]["brier_reference"] == pytest.approx(
        arms["prevalence"]["metrics"]["brier"]["estimate"], abs=1e-12)
    assert diff["ci_high"] < 0.0
    assert brier_words(diff).startswith("better")
    assert arms["prevalence"]["brier_vs_reference"] is None  # the reference itself
