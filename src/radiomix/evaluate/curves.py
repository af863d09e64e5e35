"""Every curve of an evaluation, computed once: ROC, calibration, decision, their bands.

The metrics, the CLI figures and the report all draw what these functions return, so a
figure can never show another curve than the one its legend describes. Of repeated
cross-validation every curve is the mean of the repeats' curves (each from that repeat's
out-of-fold predictions), the predictor whose metrics are reported (the mean of the
repeats' metrics); no curve is drawn from the per-row average of the repeats' predictions.

ROC of repeated cross-validation: :func:`mean_roc_curve` averages the repeats' empirical
ROC curves *exactly*: each repeat's curve (vertices at every distinct score, ties as
diagonal segments) is evaluated at the union of all repeats' false-positive rates, keeping
both ends of every vertical segment. Between two consecutive union points every repeat's
curve is a straight line, so their average is too, and the trapezoid area under the
averaged curve equals the mean of the repeats' AUCs (what ``metrics.roc_auc`` reports) to
rounding. The band of :func:`roc_band` is tabulated on a fixed FPR grid (a band needs no
exact area).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from radiomix.errors import InputError
from radiomix.types import FloatArray

FPR_GRID: FloatArray = np.linspace(0.0, 1.0, 101)
"""False-positive rates at which ROC bands are tabulated."""


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
        From (0, 0) to (1, 1), one vertex per distinct score (descending thresholds); rows
        with equal scores form one diagonal segment (a tie counts one half, as in the AUC).

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


def _limits(fpr: FloatArray, tpr: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest TPR of the piecewise-linear ROC curve at each ``x``."""
    lo = np.searchsorted(fpr, x, side="left")
    hi = np.searchsorted(fpr, x, side="right") - 1
    present = lo <= hi
    left = np.empty(x.size)
    right = np.empty(x.size)
    left[present] = tpr[lo[present]]
    right[present] = tpr[hi[present]]
    a = np.clip(hi[~present], 0, fpr.size - 1)
    b = np.clip(lo[~present], 0, fpr.size - 1)
    dx = fpr[b] - fpr[a]
    frac = np.where(dx > 0, (x[~present] - fpr[a]) / np.where(dx > 0, dx, 1.0), 0.0)
    val = tpr[a] + frac * (tpr[b] - tpr[a])
    left[~present] = val
    right[~present] = val
    return left, right


def mean_roc_curve(y: Any, proba: Any) -> dict[str, Any]:
    """The exact average of the repeats' empirical ROC curves.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    proba : array-like of shape (n,) or (R, n)
        Out-of-sample probabilities, one row per cross-validation repeat.

    Returns
    -------
    dict
        ``fpr``, ``tpr`` (vertices of the averaged curve, from (0, 0) to (1, 1)) and ``auc``
        (its trapezoid area, equal to the mean of the repeats' AUCs).

    Examples
    --------
    >>> c = mean_roc_curve([0, 0, 1, 1], [[0.1, 0.4, 0.35, 0.8], [0.1, 0.2, 0.3, 0.4]])
    >>> c["auc"]  # mean of 0.75 and 1.0
    0.875
    """
    yb, P = _check_binary(y, proba)
    curves = [weighted_roc_points(yb, p) for p in P]
    xs = np.unique(np.concatenate([c[0] for c in curves]))
    lefts, rights = zip(*(_limits(f, t, xs) for f, t in curves), strict=True)
    left, right = np.mean(lefts, axis=0), np.mean(rights, axis=0)
    fpr = np.repeat(xs, 2)
    tpr = np.column_stack([left, right]).ravel()
    keep = np.ones(fpr.size, dtype=bool)
    keep[1::2] = right != left  # drop the second point where there is no vertical segment
    fpr, tpr = fpr[keep], tpr[keep]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": auc}


