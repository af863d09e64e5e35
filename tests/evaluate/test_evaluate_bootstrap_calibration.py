"""Calibration of the patient-bootstrap AUC intervals on real-sized synthetic cohorts.

The lung study's size: 211 patients, 1111 CT slices (1-15 slices per patient), scores
correlated within a patient (a patient effect plus slice noise). Under the null the labels
are permuted between patients, so the score carries no information and the 95 % interval of
the AUC must cover 0.5 in 92-98 % of the replicates; with a planted signal it must exclude
0.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.evaluate import bootstrap_binary_metrics, nested_cv
from radiomix.evaluate.bootstrap import patient_bootstrap_weights, percentile_interval
from radiomix.evaluate.metrics import weighted_roc_auc
from radiomix.model import build_pipeline

N_PATIENTS, N_ROWS = 211, 1111


def _cohort(rng: np.random.Generator):
    sizes = rng.multinomial(N_ROWS - N_PATIENTS, np.full(N_PATIENTS, 1 / N_PATIENTS)) + 1
    groups = np.repeat(np.arange(N_PATIENTS), sizes)
    patient_effect = rng.normal(0.0, 1.0, N_PATIENTS)
    labels = (rng.uniform(size=N_PATIENTS) < 0.45).astype(int)
    return groups, patient_effect, labels


def _auc_ci(y, score, groups, *, n_bootstrap, seed):
    m = bootstrap_binary_metrics(
        y, score, groups=groups, n_bootstrap=n_bootstrap, random_state=seed, metrics=("roc_auc",)
    )
    return float(m.loc[0, "estimate"]), float(m.loc[0, "ci_low"]), float(m.loc[0, "ci_high"])


def test_null_auc_interval_covers_half_92_to_98_percent():
    """1000 permuted-label replicates (>= 200 asked; more keep the Monte-Carlo error of the
    coverage at 0.7 %), 200 patient-bootstrap draws each.

    The weights of the 200 draws are shared by the replicates (each replicate's interval is
    still a valid patient bootstrap; only the replicates are correlated a little), which
    keeps the test to seconds. Offline with 2000 replicates: coverage 0.937-0.949 for 200,
    500 and 1000 draws; sampling SD of the AUC 0.036 vs mean bootstrap SD 0.036.
    """
    rng = np.random.default_rng(0)
    groups, effect, labels = _cohort(rng)
    score = 1 / (1 + np.exp(-(effect[groups] + 0.6 * rng.normal(0, 1, groups.size))))
    W = patient_bootstrap_weights(groups, n_bootstrap=200, random_state=1)
    n_rep = 1000
    covered = 0
    for _ in range(n_rep):
        y = rng.permutation(labels)[groups]
        lo, hi, _ = percentile_interval(weighted_roc_auc(y, score, W))
        covered += lo <= 0.5 <= hi
    coverage = covered / n_rep
    assert 0.92 <= coverage <= 0.98, coverage


def test_public_bootstrap_uses_the_calibrated_construction():
    """bootstrap_binary_metrics' AUC interval is the construction calibrated above."""
    rng = np.random.default_rng(5)
    groups, effect, labels = _cohort(rng)
    y = labels[groups]
    p = 1 / (1 + np.exp(-(effect[groups] + 0.4 * y)))
    est, lo, hi = _auc_ci(y, p, groups, n_bootstrap=300, seed=9)
    W = patient_bootstrap_weights(groups, n_bootstrap=300, random_state=9)
    lo2, hi2, _ = percentile_interval(weighted_roc_auc(y, p, W))
    assert (lo, hi) == (lo2, hi2)
    assert est == weighted_roc_auc(y, p)[0]


def test_planted_signal_interval_excludes_half():
    rng = np.random.default_rng(1)
    groups, effect, labels = _cohort(rng)
    n_rep, excluded = 50, 0
    for r in range(n_rep):
        lab = rng.permutation(labels)
        y = lab[groups]
        # the patient's label shifts the score: patient-level AUC about 0.75
        score = effect[groups] + 1.0 * lab[groups] + 0.6 * rng.normal(0, 1, groups.size)
        p = 1 / (1 + np.exp(-score))
        est, lo, _ = _auc_ci(y, p, groups, n_bootstrap=200, seed=r)
        assert est > 0.65
        excluded += lo > 0.5
    assert excluded == n_rep


