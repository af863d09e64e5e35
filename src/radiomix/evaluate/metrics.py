"""Performance metrics of probabilistic classifiers, vectorised over bootstrap weights.

Every binary metric is computed by one function over a *weight matrix* ``W`` of shape
``(B, n)``: row ``b`` holds how often each of the ``n`` rows enters replicate ``b`` (a
patient bootstrap gives every row of a patient that patient's count). One row of ones gives
the plain metric, so the point estimate and the bootstrap replicates share one
implementation, and integer weights are equivalent to repeating rows (which is how the
tests compare them with scikit-learn).

Definitions (``y`` in {0, 1}, ``p`` the predicted probability of class 1, threshold
:math:`t`, prediction :math:`\\hat y = [p \\ge t]`, weights :math:`w`):

- accuracy :math:`(TP+TN)/n`; sensitivity :math:`TP/(TP+FN)`; specificity
  :math:`TN/(TN+FP)`; balanced accuracy: their mean;
- ROC AUC: :math:`P(p_+ > p_-) + \\tfrac12 P(p_+ = p_-)` over positive/negative pairs;
- PR AUC: average precision :math:`\\sum_k (R_k - R_{k-1}) P_k` over the distinct
  thresholds (scikit-learn's ``average_precision_score``);
- Brier score :math:`\\sum w (p-y)^2 / \\sum w`;
- calibration slope :math:`b` and intercept :math:`a` of the recalibration model
  :math:`\\mathrm{logit}\\,P(y=1) = a + b\\,\\mathrm{logit}(p)`; the reported
  *calibration intercept* is calibration-in-the-large, :math:`a` with :math:`b` fixed at 1
  (Van Calster et al. 2019). Ideal values: 0 and 1. The logit is exact for every
  probability in (0, 1); probabilities of exactly 0 or 1 have none (they are clipped to
  :math:`[10^{-6}, 1-10^{-6}]`, and reports call such a calibration not estimable); NaN
  when the fit does not converge (e.g. perfectly separated predictions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from radiomix.errors import InputError
from radiomix.types import FloatArray

BINARY_METRICS: tuple[str, ...] = (
    "accuracy",
    "sensitivity",
    "specificity",
    "balanced_accuracy",
    "roc_auc",
    "pr_auc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
)
MULTICLASS_METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "roc_auc_ovr_macro")
BOUNDED_METRICS: frozenset[str] = frozenset(
    {*BINARY_METRICS, *MULTICLASS_METRICS} - {"calibration_intercept", "calibration_slope"}
)
"""Metrics whose values lie in [0, 1]."""
CLIP = 1e-6


SETTLE_RTOL = 1e-12
"""Relative difference within which two scored predictions are one value (:func:`settle`)."""


def settle(values: Any, *, probability: bool = False) -> FloatArray:
    """Scored predictions with values that differ only by rounding made equal.

    Two rows with identical inputs can get predictions a unit in the last place apart: a
    matrix product takes another instruction path for a row at another position of its
    block, and a patient's mean depends on the order of its sum ((a + b) + c against
    (a + c) + b). The AUC and the C-index would then count the pair as ordered (1 or 0)
    instead of tied (0.5). Sorted, each value within :data:`SETTLE_RTOL` (relative) of the
    one before it takes the value of the first of its run, far below any difference a model
    makes; every scored prediction (a fold's probabilities and risks, a patient's mean)
    passes through here, so the predictions file holds the values the metrics saw.

    Parameters
    ----------
    values : array-like
        Predictions (any shape; non-finite values are kept as they are).
    probability : bool
        Values in [0, 1]: the tolerance is relative to the distance to the nearer of 0 and 1,
        so that probabilities near 1 (a logit of 28 against 29: 1 - p of 7e-13 against
        2.5e-13) keep their order.

    Examples
    --------
    >>> a = (0.1 + 0.2 + 0.3) / 3; b = (0.3 + 0.2 + 0.1) / 3
    >>> a == b, bool(settle([a])[0] == settle([b])[0]), settle([a, b]).tolist() == [b, b]
    (False, False, True)
    >>> import math
    >>> p = [1 / (1 + math.exp(-z)) for z in (28.0, 28.5, 29.0)]
    >>> len(set(settle(p, probability=True).tolist()))
    3
    """
    x = np.asarray(values, dtype=float)
    flat = x.ravel()
    finite = np.flatnonzero(np.isfinite(flat))
    if finite.size < 2:
        return x.copy()
    order = finite[np.argsort(flat[finite], kind="stable")]
    xs = flat[order]
    scale = np.minimum(np.abs(xs), np.abs(1.0 - xs)) if probability else np.abs(xs)
    starts = np.concatenate([[True], np.diff(xs) > SETTLE_RTOL * scale[:-1]])
    first = np.flatnonzero(starts)
    out = flat.copy()
    out[order] = xs[first[np.cumsum(starts) - 1]]
    return out.reshape(x.shape)


def _as_binary(y: Any, p: Any) -> tuple[np.ndarray, FloatArray]:
    y = np.asarray(y).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise InputError(f"y has {y.size} values but the predictions {p.size}")
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1}:
        raise InputError(f"binary metrics need y in {{0, 1}}; got values {sorted(labels)[:5]}")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise InputError("predicted probabilities must be finite and within [0, 1]")
    return y.astype(bool), p


def _weights(W: Any, n: int) -> FloatArray:
    if W is None:
        return np.ones((1, n))
    W = np.asarray(W, dtype=float)
    if W.ndim == 1:
        W = W[None, :]
    if W.shape[1] != n:
        raise InputError(f"weights have {W.shape[1]} columns for {n} rows")
    return W


def _div(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _pos_neg_level_sums(
    score: FloatArray, yb: np.ndarray, W: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Weights of positives and of negatives per distinct score level (ascending), (B, K).

    Rows are sorted once; the sums are differences of cumulative sums taken at the last row
    of each level (dense, O(B n)).
    """
    order = np.argsort(score, kind="stable")
    s_sorted = score[order]
    ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    Ws = W[:, order]
    pos_sorted = yb[order]
    total = np.cumsum(Ws, axis=1)[:, ends]
    pos = np.cumsum(np.where(pos_sorted, Ws, 0.0), axis=1)[:, ends]
    neg = total - pos
    return np.diff(pos, axis=1, prepend=0.0), np.diff(neg, axis=1, prepend=0.0)


