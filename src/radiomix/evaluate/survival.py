"""Survival metrics: C-index, time-dependent AUC, Kaplan–Meier by risk group, grouped CV.

Risk scores are oriented so that *higher means earlier event* (a Cox linear predictor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    patient_bootstrap_weights,
    percentile_interval,
    widen_interval,
)
from radiomix.evaluate.splits import check_groups, grouped_cv_splits
from radiomix.evaluate.validate import _rows, groups_fit_params, route_groups, single_blas_thread
from radiomix.types import FloatArray

MIN_AT_RISK = 10


def _check(time: Any, risk: Any, event: Any) -> tuple[FloatArray, FloatArray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    r = np.asarray(risk, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if not (t.size == r.size == e.size):
        raise InputError(f"time, risk and event differ in length: {t.size}, {r.size}, {e.size}")
    if not (np.isfinite(t).all() and np.isfinite(r).all()):
        raise InputError("time and risk must be finite")
    if not np.isin(e, (0, 1, True, False)).all():
        raise InputError("event must be 0 (censored) or 1 (observed)")
    return t, r, e.astype(bool)


def _pair_matrices(t: FloatArray, r: FloatArray, e: np.ndarray) -> tuple[FloatArray, FloatArray]:
    """Comparable-pair indicator and concordance score (1, 1/2, 0), both (n, n).

    Pair (i, j) is comparable when i has an observed event and j left later
    (:math:`T_j > T_i`) or was censored at the same time (:math:`T_j = T_i`, j censored).
    """
    later = t[None, :] > t[:, None]
    same_censored = (t[None, :] == t[:, None]) & ~e[None, :]
    comp = (e[:, None] & (later | same_censored)).astype(float)
    conc = np.where(r[:, None] > r[None, :], 1.0, np.where(r[:, None] == r[None, :], 0.5, 0.0))
    return comp, comp * conc


def concordance_index(time: Any, risk: Any, event: Any, W: Any = None) -> Any:
    """Harrell's concordance index of a risk score (higher risk = earlier event).

    .. math:: C = \\frac{\\sum_{i,j} w_i w_j\\,\\mathbb 1[\\text{comparable}_{ij}]\\,
              (\\mathbb 1[r_i > r_j] + \\tfrac12 \\mathbb 1[r_i = r_j])}
              {\\sum_{i,j} w_i w_j\\,\\mathbb 1[\\text{comparable}_{ij}]}

    A pair is comparable when :math:`\\delta_i = 1` and :math:`T_j > T_i`, or
    :math:`T_j = T_i` with j censored (lifelines' convention); two events at the same time
    are not compared.

    Parameters
    ----------
    time, risk, event : array-like of shape (n,)
    W : array-like of shape (B, n), optional
        Bootstrap row weights; returns one value per row of ``W``.

    Returns
    -------
    float, or ndarray of shape (B,) when ``W`` is given.

    Examples
    --------
    >>> concordance_index([1, 2, 3, 4], [4, 3, 2, 1], [1, 1, 1, 1])
    1.0
    """
    t, r, e = _check(time, risk, event)
    comp, conc = _pair_matrices(t, r, e)
    if W is None:
        den = comp.sum()
        return float(conc.sum() / den) if den > 0 else float("nan")
    Wm = np.atleast_2d(np.asarray(W, dtype=float))
    num = ((Wm @ conc) * Wm).sum(axis=1)
    den = ((Wm @ comp) * Wm).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _censoring_survival_before(t: FloatArray, e: np.ndarray, at: FloatArray) -> FloatArray:
    """Kaplan–Meier estimate of the censoring survival :math:`\\hat G(s-)` at ``at``.

    Censorings are the 'events' of :math:`G`; an observed event at the same time as a
    censoring is taken to precede it.
    """
    cens_times = np.unique(t[~e])
    if cens_times.size == 0:
        return np.ones_like(np.asarray(at, dtype=float))
    g = np.ones(cens_times.size)
    surv = 1.0
    for k, c in enumerate(cens_times):
        n_risk = np.sum(t >= c)
        d = np.sum((t == c) & ~e)
        surv *= 1.0 - d / n_risk
        g[k] = surv
    idx = np.searchsorted(cens_times, at, side="left") - 1  # strictly before
    return np.where(idx >= 0, g[np.clip(idx, 0, None)], 1.0)


def time_dependent_auc(
    time: Any,
    risk: Any,
    event: Any,
    horizons: Sequence[float],
    *,
    min_at_risk: int = MIN_AT_RISK,
    W: Any = None,
) -> pd.DataFrame:
    """Cumulative/dynamic time-dependent ROC AUC at each horizon (Uno's IPCW estimator).

    .. math:: \\mathrm{AUC}(t) = \\frac{\\sum_i \\sum_j \\omega_i\\,
              \\mathbb 1[T_i \\le t, \\delta_i = 1]\\,\\mathbb 1[T_j > t]\\,
              (\\mathbb 1[r_i > r_j] + \\tfrac12\\mathbb 1[r_i = r_j])}
              {\\sum_i \\omega_i \\mathbb 1[T_i \\le t, \\delta_i = 1]\\;
              \\sum_j \\mathbb 1[T_j > t]},
              \\qquad \\omega_i = 1/\\hat G(T_i-)

    with :math:`\\hat G` the Kaplan–Meier estimate of the censoring distribution: cases have
    had the event by :math:`t`, controls are still event-free after :math:`t`.

    Parameters
    ----------
    time, risk, event : array-like of shape (n,)
    horizons : sequence of float
        Times (same unit as ``time``), e.g. 1 and 2 years.
    min_at_risk : int
        A horizon with fewer patients at risk (:math:`T \\ge t`) is refused.
    W : array-like of shape (B, n), optional
        Bootstrap row weights (the AUC column then holds arrays).

    Returns
    -------
    DataFrame
        ``horizon``, ``auc``, ``n_at_risk``, ``n_cases``, ``n_controls``.

    Raises
    ------
    InputError
        A horizon with fewer than ``min_at_risk`` patients at risk, or without a case.

    References
    ----------
    Uno H, Cai T, Tian L, Wei LJ. Evaluating prediction rules for t-year survivors with
    censored regression models. J Am Stat Assoc 2007;102(478):527-537.
    """
    t, r, e = _check(time, risk, event)
    hs = [float(h) for h in np.atleast_1d(horizons)]
    if not hs:
        raise InputError("give at least one horizon")
    omega = np.zeros_like(t)
    g_before = _censoring_survival_before(t, e, t)
    omega[e] = 1.0 / np.where(g_before[e] > 0, g_before[e], np.nan)
    conc = np.where(r[:, None] > r[None, :], 1.0, np.where(r[:, None] == r[None, :], 0.5, 0.0))
    Wm = None if W is None else np.atleast_2d(np.asarray(W, dtype=float))
    rows = []
    for h in hs:
        n_at_risk = int(np.sum(t >= h))
        if n_at_risk < min_at_risk:
            raise InputError(
                f"horizon {h:g}: only {n_at_risk} patient(s) still at risk (time >= {h:g}), "
                f"fewer than {min_at_risk}; follow-up does not support this horizon, choose an "
                f"earlier one (largest follow-up time {t.max():g})"
            )
        case = e & (t <= h)
        ctrl = t > h
        if not case.any() or not ctrl.any():
            raise InputError(
                f"horizon {h:g}: {int(case.sum())} case(s), {int(ctrl.sum())} "
                "control(s); both are needed"
            )
        wc = np.where(case, omega, 0.0)
        M = conc * np.outer(wc, ctrl.astype(float))
        if Wm is None:
            auc: Any = float(M.sum() / (wc.sum() * ctrl.sum()))
        else:
            num = ((Wm @ M) * Wm).sum(axis=1)
            den = (Wm @ wc) * (Wm @ ctrl.astype(float))
            with np.errstate(invalid="ignore", divide="ignore"):
                auc = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        rows.append(
            {
                "horizon": h,
                "auc": auc,
                "n_at_risk": n_at_risk,
                "n_cases": int(case.sum()),
                "n_controls": int(ctrl.sum()),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class KaplanMeierByRisk:
    """Kaplan–Meier curves of risk groups with the log-rank test.

    Attributes
    ----------
    groups : DataFrame
        ``group``, ``n``, ``events``, ``median_time`` (NaN when not reached).
    curves : dict of str to DataFrame
        ``time``, ``survival``, ``ci_lower``, ``ci_upper`` of each group.
    logrank_statistic, logrank_p : float
        Log-rank test across the groups (chi-squared, groups - 1 df).
    cutoffs : list of float
        Risk thresholds between groups.
    assignment : ndarray of str
        Group of each row.
    """

    groups: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    logrank_statistic: float
    logrank_p: float
    cutoffs: list[float]
    assignment: np.ndarray = field(repr=False)

    def plot(self, *, time_label: str = "time", title: str | None = None) -> Any:
        """Kaplan–Meier figure (matplotlib ``Figure``, no pyplot state)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4.5))
        ax = fig.add_subplot()
        for name, cur in self.curves.items():
            n = int(self.groups.loc[self.groups["group"] == name, "n"].iloc[0])
            line = ax.step(cur["time"], cur["survival"], where="post", label=f"{name} (n={n})")[0]
            ax.fill_between(
                cur["time"],
                cur["ci_lower"],
                cur["ci_upper"],
                step="post",
                alpha=0.2,
                color=line.get_color(),
            )
        ax.set_xlabel(time_label)
        ax.set_ylabel("event-free probability")
        ax.set_ylim(0, 1.02)
        ax.set_title(title or f"Kaplan-Meier by risk group (log-rank p = {self.logrank_p:.3g})")
        ax.legend(loc="lower left")
        fig.tight_layout()
        return fig