def tpr_at(fpr: FloatArray, tpr: FloatArray, grid: FloatArray = FPR_GRID) -> FloatArray:
    """TPR of a ROC curve at each grid FPR (the top of a vertical segment there)."""
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return np.full(grid.size, np.nan)
    return _limits(fpr, tpr, np.asarray(grid, dtype=float))[1]


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
) -> dict[str, list[float] | int]:
    """Patient-bootstrap percentile band of the repeat-averaged ROC curve, on an FPR grid.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    proba : array-like of shape (n,) or (R, n)
    groups : array-like of shape (n,)
        Patient of each row; the bootstrap resamples patients.
    n_bootstrap, random_state, level
        Replicates, seed and coverage of the band.
    grid : ndarray
    cross_validated : bool
        Out-of-fold predictions: the band's distances from the curve are widened by
        :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`, like the AUC's interval,
        and each bound is then widened outward to the nearest non-decreasing one (the
        lower bound to its running minimum from the right, the upper to its running
        maximum from the left), as a band of ROC curves must be.

    Returns
    -------
    dict
        ``fpr`` (the grid), ``lower``, ``upper``, ``n_boot`` (valid replicates).
    """
    from radiomix.evaluate.bootstrap import CV_INTERVAL_SCALE, patient_bootstrap_weights

    yb, P = _check_binary(y, proba)
    grid = np.asarray(grid, dtype=float)
    curve = np.mean([tpr_at(*weighted_roc_points(yb, p), grid) for p in P], axis=0)
    W = patient_bootstrap_weights(groups, n_bootstrap=n_bootstrap, random_state=random_state)
    reps = [np.mean([tpr_at(*weighted_roc_points(yb, p, w), grid) for p in P], axis=0)
            for w in W if w[yb].sum() > 0 and w[~yb].sum() > 0]
    R = np.asarray(reps)
    a = (1 - level) / 2
    if len(R):
        lo, hi = np.quantile(R, [a, 1 - a], axis=0)
    else:
        lo = hi = np.full(grid.size, np.nan)
    if cross_validated:
        lo = np.clip(curve - CV_INTERVAL_SCALE * (curve - lo), 0.0, 1.0)
        hi = np.clip(curve + CV_INTERVAL_SCALE * (hi - curve), 0.0, 1.0)
        # widening about a curve with jumps can make a bound fall as the FPR rises, which no
        # band of ROC curves does: widen outward to the nearest non-decreasing bounds
        lo = np.minimum.accumulate(np.asarray(lo)[::-1])[::-1]
        hi = np.maximum.accumulate(np.asarray(hi))
    return {"fpr": grid.tolist(), "lower": np.asarray(lo).tolist(),
            "upper": np.asarray(hi).tolist(), "n_boot": len(R)}


def calibration_curve(
    y: Any, proba: Any, *, n_bins: int = 5, level: float = 0.95, groups: Any = None
) -> dict[str, Any]:
    """Observed event rate against mean predicted probability in rank bins, with Wilson
    score intervals; of several repeats, the mean of the repeats' curves.

    Parameters
    ----------
    y : array-like of shape (n,)
    proba : array-like of shape (n,) or (R, n)
        Out-of-sample probabilities, one row per cross-validation repeat.
    n_bins : int
        Number of bins of (nearly) equal size, by rank of the prediction.
    level : float
        Coverage of the intervals.
    groups : array-like of shape (n,), optional
        The patient of each row: rows of one patient (several lesions) are not independent,
        and the interval counts a bin's effective number of patients instead of its rows.

    Returns
    -------
    dict
        ``predicted``, ``observed``, ``lower``, ``upper``, ``n`` per bin, ``n_effective``
        per bin (the number the interval counts) and ``n_repeats``.

    Notes
    -----
    Each repeat's rows are ranked by that repeat's prediction and split into ``n_bins``
    bins of the same sizes in every repeat (``numpy.array_split`` of the ranks). Rows of
    equal prediction that a bin boundary separates count in each bin with their group's
    observed fraction (a group split in proportion), so the curve does not depend on the
    order of the rows. Bin ``k``
    of the curve is the mean over the repeats of bin ``k``'s mean prediction and observed
    fraction, as the reported calibration metrics are the mean of the repeats' metrics
    (the predictions are *not* averaged per row first: that would be another predictor).
    The interval is the Wilson score interval of the averaged observed fraction of the
    bin's ``n`` rows (with one repeat: the usual Wilson interval). With ``groups``, ``n`` is
    the bin's effective number of patients, :math:`(\\sum_c m_c)^2 / \\sum_c m_c^2` for
    :math:`m_c` rows of patient :math:`c` in the bin (Kish's design effect for cluster
    sampling: rows of one patient counted as one, as its outcome is; the number of rows when
    each patient has one), averaged over the repeats.

    Examples
    --------
    >>> t = calibration_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> [round(v, 2) for v in t["predicted"]], t["observed"], t["n"]
    ([0.15, 0.8], [0.0, 1.0], [2, 2])
    >>> t = calibration_curve([0, 0, 1, 1], [[0.1, 0.2, 0.7, 0.9], [0.2, 0.6, 0.1, 0.9]],
    ...                       n_bins=2)
    >>> [round(v, 3) for v in t["predicted"]], t["observed"]
    ([0.15, 0.775], [0.25, 0.75])
    """
    from scipy.stats import norm

    yb, P = _check_binary(y, proba)
    if not (isinstance(n_bins, int) and n_bins >= 1):
        raise InputError(f"n_bins must be an int >= 1; got {n_bins!r}")
    k_bins = min(n_bins, yb.size)
    cluster = None if groups is None else np.unique(np.asarray(groups).astype(str),
                                                     return_inverse=True)[1].ravel()
    if cluster is not None and cluster.size != yb.size:
        raise InputError(f"groups has {cluster.size} values for {yb.size} rows")
    pred, obs, eff = [], [], []
    for p in P:
        bins = np.array_split(np.argsort(p, kind="stable"), k_bins)
        if cluster is not None:
            counts = [np.bincount(cluster[b]) for b in bins]
            eff.append([float(m.sum()) ** 2 / float(np.dot(m, m)) for m in counts])
        # rows of equal prediction carry their group's observed fraction: a group cut by
        # a bin boundary counts in each bin in proportion, whatever the rows' order
        _, group = np.unique(p, return_inverse=True)
        shared = np.bincount(group, weights=yb) / np.bincount(group)
        y_tied = shared[group]
        pred.append([float(p[b].mean()) for b in bins])
        obs.append([float(y_tied[b].mean()) for b in bins])
    sizes = [b.size for b in np.array_split(np.arange(yb.size), k_bins)]
    z = float(norm.ppf(1 - (1 - level) / 2))
    counted = np.mean(eff, axis=0).tolist() if eff else [float(n) for n in sizes]
    out: dict[str, Any] = {"predicted": np.mean(pred, axis=0).tolist(),
                           "observed": np.mean(obs, axis=0).tolist(), "lower": [], "upper": [],
                           "n": [int(n) for n in sizes], "n_effective": counted,
                           "n_repeats": int(P.shape[0])}
    for n, phat in zip(counted, out["observed"], strict=True):
        centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        out["lower"].append(float(max(0.0, centre - half)))
        out["upper"].append(float(min(1.0, centre + half)))
    return out