def weighted_roc_auc(y: Any, p: Any, W: Any = None) -> FloatArray:
    """ROC AUC for each weight row, ties counted one half; shape (B,).

    Examples
    --------
    >>> float(weighted_roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])[0])
    0.75
    """
    yb, p = _as_binary(y, p)
    W = _weights(W, p.size)
    pos, neg = _pos_neg_level_sums(p, yb, W)
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    return _div(num, pos.sum(axis=1) * neg.sum(axis=1))


def weighted_average_precision(y: Any, p: Any, W: Any = None) -> FloatArray:
    """Average precision (PR AUC, step-wise) for each weight row; shape (B,)."""
    yb, p = _as_binary(y, p)
    W = _weights(W, p.size)
    pos, neg = _pos_neg_level_sums(p, yb, W)
    pos, neg = pos[:, ::-1], neg[:, ::-1]  # descending thresholds
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    precision = _div(tp, tp + fp)
    contrib = np.where(pos > 0, pos * np.nan_to_num(precision), 0.0).sum(axis=1)
    return _div(contrib, tp[:, -1])


def _logit(p: FloatArray) -> FloatArray:
    """Exact logit of probabilities in (0, 1), however close to 0 or 1 (a clip at 1e-6
    moved the calibration slope of a model predicting 1.7e-10 from 0.159 to 0.170). Exact 0
    and 1 have no logit: they are clipped at :data:`CLIP`, and the callers report such a
    calibration as not estimable."""
    q = np.where((p > 0.0) & (p < 1.0), p, np.clip(p, CLIP, 1 - CLIP))
    return np.log(q) - np.log1p(-q)