def km_by_risk_group(
    time: Any,
    risk: Any,
    event: Any,
    *,
    cutoffs: Sequence[float] | None = None,
    n_groups: int = 2,
) -> KaplanMeierByRisk:
    """Split rows into risk groups and compare their Kaplan–Meier curves (log-rank test).

    Parameters
    ----------
    time, risk, event : array-like of shape (n,)
    cutoffs : sequence of float, optional
        Risk thresholds (ascending). Take them from the *training* data (e.g. the training
        median) when ``risk`` holds test predictions; by default the quantiles of ``risk``
        into ``n_groups`` equal groups.
    n_groups : int
        Number of groups when ``cutoffs`` is not given.

    Returns
    -------
    KaplanMeierByRisk
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    t, r, e = _check(time, risk, event)
    if cutoffs is None:
        if not (isinstance(n_groups, int) and n_groups >= 2):
            raise InputError(f"n_groups must be an int >= 2; got {n_groups!r}")
        cuts = list(np.quantile(r, np.arange(1, n_groups) / n_groups))
    else:
        cuts = sorted(float(c) for c in cutoffs)
    k = np.searchsorted(np.asarray(cuts), r, side="right")
    labels = (
        ["low risk", "high risk"]
        if len(cuts) == 1
        else [f"risk group {i + 1}" for i in range(len(cuts) + 1)]
    )
    assign = np.asarray([labels[i] for i in k])
    present = [lab for lab in labels if (assign == lab).any()]
    if len(present) < 2:
        raise InputError(f"all rows fall in one risk group with cutoffs {cuts}")
    rows, curves = [], {}
    for lab in present:
        m = assign == lab
        km = KaplanMeierFitter().fit(t[m], e[m], label=lab)
        sf = km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_
        curves[lab] = pd.DataFrame(
            {
                "time": sf.index.to_numpy(),
                "survival": sf.to_numpy(),
                "ci_lower": ci.iloc[:, 0].to_numpy(),
                "ci_upper": ci.iloc[:, 1].to_numpy(),
            }
        )
        med = km.median_survival_time_
        rows.append(
            {
                "group": lab,
                "n": int(m.sum()),
                "events": int(e[m].sum()),
                "median_time": float(med) if np.isfinite(med) else np.nan,
            }
        )
    test = multivariate_logrank_test(t, assign, e)
    return KaplanMeierByRisk(
        pd.DataFrame(rows), curves, float(test.test_statistic), float(test.p_value), cuts, assign
    )


@dataclass
class SurvivalEvaluation:
    """Out-of-fold risk scores of a survival model with C-index and time-dependent AUCs.

    Attributes
    ----------
    scheme : str
    metrics : DataFrame
        ``metric`` (``c_index``, ``td_auc``), ``horizon``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n_boot`` (``n_at_risk`` for the AUCs).
    predictions : DataFrame
        Out-of-fold risk of every row in every repeat.
    settings : dict
    folds : DataFrame
        One row per outer fold: ``repeat``, ``fold``, ``n_train``, ``n_test``,
        ``n_test_patients``, ``best_params`` (empty without a tuning grid).
    """

    scheme: str
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    settings: dict[str, Any]
    folds: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        from radiomix.evaluate.validate import _py

        return {
            "scheme": self.scheme,
            "metrics": [{k: _py(v) for k, v in r.items()} for r in self.metrics.to_dict("records")],
            "folds": [{k: _py(v) for k, v in r.items()} for r in self.folds.to_dict("records")],
            "settings": {k: _py(v) for k, v in self.settings.items()},
        }


def c_index_scorer(estimator: BaseEstimator, X: Any, y: Any) -> float:
    """Scorer (``scoring=`` of ``GridSearchCV``): Harrell's C-index of ``estimator.predict``.

    ``y`` is a survival target (:func:`radiomix.model.survival.survival_target`); the
    estimator's ``predict`` returns a risk score (higher = earlier event).
    """
    from radiomix.model.survival import split_survival_target

    time, event = split_survival_target(y)
    return float(concordance_index(time, estimator.predict(X), event))


def fit_survival_tuned(
    estimator: BaseEstimator,
    X: Any,
    time: Any,
    event: Any,
    *,
    groups: Any,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
) -> BaseEstimator:
    """Fit a clone of a survival ``estimator``, tuned by patient-grouped CV on the C-index.

    Without a grid the clone is simply fitted. With one, ``GridSearchCV`` over the folds of
    ``StratifiedGroupKFold(inner_splits, shuffle=True, random_state=random_state)``
    (stratified by the event indicator, grouped by ``groups``) chooses the parameters with
    the highest mean C-index over the inner test folds (the first of the grid on ties) and
    refits on all rows. An estimator whose ``fit`` takes ``groups`` receives the patient ids
    (:func:`radiomix.evaluate.validate.groups_fit_params`).

    Parameters
    ----------
    estimator : survival estimator
        ``fit(X, [time, event])`` and ``predict(X)`` -> risk.
    X : DataFrame or array of shape (n, p)
    time, event : array-like of shape (n,)
    groups : array-like of shape (n,)
        Patient ids (required).
    param_grid : mapping, optional
        E.g. ``{"model__penalizer": [0.01, 0.1, 1.0]}``.
    inner_splits : int
    random_state : int

    Returns
    -------
    estimator
        The fitted clone, or the fitted ``GridSearchCV`` (``best_params_``,
        ``best_estimator_``).

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        Fewer patients than inner folds.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from radiomix.model.survival import survival_target

    t, _, e = _check(time, np.zeros(len(np.asarray(time))), event)
    g = check_groups(groups, t.size)
    y = survival_target(t, e)
    est = clone(estimator)
    if not param_grid:
        return est.fit(X, y, **groups_fit_params(est, g))
    est, param_grid = route_groups(est, param_grid)
    fit_params = groups_fit_params(est, g)
    n_patients = np.unique(g).size
    if not (isinstance(inner_splits, (int, np.integer)) and 2 <= inner_splits <= n_patients):
        raise InputError(
            f"inner_splits must be an int in [2, {n_patients}] (patients of the training "
            f"rows); got {inner_splits!r}"
        )
    inner = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True, random_state=random_state)
    folds = list(inner.split(np.zeros(t.size), e.astype(int), g))
    search = GridSearchCV(
        est,
        dict(param_grid),
        scoring=c_index_scorer,
        cv=folds,
        refit=True,
        error_score="raise",
    )
    return search.fit(X, y, **fit_params)