def decision_curves(
    y: Any, probas: dict[str, Any], *, thresholds: Any = None
) -> dict[str, Any]:
    """Net benefit of several models on the same rows, with treat-all and treat-none; of
    several repeats, the mean of the repeats' net-benefit curves.

    Parameters
    ----------
    y : array-like of shape (n,)
    probas : mapping of name to array-like of shape (n,) or (R, n)
        Each model's out-of-sample predictions, one row per cross-validation repeat.
    thresholds : array-like, optional
        Threshold probabilities (default 0.05 … 0.75 by 0.05).

    Returns
    -------
    dict
        ``threshold``, ``net_benefit`` (one list per model, plus ``treat all`` and
        ``treat none``), as :func:`radiomix.evaluate.metrics.decision_curve` computes it
        for each repeat, and ``n_repeats`` (per model).

    Notes
    -----
    The curve of a model is the mean over the repeats of each repeat's net benefit, so it
    describes the same predictor as the reported metrics (the mean of the repeats'
    metrics), not the per-row average of the repeats' predictions (an ensemble of the
    repeats' models, which can score better than any of them).

    Examples
    --------
    >>> d = decision_curves([0, 1], {"m": [[0.2, 0.8], [0.8, 0.8]]}, thresholds=[0.5])
    >>> d["net_benefit"]["m"]  # repeat 1: 0.5; repeat 2: 0.5 - 0.5 * 1
    [0.25]
    """
    from radiomix.evaluate.metrics import decision_curve

    th = np.arange(5, 80, 5) / 100 if thresholds is None else np.asarray(thresholds, float)
    nb: dict[str, list[float]] = {}
    reps: dict[str, int] = {}
    frame = None
    for name, p in probas.items():
        P = np.atleast_2d(np.asarray(p, dtype=float))
        frames = [decision_curve(np.asarray(y), row, thresholds=th) for row in P]
        frame = frames[0]
        nb[name] = np.mean([f["net_benefit"].to_numpy() for f in frames], axis=0).tolist()
        reps[name] = int(P.shape[0])
    if frame is None:
        raise InputError("decision curves need at least one model")
    nb["treat all"] = frame["treat_all"].tolist()
    nb["treat none"] = frame["treat_none"].tolist()
    return {"threshold": frame["threshold"].tolist(), "net_benefit": nb, "n_repeats": reps}