def _weighted_logistic(
    x: FloatArray,
    y: FloatArray,
    W: FloatArray,
    *,
    with_slope: bool,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Maximise :math:`\\sum w[y\\eta - \\log(1+e^\\eta)]`, :math:`\\eta = a + b x`
    (``with_slope``) or :math:`a + x`, for every weight row at once.

    Damped Newton–Raphson (step halving until the likelihood does not decrease).

    Returns
    -------
    a, b : ndarray of shape (B,)
        ``b`` is 1 when ``with_slope`` is False.
    converged : ndarray of bool
    """
    B = W.shape[0]
    theta = np.zeros((B, 2))
    theta[:, 1] = 0.0 if with_slope else 1.0

    def loglik(th: FloatArray) -> FloatArray:
        eta = th[:, :1] + th[:, 1:] * x
        return (W * (y * eta - np.logaddexp(0.0, eta))).sum(1)

    ll = loglik(theta)
    converged = np.zeros(B, dtype=bool)
    for _ in range(max_iter):
        eta = theta[:, :1] + theta[:, 1:] * x
        mu = np.exp(-np.logaddexp(0.0, -eta))
        r = W * (y - mu)
        v = W * mu * (1 - mu)
        g0, h00 = r.sum(1), v.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if with_slope:
                g1, h01, h11 = (r * x).sum(1), (v * x).sum(1), (v * x * x).sum(1)
                det = h00 * h11 - h01 * h01
                step = np.column_stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det])
            else:
                step = np.column_stack([g0 / h00, np.zeros(B)])
        step = np.where(np.isfinite(step) & ~converged[:, None], step, 0.0)
        t = np.ones(B)
        for _ in range(40):
            cand = theta + t[:, None] * step
            ll_new = loglik(cand)
            worse = ll_new < ll - 1e-12 * np.abs(ll)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
        theta = theta + t[:, None] * step
        ll = loglik(theta)
        converged |= np.abs(t[:, None] * step).max(axis=1) < tol
        if converged.all():
            break
    return theta[:, 0], theta[:, 1], converged


def weighted_calibration(y: Any, p: Any, W: Any = None) -> tuple[FloatArray, FloatArray]:
    """Calibration-in-the-large intercept and calibration slope for each weight row.

    Returns
    -------
    intercept, slope : ndarray of shape (B,)
        NaN where the estimate does not exist (one class only; for the slope also classes
        separated by the score, where it is infinite) or the fit does not converge.
    """
    yb, p = _as_binary(y, p)
    W = _weights(W, p.size)
    x = _logit(p)
    yf = yb.astype(float)
    present = W > 0
    both = (present & yb).any(1) & (present & ~yb).any(1)
    # in one dimension the slope has a finite maximum-likelihood value unless the classes
    # are (quasi-)separated by the score
    lo_pos = np.where(present & yb, x, np.inf).min(1)
    hi_pos = np.where(present & yb, x, -np.inf).max(1)
    lo_neg = np.where(present & ~yb, x, np.inf).min(1)
    hi_neg = np.where(present & ~yb, x, -np.inf).max(1)
    separated = (hi_neg <= lo_pos) | (hi_pos <= lo_neg)
    _, b, ok_b = _weighted_logistic(x, yf, W, with_slope=True)
    a, _, ok_a = _weighted_logistic(x, yf, W, with_slope=False)
    slope = np.where(ok_b & both & ~separated & (np.abs(b) < 100), b, np.nan)
    intercept = np.where(ok_a & both & (np.abs(a) < 100), a, np.nan)
    return intercept, slope


def weighted_binary_metrics(
    y: Any,
    p: Any,
    W: Any = None,
    *,
    threshold: float = 0.5,
    metrics: Sequence[str] | None = None,
) -> dict[str, FloatArray]:
    """All :data:`BINARY_METRICS` for each weight row.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    p : array-like of shape (n,)
        Predicted probabilities of class 1.
    W : array-like of shape (B, n) or (n,), optional
        Row weights per replicate; ``None`` is one replicate of unit weights.
    threshold : float or array-like of shape (n,)
        Probability at or above which a row is called positive; one per row when each row's
        threshold was fixed on its own training fold.
    metrics : sequence of str, optional
        Subset of :data:`BINARY_METRICS` to compute (default all).

    Returns
    -------
    dict of str to ndarray of shape (B,)
    """
    wanted = _check_metric_names(metrics)
    thr = np.asarray(threshold, dtype=float)
    if not (np.all(thr > 0) and np.all(thr < 1)):
        raise InputError(f"threshold must be in (0, 1); got {threshold!r}")
    yb, p = _as_binary(y, p)
    W = _weights(W, p.size)
    out: dict[str, FloatArray] = {}
    if wanted & {"accuracy", "sensitivity", "specificity", "balanced_accuracy", "brier"}:
        pred = p >= thr
        P = W @ yb.astype(float)
        N = W @ (~yb).astype(float)
        TP = W @ (yb & pred).astype(float)
        TN = W @ (~yb & ~pred).astype(float)
        sens, spec = _div(TP, P), _div(TN, N)
        out.update(
            {
                "accuracy": _div(TP + TN, P + N),
                "sensitivity": sens,
                "specificity": spec,
                "balanced_accuracy": (sens + spec) / 2,
                "brier": _div(W @ (p - yb) ** 2, P + N),
            }
        )
    if "roc_auc" in wanted:
        out["roc_auc"] = weighted_roc_auc(yb, p, W)
    if "pr_auc" in wanted:
        out["pr_auc"] = weighted_average_precision(yb, p, W)
    if wanted & {"calibration_intercept", "calibration_slope"}:
        out["calibration_intercept"], out["calibration_slope"] = weighted_calibration(yb, p, W)
    return {k: out[k] for k in BINARY_METRICS if k in wanted}


def choose_threshold(rule: str, y: Any, p: Any) -> float:
    """An operating threshold by ``rule`` from labelled predictions (training rows only).

    Parameters
    ----------
    rule : str
        ``youden`` (maximises sensitivity + specificity - 1; Youden 1950),
        ``sensitivity=S`` (the highest threshold whose sensitivity is at least S) or
        ``specificity=S`` (the lowest threshold whose specificity is at least S).
    y : array-like of {0, 1}
    p : array-like of float
        Predicted probabilities of class 1.

    Returns
    -------
    float
        A threshold in (0, 1): midway between two consecutive distinct predictions. When
        no threshold in [1e-6, 1 - 1e-6] reaches the sensitivity (specificity) asked for
        (positives predicted below 1e-6, or no positive row), the lowest (highest) one:
        the nearest to it.

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1, 1]; p = [0.1, 0.2, 0.6, 0.4, 0.7, 0.9]
    >>> round(choose_threshold("youden", y, p), 3)
    0.3
    >>> round(choose_threshold("sensitivity=1", y, p), 3)
    0.3
    >>> round(choose_threshold("specificity=1", y, p), 3)
    0.65
    """
    yb = np.asarray(y).astype(bool).ravel()
    s = np.asarray(p, dtype=float).ravel()
    rule = str(rule).strip().lower()
    kind, _, value = rule.partition("=")
    valid = kind in ("youden", "sensitivity", "specificity") and (kind == "youden") != bool(value)
    if not valid:
        raise InputError(f"threshold rule must be youden, sensitivity=S or specificity=S; "
                         f"got {rule!r}")
    try:
        target = float(value) if value else 0.0
    except ValueError:
        target = -1.0
    if kind != "youden" and not 0 < target <= 1:
        raise InputError(f"the {kind} of a threshold rule must be in (0, 1]; got {value!r}")
    levels = np.unique(s)
    cuts = np.concatenate([[0.0], (levels[:-1] + levels[1:]) / 2, [1.0]])
    cuts = np.clip(cuts, 1e-6, 1 - 1e-6)
    n_pos, n_neg = max(int(yb.sum()), 1), max(int((~yb).sum()), 1)
    sens = np.array([(s[yb] >= c).sum() / n_pos for c in cuts])
    spec = np.array([(s[~yb] < c).sum() / n_neg for c in cuts])
    if kind == "youden":
        return float(cuts[int(np.argmax(sens + spec))])
    # no cut in (0, 1) may reach the target (positives predicted below 1e-6, or none among
    # the rows): the cut nearest to it, the lowest (highest) one
    if kind == "sensitivity":
        ok = np.flatnonzero(sens >= target - 1e-12)
        return float(cuts[ok.max()] if ok.size else cuts[0])
    ok = np.flatnonzero(spec >= target - 1e-12)
    return float(cuts[ok.min()] if ok.size else cuts[-1])


def _check_metric_names(metrics: Sequence[str] | None) -> set[str]:
    if metrics is None:
        return set(BINARY_METRICS)
    unknown = [m for m in metrics if m not in BINARY_METRICS]
    if unknown or not metrics:
        raise InputError(f"unknown metrics {unknown}; choose from {', '.join(BINARY_METRICS)}")
    return set(metrics)


def binary_metrics(y: Any, p: Any, *, threshold: float = 0.5) -> dict[str, float]:
    """Point estimates of :data:`BINARY_METRICS`.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> m["accuracy"], m["sensitivity"], m["roc_auc"]
    (0.5, 0.5, 0.75)
    """
    return {k: float(v[0]) for k, v in weighted_binary_metrics(y, p, threshold=threshold).items()}


def multiclass_metrics(y: Any, proba: Any, classes: Any) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro one-vs-rest ROC AUC of a multi-class model.

    Parameters
    ----------
    y : array-like of shape (n,)
    proba : array-like of shape (n, n_classes)
        Probabilities in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    y = np.asarray(y)
    proba = np.asarray(proba, dtype=float)
    classes = np.asarray(classes)
    pred = classes[np.argmax(proba, axis=1)]
    present = np.unique(y)
    if present.size < 2:
        auc = np.nan
    else:
        keep = np.isin(classes, present)
        sub = proba[:, keep] / proba[:, keep].sum(axis=1, keepdims=True)
        auc = (
            roc_auc_score(y == classes[keep][1], sub[:, 1])
            if present.size == 2
            else roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=classes[keep])
        )
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "roc_auc_ovr_macro": float(auc),
    }


@dataclass(frozen=True, slots=True)
class DeLongResult:
    """Paired DeLong comparison of two ROC AUCs on the same rows."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a dict."""
        return {k: getattr(self, k) for k in self.__slots__}


