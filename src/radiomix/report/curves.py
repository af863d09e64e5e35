"""Data behind the report's figures: ROC curves with patient-bootstrap bands, calibration.

Pure numpy (no plotting). The curves are computed from out-of-sample predictions, the way
the metrics are: one prediction vector per cross-validation repeat, summarised over the
repeats, with patient-level bootstrap replicates for the uncertainty band.

ROC curves are *vertically averaged*: the true-positive rate of each repeat is read at a
fixed grid of false-positive rates (the ROC step function, taking the highest TPR reached
at that FPR), then averaged over repeats. The area under the averaged curve equals the
mean of the repeats' AUCs up to the grid resolution, so the curve drawn matches the AUC
reported beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from radiomix.errors import InputError
from radiomix.types import FloatArray

FPR_GRID: FloatArray = np.linspace(0.0, 1.0, 101)
"""False-positive rates at which the ROC curves are tabulated."""


def _check_binary(y: Any, proba: Any) -> tuple[np.ndarray, FloatArray]:
    y = np.asarray(y).ravel()
    P = np.atleast_2d(np.asarray(proba, dtype=float))
    if P.shape[1] != y.size:
        raise InputError(f"predictions have {P.shape[1]} columns for {y.size} labels")
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise InputError("labels must be 0/1")
    if y.min() == y.max():
        raise InputError("a ROC curve needs both classes")
    if not np.isfinite(P).all():
        raise InputError("predictions must be finite")
    return y.astype(bool), P


def weighted_roc_points(
    y: Any, score: Any, weights: Any = None
) -> tuple[FloatArray, FloatArray]:
    """Vertices of the (weighted) empirical ROC curve.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    score : array-like of shape (n,)
        Higher = more likely positive.
    weights : array-like of shape (n,), optional
        Non-negative row weights (a bootstrap count); default 1.

    Returns
    -------
    fpr, tpr : ndarray
        From (0, 0) to (1, 1), one vertex per distinct score (descending thresholds).

    Examples
    --------
    >>> fpr, tpr = weighted_roc_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    yb = np.asarray(y).ravel().astype(bool)
    s = np.asarray(score, dtype=float).ravel()
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=float).ravel()
    levels, inv = np.unique(-s, return_inverse=True)  # descending score
    pos = np.bincount(inv, weights=w * yb, minlength=levels.size)
    neg = np.bincount(inv, weights=w * ~yb, minlength=levels.size)
    tp = np.concatenate([[0.0], np.cumsum(pos)])
    fp = np.concatenate([[0.0], np.cumsum(neg)])
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tp / tp[-1] if tp[-1] > 0 else np.full_like(tp, np.nan)
        fpr = fp / fp[-1] if fp[-1] > 0 else np.full_like(fp, np.nan)
    return fpr, tpr


def tpr_at(fpr: FloatArray, tpr: FloatArray, grid: FloatArray = FPR_GRID) -> FloatArray:
    """TPR of a ROC curve at each grid FPR: the curve's vertices linearly interpolated
    (the highest TPR where the curve has a vertical segment at that FPR)."""
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return np.full(grid.size, np.nan)
    # last vertex at or left of each grid point (the top of a vertical segment there)
    k = np.clip(np.searchsorted(fpr, grid, side="right") - 1, 0, fpr.size - 1)
    nxt = np.minimum(k + 1, fpr.size - 1)
    dx = fpr[nxt] - fpr[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(dx > 0, (grid - fpr[k]) / np.where(dx > 0, dx, 1.0), 0.0)
    return tpr[k] + frac * (tpr[nxt] - tpr[k])


def roc_band(
    y: Any,
    proba: Any,
    *,
    groups: Any,
    n_bootstrap: int = 200,
    random_state: int = 0,
    level: float = 0.95,
    grid: FloatArray = FPR_GRID,
    cross_validated: bool = False,
) -> dict[str, list[float]]:
    """Vertically averaged ROC curve and its patient-bootstrap percentile band.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    proba : array-like of shape (n,) or (R, n)
        Out-of-sample probabilities; one row per cross-validation repeat.
    groups : array-like of shape (n,)
        Patient of each row; the bootstrap resamples patients.
    n_bootstrap, random_state, level
        Replicates, seed and coverage of the band.
    grid : ndarray
        FPR grid.
    cross_validated : bool
        ``proba`` are out-of-fold predictions: the band's distances from the curve are
        widened by :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`, like the AUC's.

    Returns
    -------
    dict
        ``fpr`` (the grid), ``tpr`` (average over repeats), ``tpr_low``, ``tpr_high``
        (percentiles of the replicates' averaged curves), ``n_boot`` (valid replicates).
    """
    from radiomix.evaluate.bootstrap import CV_INTERVAL_SCALE, patient_bootstrap_weights

    yb, P = _check_binary(y, proba)
    curve = np.mean([tpr_at(*weighted_roc_points(yb, p), grid) for p in P], axis=0)
    W = patient_bootstrap_weights(groups, n_bootstrap=n_bootstrap, random_state=random_state)
    reps = []
    for w in W:
        if not (w[yb].sum() > 0 and w[~yb].sum() > 0):
            continue
        reps.append(np.mean([tpr_at(*weighted_roc_points(yb, p, w), grid) for p in P], axis=0))
    R = np.asarray(reps)
    a = (1 - level) / 2
    lo, hi = (np.quantile(R, [a, 1 - a], axis=0) if len(R) else
              (np.full(grid.size, np.nan), np.full(grid.size, np.nan)))
    if cross_validated:
        lo = np.clip(curve - CV_INTERVAL_SCALE * (curve - lo), 0.0, 1.0)
        hi = np.clip(curve + CV_INTERVAL_SCALE * (hi - curve), 0.0, 1.0)
    return {
        "fpr": grid.tolist(),
        "tpr": curve.tolist(),
        "tpr_low": np.asarray(lo).tolist(),
        "tpr_high": np.asarray(hi).tolist(),
        "n_boot": len(R),
    }


def calibration_table(y: Any, proba: Any, *, n_bins: int = 5) -> dict[str, list[float]]:
    """Observed event rate against mean predicted probability in quantile bins.

    The predictions of several repeats are averaged per row first.

    Parameters
    ----------
    y : array-like of shape (n,)
    proba : array-like of shape (n,) or (R, n)
    n_bins : int
        Number of bins of (nearly) equal size, by rank of the prediction.

    Returns
    -------
    dict
        ``predicted`` (mean prediction per bin), ``observed`` (event fraction per bin),
        ``n`` (rows per bin).

    Examples
    --------
    >>> t = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> [round(v, 2) for v in t["predicted"]], t["observed"], t["n"]
    ([0.15, 0.8], [0.0, 1.0], [2, 2])
    """
    yb, P = _check_binary(y, proba)
    if not (isinstance(n_bins, int) and n_bins >= 1):
        raise InputError(f"n_bins must be an int >= 1; got {n_bins!r}")
    p = P.mean(axis=0)
    order = np.argsort(p, kind="stable")
    bins = [b for b in np.array_split(order, min(n_bins, p.size)) if b.size]
    return {
        "predicted": [float(p[b].mean()) for b in bins],
        "observed": [float(yb[b].mean()) for b in bins],
        "n": [int(b.size) for b in bins],
    }