@single_blas_thread
def survival_cv(
    estimator: BaseEstimator,
    X: Any,
    time: Any,
    event: Any,
    *,
    groups: Any,
    horizons: Sequence[float] = (),
    n_splits: int = 5,
    n_repeats: int = 1,
    n_bootstrap: int = 1000,
    min_at_risk: int = MIN_AT_RISK,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
) -> SurvivalEvaluation:
    """Patient-grouped (nested) cross-validated C-index and time-dependent AUCs.

    Folds are stratified by the event indicator. Out-of-fold risk scores of each repeat are
    scored on all rows; the estimate averages over repeats, and patient-bootstrap
    replicates are averaged the same way; the intervals are widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` like every cross-validated
    interval (the C-index and the AUC are both pairwise rank statistics). Horizons with too
    few patients at risk are refused
    (:func:`time_dependent_auc`). With ``param_grid`` each outer training fold is tuned by an
    inner patient-grouped CV on the C-index (:func:`fit_survival_tuned`), as
    :func:`radiomix.evaluate.nested_cv` does for classifiers.

    Parameters
    ----------
    estimator : survival estimator
        ``fit(X, [time, event])`` and ``predict(X)`` -> risk, e.g.
        :class:`radiomix.model.survival.CoxPH`.
    X : DataFrame or array
    time, event : array-like of shape (n,)
    groups : array-like of shape (n,)
        Patient ids (required).
    horizons : sequence of float
    n_splits, n_repeats : int
        Outer folds (repeat ``r`` uses ``random_state + r``) and repeats.
    n_bootstrap : int
    min_at_risk : int
    param_grid : mapping, optional
        Inner-loop grid, e.g. ``{"model__penalizer": [0.01, 0.1, 1.0]}``; None = no tuning.
    inner_splits : int
        Inner folds; the inner split of outer fold ``k`` of repeat ``r`` is seeded with
        ``random_state + 1000 r + k``.
    random_state : int

    Returns
    -------
    SurvivalEvaluation
        ``folds`` lists the parameters chosen in each outer fold.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    """
    t, _, e = _check(time, np.zeros(len(np.asarray(time))), event)
    g = check_groups(groups, t.size)
    if len(X) != t.size:
        raise InputError(f"X has {len(X)} rows but time has {t.size}")
    risks = np.full((n_repeats, t.size), np.nan)
    folds = np.full((n_repeats, t.size), -1)
    fold_rows: list[dict[str, Any]] = []
    for sp in grouped_cv_splits(
        e.astype(int), groups=g, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
    ):
        model = fit_survival_tuned(
            estimator,
            _rows(X, sp.train),
            t[sp.train],
            e[sp.train],
            groups=g[sp.train],
            param_grid=param_grid,
            inner_splits=inner_splits,
            random_state=random_state + 1000 * sp.repeat + sp.fold,
        )
        risks[sp.repeat, sp.test] = model.predict(_rows(X, sp.test))
        folds[sp.repeat, sp.test] = sp.fold
        fold_rows.append(
            {
                "repeat": sp.repeat,
                "fold": sp.fold,
                "n_train": int(sp.train.size),
                "n_test": int(sp.test.size),
                "n_test_patients": int(np.unique(g[sp.test]).size),
                "best_params": dict(getattr(model, "best_params_", {})),
            }
        )
    W = patient_bootstrap_weights(g, n_bootstrap=n_bootstrap, random_state=random_state)
    rows = []
    c_point = np.mean([concordance_index(t, rk, e) for rk in risks])
    c_reps = np.mean([concordance_index(t, rk, e, W) for rk in risks], axis=0)
    lo, hi, nv = percentile_interval(c_reps)
    lo, hi = widen_interval(c_point, lo, hi, scale=CV_INTERVAL_SCALE, bounds=(0.0, 1.0))
    rows.append(
        {
            "metric": "c_index",
            "horizon": np.nan,
            "estimate": c_point,
            "ci_low": lo,
            "ci_high": hi,
            "n_boot": nv,
        }
    )
    if len(horizons):
        pts = [time_dependent_auc(t, rk, e, horizons, min_at_risk=min_at_risk) for rk in risks]
        reps = [
            time_dependent_auc(t, rk, e, horizons, min_at_risk=min_at_risk, W=W) for rk in risks
        ]
        for i, h in enumerate(pts[0]["horizon"]):
            est = float(np.mean([p["auc"].iloc[i] for p in pts]))
            rep = np.mean([np.asarray(rp["auc"].iloc[i]) for rp in reps], axis=0)
            lo, hi, nv = percentile_interval(rep)
            lo, hi = widen_interval(est, lo, hi, scale=CV_INTERVAL_SCALE, bounds=(0.0, 1.0))
            rows.append(
                {
                    "metric": "td_auc",
                    "horizon": float(h),
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_boot": nv,
                    "n_at_risk": int(pts[0]["n_at_risk"].iloc[i]),
                }
            )
    preds = pd.DataFrame(
        {
            "row": np.tile(np.arange(t.size), n_repeats),
            "patient_id": np.tile(g, n_repeats),
            "time": np.tile(t, n_repeats),
            "event": np.tile(e.astype(int), n_repeats),
            "repeat": np.repeat(np.arange(n_repeats), t.size),
            "fold": folds.ravel(),
            "risk": risks.ravel(),
        }
    )
    scheme = f"patient-grouped CV: {n_splits} folds stratified by event, {n_repeats} repeat(s)"
    if param_grid:
        scheme = (
            f"nested patient-grouped CV: {n_splits} outer x {inner_splits} inner folds "
            f"stratified by event (inner loop tunes by C-index), {n_repeats} repeat(s)"
        )
    return SurvivalEvaluation(
        scheme,
        pd.DataFrame(rows),
        preds,
        {
            "n_splits": n_splits,
            "n_repeats": n_repeats,
            "n_bootstrap": n_bootstrap,
            "random_state": random_state,
            "horizons": [float(h) for h in horizons],
            "min_at_risk": min_at_risk,
            "param_grid": {k: list(v) for k, v in (param_grid or {}).items()},
            "inner_splits": inner_splits if param_grid else None,
        },
        pd.DataFrame(fold_rows),
    )