def _midrank(x: FloatArray) -> FloatArray:
    return stats.rankdata(x, method="average")


def delong_test(y: Any, score_a: Any, score_b: Any) -> DeLongResult:
    """DeLong's test of two correlated ROC AUCs (two-sided).

    Placement values :math:`V_{10}(x_i) = \\frac1n\\sum_j \\psi(x_i, y_j)` (positives) and
    :math:`V_{01}(y_j) = \\frac1m\\sum_i \\psi(x_i, y_j)` (negatives), with
    :math:`\\psi = 1, \\tfrac12, 0` for :math:`x >, =, < y`, give the covariance
    :math:`S = S_{10}/m + S_{01}/n` of the two AUCs; :math:`z = (A_a - A_b) /
    \\sqrt{S_{aa} + S_{bb} - 2 S_{ab}}`. Computed with midranks (Sun & Xu 2014).

    Notes
    -----
    The test assumes independent rows; with several rows per patient compare
    patient-level predictions (or use the paired patient bootstrap of
    :func:`radiomix.evaluate.arms.paired_auc_tests`).

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more
    correlated receiver operating characteristic curves: a nonparametric approach.
    Biometrics 1988;44(3):837-845. Sun X, Xu W. Fast implementation of DeLong's algorithm
    for comparing the areas under correlated ROC curves. IEEE Signal Process Lett
    2014;21(11):1389-1393.
    """
    yb, a = _as_scores(y, score_a)
    _, b = _as_scores(y, score_b)
    m, n = int(yb.sum()), int((~yb).sum())
    if m < 2 or n < 2:
        raise InputError(f"DeLong's test needs >= 2 positives and negatives; got {m} and {n}")
    scores = np.vstack([a, b])
    v10 = np.empty((2, m))
    v01 = np.empty((2, n))
    aucs = np.empty(2)
    for k in range(2):
        s = scores[k]
        tz = _midrank(s)
        tx = _midrank(s[yb])
        ty = _midrank(s[~yb])
        aucs[k] = (tz[yb].sum() - m * (m + 1) / 2) / (m * n)
        v10[k] = (tz[yb] - tx) / n
        v01[k] = 1.0 - (tz[~yb] - ty) / m
    S = np.cov(v10) / m + np.cov(v01) / n
    var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    diff = aucs[0] - aucs[1]
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0:
        z, pval = (0.0, 1.0) if diff == 0 else (np.inf * np.sign(diff), 0.0)
    else:
        z = diff / se
        pval = float(2 * stats.norm.sf(abs(z)))
    return DeLongResult(float(aucs[0]), float(aucs[1]), float(diff), se, float(z), pval)


