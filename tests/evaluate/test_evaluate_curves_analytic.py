"""ROC curves, bands and calibration tables of radiomix.evaluate.curves against independent
computations (scikit-learn, numpy). Moved from tests/report when the report stopped
computing curves."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from radiomix.errors import InputError
from radiomix.evaluate.curves import (
    calibration_curve,
    mean_roc_curve,
    roc_band,
    tpr_at,
    weighted_roc_points,
)


def _data(seed: int = 0, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1).round(2)  # ties on purpose
    return y, p


def test_roc_points_equal_sklearn_roc_curve() -> None:
    y, p = _data()
    fpr, tpr = weighted_roc_points(y, p)
    f2, t2, _ = roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2)
    np.testing.assert_allclose(tpr, t2)


def test_weighted_points_equal_repeated_rows() -> None:
    y, p = _data(1, 30)
    w = np.random.default_rng(2).integers(0, 4, y.size)
    # zero-weight rows may add repeated vertices: compare the curves, not the vertex lists
    grid = np.linspace(0, 1, 501)
    f2, t2, _ = roc_curve(np.repeat(y, w), np.repeat(p, w), drop_intermediate=False)
    np.testing.assert_allclose(tpr_at(*weighted_roc_points(y, p, w), grid),
                               tpr_at(f2, t2, grid), atol=1e-12)


def test_area_under_tabulated_curve_is_the_auc() -> None:
    y, p = _data(3)
    grid = np.linspace(0, 1, 4001)
    area = np.trapezoid(tpr_at(*weighted_roc_points(y, p), grid), grid)
    assert area == pytest.approx(roc_auc_score(y, p), abs=1e-3)


def test_tpr_at_takes_top_of_vertical_segment() -> None:
    # vertices (0,0) (0,0.5) (0.5,0.5) (0.5,1) (1,1): at fpr 0 and 0.5 the curve jumps
    fpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    tpr = np.array([0.0, 0.5, 0.5, 1.0, 1.0])
    assert tpr_at(fpr, tpr, np.array([0.0, 0.25, 0.5, 0.75])).tolist() == [0.5, 0.5, 1.0, 1.0]


def test_mean_roc_curve_area_is_the_mean_auc() -> None:
    y, p = _data(4)
    rng = np.random.default_rng(5)
    P = np.vstack([p, np.clip(p + rng.normal(0, 0.05, p.size), 0, 1)])
    c = mean_roc_curve(y, P)
    area = float(np.trapezoid(c["tpr"], c["fpr"]))
    assert area == pytest.approx(c["auc"], abs=1e-12)
    assert c["auc"] == pytest.approx(np.mean([roc_auc_score(y, q) for q in P]), abs=1e-12)
    # one repeat: the curve is sklearn's, vertices and all
    one = mean_roc_curve(y, p)
    f2, t2, _ = roc_curve(y, p, drop_intermediate=False)
    grid = np.linspace(0, 1, 301)
    np.testing.assert_allclose(tpr_at(np.asarray(one["fpr"]), np.asarray(one["tpr"]), grid),
                               tpr_at(f2, t2, grid), atol=1e-12)


def test_roc_band_brackets_the_mean_curve() -> None:
    y, p = _data(4)
    rng = np.random.default_rng(5)
    P = np.vstack([p, np.clip(p + rng.normal(0, 0.05, p.size), 0, 1)])
    band = roc_band(y, P, groups=np.arange(y.size), n_bootstrap=50, random_state=0)
    grid = np.asarray(band["fpr"])
    mean = np.mean([tpr_at(*weighted_roc_points(y, q), grid) for q in P], axis=0)
    lo, hi = np.asarray(band["lower"]), np.asarray(band["upper"])
    assert (lo <= hi + 1e-12).all()
    assert band["n_boot"] == 50
    inside = (lo <= mean + 1e-12) & (mean <= hi + 1e-12)
    assert inside.mean() > 0.9


def test_roc_band_resamples_patients_not_rows() -> None:
    # two rows per patient with identical values: a patient bootstrap keeps them together,
    # so every replicate curve equals the curve of some patient-level resample
    y, p = _data(6, 20)
    band2 = roc_band(np.repeat(y, 2), np.repeat(p, 2), groups=np.repeat(np.arange(20), 2),
                     n_bootstrap=40, random_state=1)
    band1 = roc_band(y, p, groups=np.arange(20), n_bootstrap=40, random_state=1)
    np.testing.assert_allclose(band2["lower"], band1["lower"])
    np.testing.assert_allclose(band2["upper"], band1["upper"])


def test_calibration_curve_against_numpy() -> None:
    y, p = _data(7, 23)
    t = calibration_curve(y, p, n_bins=4)
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, 4)
    assert t["n"] == [b.size for b in bins]
    np.testing.assert_allclose(t["predicted"], [p[b].mean() for b in bins])
    np.testing.assert_allclose(t["observed"], [y[b].mean() for b in bins])


def test_curves_errors() -> None:
    with pytest.raises(InputError, match="both classes"):
        roc_band([1, 1, 1], [0.1, 0.2, 0.3], groups=[1, 2, 3])
    with pytest.raises(InputError, match="columns for 3 labels"):
        calibration_curve([0, 1, 1], [0.1, 0.2])
    with pytest.raises(InputError, match="n_bins"):
        calibration_curve([0, 1], [0.1, 0.9], n_bins=0)
    with pytest.raises(InputError, match="0/1"):
        calibration_curve([0, 2], [0.1, 0.9])


def test_calibration_curve_splits_a_tie_in_proportion() -> None:
    """Round 18: ten patients all predicted 1/3 were cut between two bins by the rows'
    order, so a shuffled table gave an observed 0.5 in one run and 0.7 in the other."""
    # six rows predicted 0.1 (none positive), six tied at 1/3 (three positive), two bins of 6
    p = np.array([0.1] * 3 + [1 / 3] * 6 + [0.1] * 3)
    y = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    t = calibration_curve(y, p, n_bins=2)
    np.testing.assert_allclose(t["observed"], [0.0, 0.5])
    p3 = np.array([0.1] * 4 + [1 / 3] * 4 + [0.9] * 4)
    y3 = np.array([0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1])
    t3 = calibration_curve(y3, p3, n_bins=3)
    np.testing.assert_allclose(t3["observed"], [0.0, 0.5, 1.0])
    # a tie cut by a boundary: 5 rows at 0.5 (two positive), bins of 4: 3 of them fall in
    # the first bin, 2 in the second, each with the group's fraction 2/5
    p5 = np.array([0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.8, 0.8])
    y5 = np.array([0, 1, 1, 0, 0, 0, 1, 1])
    t5 = calibration_curve(y5, p5, n_bins=2)
    np.testing.assert_allclose(t5["observed"], [(0 + 3 * 0.4) / 4, (2 * 0.4 + 2) / 4])


@pytest.mark.parametrize("seed", range(5))
def test_calibration_curve_does_not_depend_on_row_order(seed) -> None:
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 6, size=(3, 40)) / 5.0  # a kNN's vote shares: many ties
    y = rng.integers(0, 2, size=40)
    y[:2] = [0, 1]
    order = rng.permutation(40)
    a = calibration_curve(y, p, n_bins=5)
    b = calibration_curve(y[order], p[:, order], n_bins=5)
    for key in ("predicted", "observed", "lower", "upper", "n"):
        np.testing.assert_allclose(b[key], a[key], rtol=1e-12, err_msg=key)