def test_patient_bootstrap_is_wider_than_row_bootstrap():
    """Slices of one patient are not independent: resampling rows would understate the
    uncertainty. Here rows = patients x slices with a strong patient effect."""
    rng = np.random.default_rng(2)
    groups, effect, labels = _cohort(rng)
    y = labels[groups]
    p = 1 / (1 + np.exp(-(effect[groups] + 0.5 * y + 0.3 * rng.normal(0, 1, groups.size))))
    _, lo_p, hi_p = _auc_ci(y, p, groups, n_bootstrap=500, seed=0)
    _, lo_r, hi_r = _auc_ci(y, p, np.arange(y.size), n_bootstrap=500, seed=0)
    assert (hi_p - lo_p) > 1.5 * (hi_r - lo_r)


def _slice_features(rng: np.random.Generator, groups, effect) -> pd.DataFrame:
    """Seven uninformative slice features sharing the patient effect."""
    return pd.DataFrame(
        effect[groups, None] * rng.normal(0, 1, 7) + rng.normal(0, 1, (groups.size, 7)),
        columns=[f"ct.original.stat.f{i}" for i in range(7)],
    )


def _null_coverage(model: str, n_rep: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    groups, effect, labels = _cohort(rng)
    X = _slice_features(rng, groups, effect)
    covered, plain_covered = 0, 0
    for r in range(n_rep):
        y = rng.permutation(labels)[groups]
        res = nested_cv(build_pipeline(model), X, y, groups=groups, n_bootstrap=200, random_state=r)
        lo, hi = res.ci("roc_auc")
        covered += lo <= 0.5 <= hi
        # the fixed-model interval it widens, recomputed independently from the predictions
        P, yy, gg = res.oof_matrix()
        W = patient_bootstrap_weights(gg, n_bootstrap=200, random_state=r)
        plo, phi, _ = percentile_interval(weighted_roc_auc(yy, P[0], W))
        plain_covered += plo <= 0.5 <= phi
        est = res.estimate("roc_auc")
        assert lo == pytest.approx(max(0.0, est - np.sqrt(2) * (est - plo)), abs=1e-9)
        assert hi == pytest.approx(min(1.0, est + np.sqrt(2) * (phi - est)), abs=1e-9)
    return covered / n_rep, plain_covered / n_rep


def test_null_calibration_end_to_end_grouped_cv():
    """The issue's done-when, on the whole path: 200 permuted-label replicates of
    patient-grouped 5-fold CV of a logistic pipeline on seven uninformative slice features
    (211 patients, 1111 rows), then the reported AUC interval. The fixed-model bootstrap
    undercovers (81-83 % measured); the cross-validation interval covers 0.5 in 92-98 %."""
    coverage, plain = _null_coverage("logistic", 200, seed=3)
    assert 0.92 <= coverage <= 0.98, coverage
    assert plain < 0.9, plain  # the reason for the widening: the plain interval is too short


@pytest.mark.slow
def test_null_calibration_end_to_end_knn():
    """Same with the lung study's kNN (the argument for the widening holds for any learner)."""
    coverage, _ = _null_coverage("knn", 200, seed=4)
    assert 0.92 <= coverage <= 0.98, coverage


def test_planted_signal_cross_validated_interval_excludes_half():
    """A planted patient-level signal (CV AUC about 0.7): the widened interval still excludes
    0.5 in every replicate."""
    rng = np.random.default_rng(6)
    for r in range(10):
        groups, effect, labels = _cohort(rng)
        X = _slice_features(rng, groups, effect)
        X["ct.original.stat.f0"] += 0.8 * labels[groups]
        res = nested_cv(
            build_pipeline("logistic"),
            X,
            labels[groups],
            groups=groups,
            n_bootstrap=200,
            random_state=r,
        )
        assert res.estimate("roc_auc") > 0.62
        assert res.ci("roc_auc")[0] > 0.5, (r, res.ci("roc_auc"))