def _as_scores(y: Any, s: Any) -> tuple[np.ndarray, FloatArray]:
    yv = np.asarray(y).ravel()
    sv = np.asarray(s, dtype=float).ravel()
    if yv.shape != sv.shape:
        raise InputError(f"y has {yv.size} values but the scores {sv.size}")
    if not np.isfinite(sv).all():
        raise InputError("scores must be finite")
    labels = set(np.unique(yv).tolist())
    if not labels <= {0, 1}:
        raise InputError(f"y must be in {{0, 1}}; got values {sorted(labels)[:5]}")
    return yv.astype(bool), sv


def decision_curve(y: Any, p: Any, *, thresholds: Any = None) -> pd.DataFrame:
    """Net benefit of the model, of treating all and of treating none (decision curve).

    .. math:: \\mathrm{NB}(t) = \\frac{TP(t)}{n} - \\frac{FP(t)}{n}\\,\\frac{t}{1-t}

    with :math:`\\hat y = [p \\ge t]`; treat-all uses :math:`\\hat y = 1`.

    Parameters
    ----------
    y, p : array-like of shape (n,)
    thresholds : array-like, optional
        Threshold probabilities in (0, 1); default 0.01 ... 0.99 by 0.01.

    Returns
    -------
    DataFrame
        Columns ``threshold``, ``net_benefit``, ``treat_all``, ``treat_none``.

    References
    ----------
    Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating
    prediction models. Med Decis Making 2006;26(6):565-574.
    """
    yb, p = _as_binary(y, p)
    t = np.arange(1, 100) / 100 if thresholds is None else np.asarray(thresholds, dtype=float)
    if t.size == 0 or t.min() <= 0 or t.max() >= 1:
        raise InputError("thresholds must lie in (0, 1)")
    n = yb.size
    pred = p[None, :] >= t[:, None]
    tp = (pred & yb).sum(1) / n
    fp = (pred & ~yb).sum(1) / n
    odds = t / (1 - t)
    prev = yb.mean()
    return pd.DataFrame(
        {
            "threshold": t,
            "net_benefit": tp - fp * odds,
            "treat_all": prev - (1 - prev) * odds,
            "treat_none": np.zeros_like(t),
        }
    )
