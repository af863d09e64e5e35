"""Survival evaluation: C-index, time-dependent AUC, calibration at a horizon, Kaplan–Meier
by risk group, patient-grouped (nested) CV, hold-out and external validation.

Risk scores are oriented so that *higher means earlier event* (a Cox linear predictor).
Every survival curve a figure draws (Kaplan–Meier by group, observed vs predicted event
probability) is computed here and returned as data; the report only draws it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from radiomix._threads import single_blas_thread
from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    MIN_PER_CLASS,
    patient_bootstrap_weights,
    percentile_interval,
    perfect_score_interval,
    undefined_share_reason,
    widen_interval,
)
from radiomix.evaluate.metrics import settle
from radiomix.evaluate.splits import (
    Split,
    centre_split,
    check_groups,
    check_stratified_folds,
    grouped_cv_splits,
    patient_holdout_split,
)
from radiomix.evaluate.validate import (
    _rows,
    best_by_penalty,
    canonical_rows,
    grid_tied,
    groups_fit_params,
    route_groups,
    run_search,
    scorable_means,
    tuned_params,
    unwrap,
)
from radiomix.types import FloatArray

log = logging.getLogger(__name__)

MIN_AT_RISK = 10
"""Fewest patients still at risk (time >= horizon) for a time-dependent AUC or a
calibration at that horizon."""

RefusalPolicy = Literal["raise", "record"]


def event_prob_column(horizon: float) -> str:
    """Name of the predictions column holding the predicted event probability by ``horizon``.

    Examples
    --------
    >>> event_prob_column(2.0), event_prob_column(0.5)
    ('event_prob_2', 'event_prob_0.5')
    """
    return f"{EVENT_PROB_PREFIX}{float(horizon):g}"


EVENT_PROB_PREFIX = "event_prob_"
"""Prefix of the predictions columns of :func:`event_prob_column`."""


def horizon_refusal(
    time: Any, event: Any, horizon: float, *, min_at_risk: int = MIN_AT_RISK,
    groups: Any = None,
) -> str | None:
    """Why a time-dependent AUC or a calibration at ``horizon`` cannot be estimated, or None.

    Refused when fewer than ``min_at_risk`` patients are still at risk
    (:math:`T \\ge t`), or when there are fewer than
    :data:`~radiomix.evaluate.bootstrap.MIN_PER_CLASS` cases (event by :math:`t`) or
    controls (event-free after :math:`t`), counted as patients when ``groups`` is given:
    the rule of every AUC (a single case gave an interval wholly below chance).

    Examples
    --------
    >>> horizon_refusal([1, 2, 3, 4], [1, 1, 0, 0], 2.5, min_at_risk=2) is None
    True
    >>> horizon_refusal([1, 2, 3, 4], [1, 1, 0, 0], 3.5, min_at_risk=2)[:36]
    'horizon 3.5: only 1 patient(s) still'
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel().astype(bool)
    h = float(horizon)
    n_at_risk = patients_at_risk(t, h, groups)
    if n_at_risk < min_at_risk:
        return (
            f"horizon {h:g}: only {n_at_risk} patient(s) still at risk (time >= {h:g}), "
            f"fewer than {min_at_risk} (events and the end of follow-up leave too few to "
            f"weigh the controls); choose an earlier horizon (largest time {t.max():.3g})"
        )
    case, ctrl = e & (t <= h), t > h
    if groups is None:
        n_case, n_ctrl = int(case.sum()), int(ctrl.sum())
    else:  # patients, not rows (two lesions of one patient are one case)
        g = np.asarray(groups).ravel()
        n_case, n_ctrl = np.unique(g[case]).size, np.unique(g[ctrl]).size
    if min(n_case, n_ctrl) < MIN_PER_CLASS:
        return (f"horizon {h:g}: {n_case} case(s) (event by then), {n_ctrl} control(s) "
                f"(event-free after it); at least {MIN_PER_CLASS} of each are needed")
    return None


def patients_at_risk(time: Any, horizon: float, groups: Any = None) -> int:
    """Number at risk at ``horizon`` (:math:`T \\ge t`): patients when ``groups`` (the
    patient id of each row) is given, else rows.

    Examples
    --------
    >>> t = [1, 3, 3, 4]
    >>> patients_at_risk(t, 2.0), patients_at_risk(t, 2.0, ["a", "b", "b", "c"])
    (3, 2)
    """
    t = np.asarray(time, dtype=float).ravel()
    if groups is None:
        return int(np.sum(t >= float(horizon)))
    return int(np.unique(np.asarray(groups).ravel()[t >= float(horizon)]).size)


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
        reason = horizon_refusal(t, e, h, min_at_risk=min_at_risk)
        if reason is not None:
            raise InputError(reason)
        n_at_risk = int(np.sum(t >= h))
        case = e & (t <= h)
        ctrl = t > h
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
        ``time``, ``survival``, ``ci_lower``, ``ci_upper`` of each group (a step function,
        right-continuous, starting at time 0 with survival 1; 95 % log(-log) intervals).
    logrank_statistic, logrank_p : float
        Log-rank test across the groups (chi-squared, groups - 1 df); NaN when no row has
        the event (there is nothing to compare).
    cutoffs : list of float
        Risk thresholds between groups (for a per-fold training cut-off: each fold's).
    assignment : ndarray of str
        Group of each row.
    at_risk : DataFrame
        Numbers at risk under the plot: ``group``, ``time``, ``n_at_risk`` (:math:`T \\ge
        t`), ``n_events`` and ``n_censored`` (cumulative, :math:`T \\le t`), one row per
        group and requested time.
    censored : DataFrame
        Censoring marks: ``group``, ``time``, ``survival`` (the curve's value there), one row
        per distinct censoring time of each group.
    cutoff_source : str
        Where the cut-offs come from (quantiles of the scored risk, or the training data).
    hazard_ratio : GroupHazardRatio or None
        High- against low-risk group (:func:`group_hazard_ratio`; two groups only).
    """

    groups: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    logrank_statistic: float
    logrank_p: float
    cutoffs: list[float]
    assignment: np.ndarray = field(repr=False)
    at_risk: pd.DataFrame = field(default_factory=pd.DataFrame)
    censored: pd.DataFrame = field(default_factory=pd.DataFrame)
    cutoff_source: str = "quantiles of the scored risk"
    hazard_ratio: GroupHazardRatio | None = None

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


def at_risk_times(t_max: float, *, most: int = 7) -> FloatArray:
    """Times of the numbers at risk under a Kaplan–Meier plot: 0 and the multiples of the
    smallest round step (1, 2 or 5 times a power of ten) that gives at most ``most`` times
    up to ``t_max``, so that they can sit under the axis ticks.

    Examples
    --------
    >>> at_risk_times(5.81).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> at_risk_times(10.5).tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """
    if not np.isfinite(t_max) or t_max <= 0:
        return np.zeros(1)
    for k in range(int(np.floor(np.log10(t_max))) - 2, int(np.ceil(np.log10(t_max))) + 2):
        for m in (1.0, 2.0, 5.0):
            step = m * 10.0**k
            if np.floor(t_max / step + 1e-9) + 1 <= most:
                return np.round(np.arange(0, np.floor(t_max / step + 1e-9) + 1) * step, 12)
    return np.array([0.0, t_max])  # pragma: no cover - a step always fits


def _km_groups(
    t: FloatArray,
    e: np.ndarray,
    assign: np.ndarray,
    labels: list[str],
    cuts: list[float],
    *,
    at_times: Sequence[float] | None,
    cutoff_source: str,
) -> KaplanMeierByRisk:
    """Kaplan–Meier curve, numbers at risk and censoring marks of each assigned group."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    present = [lab for lab in labels if (assign == lab).any()]
    if len(present) < 2:
        raise InputError(f"all rows fall in one risk group with cutoffs {cuts}")
    times = (
        at_risk_times(float(t.max()))
        if at_times is None
        else np.asarray(at_times, dtype=float).ravel()
    )
    if times.size == 0 or not np.isfinite(times).all() or (times < 0).any():
        raise InputError(f"at_times must be finite times >= 0; got {list(times)}")
    rows, curves, risk_rows, cens_rows = [], {}, [], []
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
        tg, eg = t[m], e[m]
        for tau in times:
            risk_rows.append(
                {
                    "group": lab,
                    "time": float(tau),
                    "n_at_risk": int(np.sum(tg >= tau)),
                    "n_events": int(np.sum(eg & (tg <= tau))),
                    "n_censored": int(np.sum(~eg & (tg <= tau))),
                }
            )
        ct = np.unique(tg[~eg])
        idx = np.searchsorted(sf.index.to_numpy(dtype=float), ct, side="right") - 1
        for c, k in zip(ct, idx, strict=True):
            cens_rows.append({"group": lab, "time": float(c), "survival": float(sf.iloc[k])})
    if e.any():
        test = multivariate_logrank_test(t, assign, e)
        statistic, p_value = float(test.test_statistic), float(test.p_value)
    else:  # no event: nothing to compare (lifelines would say p = 1)
        statistic = p_value = float("nan")
    return KaplanMeierByRisk(
        pd.DataFrame(rows),
        curves,
        statistic,
        p_value,
        cuts,
        assign,
        pd.DataFrame(risk_rows, columns=["group", "time", "n_at_risk", "n_events", "n_censored"]),
        pd.DataFrame(cens_rows, columns=["group", "time", "survival"]),
        cutoff_source,
    )


def km_by_risk_group(
    time: Any,
    risk: Any,
    event: Any,
    *,
    cutoffs: Sequence[float] | None = None,
    n_groups: int = 2,
    at_times: Sequence[float] | None = None,
) -> KaplanMeierByRisk:
    """Split rows into risk groups and compare their Kaplan–Meier curves (log-rank test).

    Parameters
    ----------
    time, risk, event : array-like of shape (n,)
    cutoffs : sequence of float, optional
        Risk thresholds (ascending). Take them from the *training* data (e.g. the training
        median) when ``risk`` holds test predictions (:func:`km_by_training_cutoff`); by
        default the quantiles of ``risk`` into ``n_groups`` equal groups.
    n_groups : int
        Number of groups when ``cutoffs`` is not given.
    at_times : sequence of float, optional
        Times of the numbers-at-risk table (default: 5 times evenly from 0 to the last).

    Returns
    -------
    KaplanMeierByRisk
    """
    t, r, e = _check(time, risk, event)
    if cutoffs is None:
        if not (isinstance(n_groups, int) and n_groups >= 2):
            raise InputError(f"n_groups must be an int >= 2; got {n_groups!r}")
        cuts = list(np.quantile(r, np.arange(1, n_groups) / n_groups))
        source = f"quantiles of the scored risk ({n_groups} equal groups)"
    else:
        cuts = sorted(float(c) for c in cutoffs)
        source = "cut-offs given by the caller"
    k = np.searchsorted(np.asarray(cuts), r, side="right")
    labels = (
        ["low risk", "high risk"]
        if len(cuts) == 1
        else [f"risk group {i + 1}" for i in range(len(cuts) + 1)]
    )
    assign = np.asarray([labels[i] for i in k])
    return _km_groups(t, e, assign, labels, cuts, at_times=at_times, cutoff_source=source)


@dataclass(frozen=True)
class GroupHazardRatio:
    """Hazard ratio of one group against another, with its 95 % Wald interval.

    ``estimate``, ``ci_low``, ``ci_high`` are NaN and ``reason`` says why when the ratio is
    not estimable (a group without an event: the partial likelihood has no finite maximum).
    ``scale`` is the widening of the interval on the log scale (1: the plain Wald interval;
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` for groups formed by the
    out-of-fold risks of a cross-validation).
    """

    estimate: float
    ci_low: float
    ci_high: float
    reason: str | None = None
    scale: float = 1.0


def group_hazard_ratio(time: Any, event: Any, exposed: Any, *,
                       names: tuple[str, str] = ("high-risk", "low-risk"),
                       scale: float = 1.0) -> GroupHazardRatio:
    """Hazard ratio of the rows in ``exposed`` against the others: the Cox model with the
    group indicator as its only covariate (Efron ties, lifelines' ``CoxPHFitter``),
    :math:`\\exp(\\hat\\beta)` with the 95 % Wald interval :math:`\\exp(\\hat\\beta \\pm
    1.96\\,s\\,\\mathrm{se})` (Cox 1972, J R Stat Soc B 34:187-220), :math:`s` = ``scale``.

    ``scale`` > 1 widens the interval on the log scale, as every interval of a
    cross-validated estimate is widened (:data:`radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`):
    when the groups come from out-of-fold risk scores, every patient's
    outcome also trained the models that grouped the other patients, which the Wald
    interval of a fixed grouping leaves out.

    The ratio has no finite estimate (the partial likelihood grows without bound, Bryson
    and Johnson 1981, Biometrika 68:517-524) when a group has no event, or when every event
    of one group happens after the other group's last patient left follow-up (the groups'
    event times do not overlap); it is then not estimable, with the reason.

    Examples
    --------
    >>> hr = group_hazard_ratio([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 1, 0, 1],
    ...                         [1, 0, 1, 1, 0, 1, 0, 0])
    >>> bool(hr.estimate > 1), hr.ci_low < hr.estimate < hr.ci_high
    (True, True)
    >>> group_hazard_ratio([1, 2, 3, 4], [1, 1, 1, 1], [1, 1, 0, 0]).reason[:40]
    'not estimable: every event of the low-ri'
    """
    from lifelines import CoxPHFitter

    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    x = np.asarray(exposed).astype(bool)
    for group, rows in ((names[0], x), (names[1], ~x)):
        if not e[rows].any():
            return GroupHazardRatio(
                np.nan, np.nan, np.nan,
                f"not estimable: no event in the {group} group, so the hazard ratio has no "
                "finite estimate")
    for (group, rows), (other, others) in (((names[1], ~x), (names[0], x)),
                                           ((names[0], x), (names[1], ~x))):
        if t[e & rows].min() > t[others].max():  # no event with the other group at risk
            return GroupHazardRatio(
                np.nan, np.nan, np.nan,
                f"not estimable: every event of the {group} group happens after the last "
                f"{other} patient left follow-up, so the hazard ratio has no finite estimate")
    frame = pd.DataFrame({"time": t, "event": e.astype(int), "group": x.astype(float)})
    # lifelines' default stopping rule leaves beta about 1e-5 from the maximum here; one
    # covariate converges to machine precision in a few more Newton steps
    fit = CoxPHFitter().fit(frame, duration_col="time", event_col="event",
                            fit_options={"precision": 1e-14, "max_steps": 500})
    beta = float(fit.params_["group"])
    se = float(fit.standard_errors_["group"])
    z = 1.959963984540054
    if not (abs(beta) + z * scale * se < 700.0):  # exp would overflow: no usable estimate
        return GroupHazardRatio(np.nan, np.nan, np.nan,
                                "not estimable: the Cox fit of the two groups did not reach a "
                                "finite hazard ratio")
    return GroupHazardRatio(float(np.exp(beta)), float(np.exp(beta - z * scale * se)),
                            float(np.exp(beta + z * scale * se)), scale=float(scale))


def km_by_training_cutoff(
    time: Any,
    risk: Any,
    event: Any,
    cutoff: Any,
    *,
    at_times: Sequence[float] | None = None,
    hr_scale: float = 1.0,
) -> KaplanMeierByRisk:
    """Kaplan–Meier curves of test rows split by a risk cut-off fixed on training data.

    A row is "high risk" when its risk exceeds the cut-off, "low risk" otherwise. The cut-off
    (e.g. the median risk of the training fold, :func:`training_cutoff`) never looks at the
    test outcomes, so the log-rank test of the groups is an honest test-set result.

    Parameters
    ----------
    time, risk, event : array-like of shape (n,)
        Test rows.
    cutoff : float or array-like of shape (n,)
        One cut-off, or one per row (cross-validation: the cut-off of the fold that scored
        the row).
    at_times : sequence of float, optional
        Times of the numbers-at-risk table.
    hr_scale : float
        Widening of the hazard ratio's interval (``scale`` of :func:`group_hazard_ratio`).

    Returns
    -------
    KaplanMeierByRisk
        ``cutoffs`` lists the distinct cut-offs used.

    Raises
    ------
    InputError
        All rows on one side of the cut-off.
    """
    t, r, e = _check(time, risk, event)
    cut = np.asarray(cutoff, dtype=float)
    if cut.ndim > 1 or (cut.ndim == 1 and cut.size != t.size) or not np.isfinite(cut).all():
        raise InputError(
            f"cutoff must be one finite number or one per row ({t.size}); got shape {cut.shape}"
        )
    high = r > np.broadcast_to(cut, t.shape)
    if high.all() or not high.any():
        raise InputError(
            f"all {t.size} rows fall {'above' if high.all() else 'at or below'} the training "
            "cut-off; the Kaplan-Meier comparison needs both risk groups"
        )
    assign = np.where(high, "high risk", "low risk")
    cuts = sorted({float(c) for c in np.atleast_1d(cut)})
    km = _km_groups(
        t,
        e,
        assign,
        ["low risk", "high risk"],
        cuts,
        at_times=at_times,
        cutoff_source="training data (risk above the training median = high risk)",
    )
    km.hazard_ratio = group_hazard_ratio(t, e, high, scale=hr_scale)
    return km


def median_logrank_repeat(table: pd.DataFrame) -> int | None:
    """The repeat to draw of a repeated cross-validation: the one whose log-rank p is the
    median of the repeats' (for an even count the higher of the two middle ones, the less
    favourable split: of two repeats, never the better one; the first such repeat on
    ties). With three repeats or more, the figure shows neither the best nor the worst
    split.

    Parameters
    ----------
    table : DataFrame
        ``repeat`` and ``logrank_p`` (NaN: no split), as
        :meth:`SurvivalEvaluation.logrank_by_repeat` returns.

    Returns
    -------
    int or None
        None when no repeat has a log-rank p.

    Examples
    --------
    >>> t = pd.DataFrame({"repeat": [0, 1, 2, 3, 4],
    ...                   "logrank_p": [0.0012, 0.136, 0.0032, 0.0024, 0.0065]})
    >>> median_logrank_repeat(t)
    2
    """
    ok = table[np.isfinite(table["logrank_p"].to_numpy(dtype=float))]
    if ok.empty:
        return None
    ranked = ok.sort_values(["logrank_p", "repeat"], kind="stable")
    return int(ranked["repeat"].iloc[len(ranked) // 2])


def training_cutoff(train_risk: Any, *, quantile: float = 0.5) -> float:
    """Risk cut-off fixed on the training rows: the ``quantile`` of their predicted risk.

    Examples
    --------
    >>> training_cutoff([0.1, 0.4, 0.2, 0.9])
    0.30000000000000004
    """
    r = np.asarray(train_risk, dtype=float).ravel()
    if r.size == 0 or not np.isfinite(r).all():
        raise InputError("training risks must be finite and non-empty")
    if not (0 < quantile < 1):
        raise InputError(f"quantile must be in (0, 1); got {quantile!r}")
    return float(np.quantile(r, quantile))


def survival_calibration(
    time: Any,
    event: Any,
    event_prob: Any,
    horizon: float,
    *,
    n_groups: int = 3,
    min_at_risk: int = MIN_AT_RISK,
) -> pd.DataFrame:
    """Calibration at a horizon: predicted vs Kaplan–Meier observed event probability by group.

    Rows are divided into ``n_groups`` groups of (nearly) equal size by their predicted
    probability of an event by ``horizon`` (tied predictions stay together). In each group
    the observed probability is :math:`1 - \\hat S_{KM}(t)` with its 95 % log(-log)
    interval (Greenwood), which accounts for censoring; a group without an event by the
    horizon, where that interval has width 0, takes the exact upper bound of 0 events
    among the :math:`n` patients still at risk then, :math:`1 - 0.025^{1/n}`.

    Parameters
    ----------
    time, event : array-like of shape (n,)
    event_prob : array-like of shape (n,)
        Predicted :math:`P(T \\le t \\mid x)`, e.g. from a Cox model with a Breslow
        baseline of the training fold (:func:`survival_cv` writes it in the
        :func:`event_prob_column` of its predictions).
    horizon : float
    n_groups : int >= 1
    min_at_risk : int
        The horizon is refused (:func:`horizon_refusal`) with fewer patients at risk.

    Returns
    -------
    DataFrame
        One row per group (lowest predicted risk first): ``horizon``, ``group``, ``n``,
        ``n_events`` (by the horizon), ``n_at_risk`` (at the horizon), ``predicted`` (mean
        predicted probability), ``observed``, ``observed_ci_low``, ``observed_ci_high``
        (NaN where the group's follow-up ends before the horizon) and ``last_time`` (the
        group's longest follow-up).

    Raises
    ------
    InputError
        Refused horizon, probabilities outside [0, 1], or bad ``n_groups``.

    References
    ----------
    Royston P, Altman DG. External validation of a Cox prognostic model: principles and
    methods. BMC Med Res Methodol 2013;13:33.
    """
    from lifelines import KaplanMeierFitter

    h = float(horizon)
    missing = int(np.sum(~np.isfinite(np.asarray(event_prob, dtype=float))))
    if missing:
        raise InputError(
            f"calibration refused: horizon {h:g}: {missing} row(s) have no predicted "
            "probability (the follow-up of their model's training rows ends before it)")
    t, p, e = _check(time, event_prob, event)
    if not ((p >= 0) & (p <= 1)).all():
        raise InputError("event_prob must be probabilities in [0, 1]")
    if not (isinstance(n_groups, (int, np.integer)) and 1 <= n_groups <= t.size):
        raise InputError(f"n_groups must be an int in [1, {t.size}]; got {n_groups!r}")
    reason = horizon_refusal(t, e, h, min_at_risk=min_at_risk)
    if reason is not None:
        raise InputError(f"calibration refused: {reason}")
    if n_groups == 1:
        code = np.zeros(t.size, dtype=int)
    else:
        code = pd.qcut(p, n_groups, labels=False, duplicates="drop").astype(int)
    rows = []
    for k, grp in enumerate(np.unique(code)):
        m = code == grp
        tg, eg = t[m], e[m]
        row = {
            "horizon": h,
            "group": k + 1,
            "n": int(m.sum()),
            "n_events": int(np.sum(eg & (tg <= h))),
            "n_at_risk": int(np.sum(tg >= h)),
            "predicted": float(p[m].mean()),
            "observed": np.nan,
            "observed_ci_low": np.nan,
            "observed_ci_high": np.nan,
            "last_time": float(tg.max()),
        }
        if tg.max() >= h and row["n_events"] == 0:
            # no event by the horizon: Greenwood's interval has width 0; the exact
            # (Clopper-Pearson) bound of 0 events among the patients followed to it
            row.update(observed=0.0, observed_ci_low=0.0,
                       observed_ci_high=1.0 - 0.025 ** (1.0 / max(row["n_at_risk"], 1)))
        elif tg.max() >= h:
            km = KaplanMeierFitter().fit(tg, eg)
            surv = float(km.survival_function_at_times(h).iloc[0])
            ci = km.confidence_interval_survival_function_
            at = ci.loc[ci.index <= h].iloc[-1]
            row.update(
                observed=1.0 - surv,
                observed_ci_low=1.0 - float(at.iloc[1]),
                observed_ci_high=1.0 - float(at.iloc[0]),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _years(h: float) -> str:
    """``1 year``, ``0.5 years``."""
    return f"{float(h):g} year{'' if float(h) == 1 else 's'}"


def one_row_per_patient(pred: pd.DataFrame) -> pd.DataFrame:
    """Predictions of one repeat with one row per patient, for the analyses whose unit is
    the patient (Kaplan–Meier groups, log-rank test, hazard ratio, calibration by group).

    A patient's rows (lesions) share one time and one event; counted as separate
    observations they make the log-rank test and the hazard ratio's interval
    anti-conservative (four lesions of one patient are not four independent events). The
    patient's risk and predicted event probabilities are the mean of its rows' (the
    patient-level score, as ``level: patient`` of a binary outcome); time, event, fold and
    training cut-off are its rows' own (one model scores all of a patient's rows:
    every split groups patients). Rows already one per patient are returned unchanged.

    Raises
    ------
    InputError
        A patient whose rows disagree on time or event (not a patient-level outcome).
    """
    ids = pred["patient_id"]
    if ids.is_unique:
        return pred
    grouped = pred.groupby("patient_id", sort=False)
    for col in ("time", "event"):
        if (grouped[col].nunique(dropna=False) > 1).any():
            raise InputError(
                f"the rows of a patient disagree on {col}: a survival outcome is the patient's "
                "(one time and one event for all of its lesions)"
            )
    mean = [c for c in pred.columns if c == "risk" or c.startswith(EVENT_PROB_PREFIX)]
    *_, means = per_patient_risks(pred["time"].to_numpy(), pred["event"].to_numpy(),
                                  ids.to_numpy(), pred[mean].to_numpy(dtype=float).T)
    shared = [c for c in ("patient_id", "time", "event", "repeat", "fold", "risk_cutoff")
              if c in pred]
    out = pred.drop_duplicates("patient_id")[shared].reset_index(drop=True)
    out[mean] = means.T  # patients in order of their first row, as drop_duplicates keeps
    return out


@dataclass
class SurvivalEvaluation:
    """Risk scores of a survival model on patients it never saw, with C-index and td-AUCs.

    Attributes
    ----------
    scheme : str
    metrics : DataFrame
        ``metric`` (``c_index``, ``td_auc``), ``horizon``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n_boot`` (``n_at_risk`` for the AUCs; ``refused``: the reason a
        horizon was refused, with ``on_refused_horizon="record"``).
    predictions : DataFrame
        Risk of every scored row in every repeat (out-of-fold, or the test rows of a single
        split): ``row``, ``patient_id``, ``time``, ``event``, ``repeat``, ``fold``,
        ``risk``, ``risk_cutoff`` (median risk of the training rows of the model that
        scored the row) and, per horizon, :func:`event_prob_column` (predicted event
        probability by the horizon from a Breslow baseline of those training rows).
    settings : dict
    folds : DataFrame
        One row per fitted model: ``repeat``, ``fold``, ``n_train``, ``n_test``,
        ``n_test_patients``, ``best_params`` (the grid's choice, and the penalty a
        self-tuning model chose, :func:`~radiomix.evaluate.validate.tuned_params`),
        ``failed_candidates`` (grid points whose fit failed in the inner loop),
        ``risk_cutoff``, ``n_selected`` and ``fallback`` (covariates kept by a sparse model
        such as :class:`~radiomix.model.survival.CoxNet`, and whether its fallback was
        used; None for other models).
    model : estimator or None
        The fitted model of a single split (hold-out, external); None for CV.
    """

    scheme: str
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    settings: dict[str, Any]
    folds: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        from radiomix.evaluate.validate import _py

        return {
            "scheme": self.scheme,
            "metrics": [{k: _py(v) for k, v in r.items()} for r in self.metrics.to_dict("records")],
            "folds": [{k: _py(v) for k, v in r.items()} for r in self.folds.to_dict("records")],
            "settings": {k: _py(v) for k, v in self.settings.items()},
        }

    def _repeat(self, repeat: int) -> pd.DataFrame:
        pred = self.predictions[self.predictions["repeat"] == repeat]
        if pred.empty:
            raise InputError(f"no predictions for repeat {repeat!r}")
        return pred

    def _patients(self, repeat: int) -> pd.DataFrame:
        """One repeat's predictions with one row per patient (:func:`one_row_per_patient`)."""
        return one_row_per_patient(self._repeat(repeat))

    def calibration(
        self, horizon: float, *, n_groups: int = 3, repeat: int = 0, min_at_risk: int | None = None
    ) -> pd.DataFrame:
        """:func:`survival_calibration` of the predictions of one repeat at ``horizon``.

        Raises
        ------
        InputError
            ``horizon`` was not among the evaluated horizons, or is refused.
        """
        pred = self._patients(repeat)
        col = event_prob_column(horizon)
        if col not in pred.columns:
            raise InputError(
                f"no predicted probabilities at horizon {horizon:g}; evaluated horizons: "
                f"{self.settings.get('horizons', [])}"
            )
        return survival_calibration(
            pred["time"],
            pred["event"],
            pred[col],
            horizon,
            n_groups=n_groups,
            min_at_risk=self.settings.get("min_at_risk", MIN_AT_RISK)
            if min_at_risk is None
            else min_at_risk,
        )

    @property
    def repeats(self) -> list[int]:
        """The repeats of the predictions, ascending (``[0]`` for a single split)."""
        return sorted(int(r) for r in pd.unique(self.predictions["repeat"]))

    def logrank_by_repeat(self) -> pd.DataFrame:
        """The log-rank test of every repeat's training-cut-off split (:meth:`km`).

        Returns
        -------
        DataFrame
            One row per repeat: ``repeat``, ``n_low``, ``n_high``, ``logrank_p`` (NaN when
            the repeat's rows all fall in one group) and ``reason`` (why, else None).
        """
        rows = []
        for r in self.repeats:
            try:
                km = self.km(repeat=r)
            except InputError as exc:
                rows.append({"repeat": r, "n_low": None, "n_high": None,
                             "logrank_p": np.nan, "reason": str(exc)})
                continue
            n = dict(zip(km.groups["group"], km.groups["n"], strict=True))
            rows.append({"repeat": r, "n_low": int(n.get("low risk", 0)),
                         "n_high": int(n.get("high risk", 0)), "logrank_p": km.logrank_p,
                         "reason": None})
        return pd.DataFrame(rows, columns=["repeat", "n_low", "n_high", "logrank_p", "reason"])

    def mean_calibration(self, horizon: float, *, n_groups: int = 3) -> pd.DataFrame:
        """:func:`survival_calibration` of every repeat at ``horizon``, averaged per group.

        Group ``k`` (by rank of the predicted probability within its repeat) of the result
        is the mean over the repeats of group ``k``'s ``n``, ``predicted``, ``observed``
        and interval bounds, the same predictor as the reported metrics (the mean of the
        repeats' metrics). Only repeats with the most common number of groups are averaged
        (ties of the predictions can merge groups); ``n_repeats`` says how many.

        Raises
        ------
        InputError
            ``horizon`` was not evaluated or is refused (in any repeat).
        """
        tables = [self.calibration(horizon, n_groups=n_groups, repeat=r) for r in self.repeats]
        sizes = [len(t) for t in tables]
        common = max(set(sizes), key=lambda k: (sizes.count(k), k))
        used = [t.reset_index(drop=True) for t in tables if len(t) == common]
        cols = ["n", "n_events", "n_at_risk", "predicted", "observed", "observed_ci_low",
                "observed_ci_high"]
        out = used[0].copy()
        out[cols] = np.mean([t[cols].to_numpy(dtype=float) for t in used], axis=0)
        out["n_repeats"] = len(used)
        # a group without an observed risk in some repeat has none in the mean: say why
        short = np.sum([t["observed"].isna().to_numpy() for t in used], axis=0)
        last = np.min([t["last_time"].to_numpy(dtype=float) for t in used], axis=0)
        out["reason"] = [
            None if not k else
            (f"group {g} of {len(out)} (mean predicted risk {p:.2f}): no patient followed to "
             f"{_years(horizon)}" + (f" in {k} of {len(used)} repeats" if len(used) > 1
                                     else "") + f" (longest follow-up {x:.3g} years); not "
             "drawn")
            for g, p, k, x in zip(out["group"], out["predicted"], short, last, strict=True)]
        return out

    def km(self, *, repeat: int = 0, at_times: Sequence[float] | None = None) -> KaplanMeierByRisk:
        """:func:`km_by_training_cutoff` of one repeat's patients (:func:`one_row_per_patient`:
        a patient's lesions share one time and one event, so the curves, the log-rank test
        and the hazard ratio count patients), each split at the median risk of the training
        rows of the model that scored it. When several models scored the rows
        (cross-validation folds), the hazard ratio's interval is widened by
        :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`, as every other interval of a
        cross-validated estimate."""
        pred = self._patients(repeat)
        cross_validated = "fold" in pred and pred["fold"].nunique() > 1
        return km_by_training_cutoff(
            pred["time"], pred["risk"], pred["event"], pred["risk_cutoff"], at_times=at_times,
            hr_scale=CV_INTERVAL_SCALE if cross_validated else 1.0,
        )


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
    the highest mean C-index over the inner test folds and refits on all rows. Tied scores
    go to the weakest penalty of the parameters named in
    :data:`radiomix.model.classifiers.WEAKER_PENALTY` (the smallest ``alpha`` of
    :class:`~radiomix.model.survival.CoxNet`), then to grid order, as for the logistic models
    (:func:`radiomix.evaluate.validate.weakest_penalty_best`): scikit-learn's own rule
    would take the first grid point, the strongest penalty of a descending ``alpha`` grid,
    shrinking the risk scores for no gain in the C-index. An estimator whose ``fit`` takes
    ``groups`` receives the patient ids (:func:`radiomix.evaluate.validate.groups_fit_params`).

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
        ``best_estimator_``, ``failed_params_``; ``best_score_`` is not set: read
        ``cv_results_["mean_test_score"][best_index_]``).

    A grid point whose fit fails in an inner fold (e.g. a Cox penalty too small to
    converge) scores NaN and is skipped; the skipped points are logged and listed in the
    search's ``failed_params_``.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        Fewer patients than inner folds, or every grid point failed.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from radiomix.model.survival import survival_target

    t, _, e = _check(time, np.zeros(len(np.asarray(time))), event)
    g = check_groups(groups, t.size)
    order = canonical_rows(X, g)  # the fit does not depend on the table's row order
    X, t, e, g = _rows(X, order), t[order], e[order], g[order]
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
    check_stratified_folds(inner_splits, e.astype(int), g, where="the inner (tuning) folds")
    inner = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True, random_state=random_state)
    folds = list(inner.split(np.zeros(t.size), e.astype(int), g))
    search = GridSearchCV(
        est,
        dict(param_grid),
        scoring=c_index_scorer,
        cv=folds,
        refit=scorable_folds_best,
        error_score=np.nan,
    )
    reason = run_search(search, X, y, **fit_params)
    means, unscorable = scorable_means(search.cv_results_)
    search.cv_results_["mean_test_score"] = means
    search.unscorable_folds_ = unscorable
    search.untuned_ = unscorable == len(folds)
    scores = means
    failed = ([] if search.untuned_ else
              [p for p, sc in zip(search.cv_results_["params"], scores, strict=True)
               if np.isnan(sc)])
    if failed:
        log.warning(
            "tuning: %d of %d grid point(s) failed to fit in an inner fold and were not "
            "chosen: %s", len(failed), len(scores), failed[:5],
        )
    search.failed_params_ = failed
    search.failed_reason_ = reason
    return search


def scorable_folds_best(cv_results: Mapping[str, Any]) -> int:
    """The grid point a survival search refits: the best mean over the inner folds that
    could score (:func:`~radiomix.evaluate.validate.scorable_means`), a tie to the weakest
    penalty (:func:`~radiomix.evaluate.validate.best_by_penalty`). When no fold could
    score, every point ties and the weakest penalty is taken (the search is then marked
    ``untuned_``, and the arm says so)."""
    means, _ = scorable_means(cv_results)
    if np.isnan(means).all():
        means = np.zeros_like(means)  # nothing scored: a tie, settled by the penalty
    return best_by_penalty(means, cv_results["params"])


def breslow_rows(model: BaseEstimator, time: FloatArray, event: np.ndarray,
                 risk: FloatArray) -> tuple[FloatArray, np.ndarray, FloatArray]:
    """Times, events and linear predictors of the Breslow baseline of a fitted Cox model.

    Usually the training rows with the model's own risk on them. A model whose ``predict``
    on its training rows is not the linear predictor it was fitted on (the Cox nomogram: fitted
    on an out-of-fold rad-score, predicting with the rad-score refitted on all rows) gives
    its own rows as ``fit_linear_predictor_``; the baseline hazard must belong to the
    coefficients' design (Breslow 1972), else every event probability is off (by +10 % in
    the cumulative hazard at 1 year on the sarcoma cohort).

    Parameters
    ----------
    model : estimator
        Fitted; unwrapped from a grid search and a pipeline.
    time, event, risk : ndarray of shape (n,)
        The training rows and ``model.predict`` on them.
    """
    final = unwrap(model)[1]
    own = getattr(final, "fit_linear_predictor_", None)
    if own is None:
        return time, event, risk
    t_fit, e_fit, r_fit = own
    return (np.asarray(t_fit, dtype=float), np.asarray(e_fit).astype(bool),
            settle(np.asarray(r_fit, dtype=float)))


def _selection_of(model: BaseEstimator) -> dict[str, Any]:
    """``n_selected`` and ``fallback`` of a fitted sparse Cox model (CoxNet), unwrapped from
    a grid search and a pipeline; None for models that select nothing."""
    final = unwrap(model)[1]
    return {
        "n_selected": getattr(final, "n_selected_", None),
        "fallback": getattr(final, "fallback_", None),
    }


def _survival_fits(
    estimator: BaseEstimator,
    X: Any,
    t: FloatArray,
    e: np.ndarray,
    g: np.ndarray,
    splits: Sequence[Split],
    *,
    horizons: Sequence[float],
    param_grid: Mapping[str, Sequence[Any]] | None,
    inner_splits: int,
    random_state: int,
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[BaseEstimator]]:
    """Fit (tuned) on each split's training rows, score its test rows: risk, the training
    median cut-off and the event probabilities by each horizon (Breslow baseline of the
    training rows)."""
    from radiomix.model.survival import baseline_at, breslow_baseline_survival

    pred_rows: list[pd.DataFrame] = []
    fold_rows: list[dict[str, Any]] = []
    models: list[BaseEstimator] = []
    for sp in splits:
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
        risk = settle(np.asarray(model.predict(_rows(X, sp.test)), dtype=float))
        risk_train = settle(np.asarray(model.predict(_rows(X, sp.train)), dtype=float))
        cut = training_cutoff(risk_train)
        frame = pd.DataFrame(
            {
                "row": sp.test,
                "patient_id": g[sp.test],
                "time": t[sp.test],
                "event": e[sp.test].astype(int),
                "repeat": sp.repeat,
                "fold": sp.fold,
                "risk": risk,
                "risk_cutoff": cut,
            }
        )
        if len(horizons):
            t_fit, e_fit, r_fit = breslow_rows(model, t[sp.train], e[sp.train], risk_train)
            # centred on the training mean so that S0 stays far from underflow
            m = float(np.mean(r_fit))
            s0 = baseline_at(breslow_baseline_survival(t_fit, e_fit, r_fit - m), horizons)
            with np.errstate(over="ignore"):
                surv = s0[None, :] ** np.exp(risk - m)[:, None]
            for k, h in enumerate(horizons):
                frame[event_prob_column(h)] = 1.0 - surv[:, k]
        pred_rows.append(frame)
        fold_rows.append(
            {
                "repeat": sp.repeat,
                "fold": sp.fold,
                "n_train": int(sp.train.size),
                "n_test": int(sp.test.size),
                "n_test_patients": int(np.unique(g[sp.test]).size),
                "best_params": tuned_params(model),
                "failed_candidates": list(getattr(model, "failed_params_", [])),
                "failed_reason": getattr(model, "failed_reason_", None),
                "grid_tied": grid_tied(model),
                "untuned": bool(getattr(model, "untuned_", False)),
                "unscorable_inner_folds": int(getattr(model, "unscorable_folds_", 0)),
                "risk_cutoff": cut,
                **_selection_of(model),
            }
        )
        models.append(model)
    return pd.concat(pred_rows, ignore_index=True), fold_rows, models


def per_patient_risks(
    t: FloatArray, e: np.ndarray, g: np.ndarray, risks: FloatArray
) -> tuple[FloatArray, np.ndarray, np.ndarray, FloatArray]:
    """Times, events, patient ids and risks (one row per repeat) with one column per
    patient: the mean risk of its rows (:func:`~radiomix.evaluate.metrics.settle`),
    its own time and event (shared by its lesions), patients in order of their first row.

    Examples
    --------
    >>> t, e, g, r = per_patient_risks(np.array([2.0, 1.0, 2.0]), np.array([1, 0, 1]),
    ...                                np.array(["b", "a", "b"]), np.array([[1.0, 5.0, 3.0]]))
    >>> g.tolist(), t.tolist(), r.tolist()
    (['b', 'a'], [2.0, 1.0], [[2.0, 5.0]])
    """
    codes, ids = pd.factorize(pd.Series(np.asarray(g)))
    first = np.unique(codes, return_index=True)[1]
    counts = np.bincount(codes)
    risks = np.atleast_2d(np.asarray(risks, dtype=float))
    mean = np.stack([settle(np.bincount(codes, weights=r) / counts) for r in risks])
    return (np.asarray(t, dtype=float)[first], np.asarray(e)[first],
            np.asarray(ids.to_numpy()), mean)


def _survival_metrics(
    t: FloatArray,
    e: np.ndarray,
    g: np.ndarray,
    risks: FloatArray,
    *,
    horizons: Sequence[float],
    n_bootstrap: int,
    min_at_risk: int,
    random_state: int,
    cross_validated: bool,
    on_refused_horizon: RefusalPolicy,
    level: str = "row",
) -> pd.DataFrame:
    """C-index and td-AUCs of risk vectors (one row of ``risks`` per repeat) with patient
    bootstrap intervals, widened by :data:`CV_INTERVAL_SCALE` when cross-validated; with
    ``level="patient"`` over one row per patient (:func:`per_patient_risks`)."""
    if on_refused_horizon not in ("raise", "record"):
        raise InputError(
            f"on_refused_horizon must be 'raise' or 'record'; got {on_refused_horizon!r}"
        )
    if level not in ("row", "patient"):
        raise InputError(f"level must be 'row' or 'patient'; got {level!r}")
    if level == "patient":
        t, e, g, risks = per_patient_risks(t, e, g, risks)
    scale = CV_INTERVAL_SCALE if cross_validated else 1.0
    W = patient_bootstrap_weights(g, n_bootstrap=n_bootstrap, random_state=random_state)
    rows = []
    too_few = survival_estimability(e, g, t)
    c_point = np.mean([concordance_index(t, rk, e) for rk in risks])
    c_reps = np.mean([concordance_index(t, rk, e, W) for rk in risks], axis=0)
    lo, hi, nv = percentile_interval(c_reps)
    lo, hi = widen_interval(c_point, lo, hi, scale=scale, bounds=(0.0, 1.0))
    c_reason = too_few or undefined_share_reason("the C-index", nv, n_bootstrap)
    n_min = _smaller_group(e, g, t)
    c_bound = perfect_score_interval(float(c_point), lo, hi, n_min, scale=scale)
    if c_bound is not None:
        lo, hi = c_bound[0], c_bound[1]
    rows.append(
        {
            "metric": "c_index",
            "horizon": np.nan,
            "estimate": np.nan if c_reason else c_point,
            "ci_low": np.nan if c_reason else lo,
            "ci_high": np.nan if c_reason else hi,
            "n_boot": nv,
            **({"refused": c_reason} if c_reason else {}),
            **({"interval_method": c_bound[2]} if c_bound and not c_reason else {}),
        }
    )
    for h in horizons:
        reason = too_few or horizon_refusal(t, e, h, min_at_risk=min_at_risk, groups=g)
        if reason is not None:
            if on_refused_horizon == "raise":
                raise InputError(reason)
            rows.append(
                {
                    "metric": "td_auc",
                    "horizon": float(h),
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n_boot": 0,
                    "n_at_risk": patients_at_risk(t, h, g),
                    "refused": reason,
                }
            )
            continue
        pts = [time_dependent_auc(t, rk, e, [h], min_at_risk=min_at_risk) for rk in risks]
        reps = [time_dependent_auc(t, rk, e, [h], min_at_risk=min_at_risk, W=W) for rk in risks]
        est = float(np.mean([p["auc"].iloc[0] for p in pts]))
        rep = np.mean([np.asarray(rp["auc"].iloc[0]) for rp in reps], axis=0)
        lo, hi, nv = percentile_interval(rep)
        lo, hi = widen_interval(est, lo, hi, scale=scale, bounds=(0.0, 1.0))
        undefined = undefined_share_reason(f"the AUC at {h:g}", nv, n_bootstrap)
        bound = perfect_score_interval(est, lo, hi, horizon_smaller_group(t, e, g, h),
                                       scale=scale)
        if bound is not None:
            lo, hi = bound[0], bound[1]
        if undefined is not None:
            if on_refused_horizon == "raise":
                raise InputError(undefined)
            rows.append({"metric": "td_auc", "horizon": float(h), "estimate": np.nan,
                         "ci_low": np.nan, "ci_high": np.nan, "n_boot": nv,
                         "n_at_risk": patients_at_risk(t, h, g), "refused": undefined})
            continue
        rows.append(
            {
                "metric": "td_auc",
                "horizon": float(h),
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n_boot": nv,
                "n_at_risk": patients_at_risk(t, h, g),
                **({"interval_method": bound[2]} if bound else {}),
            }
        )
    return pd.DataFrame(rows)


def _pair_sides(event: Any, groups: Any, time: Any = None) -> tuple[int, int]:
    """Patients that can be the earlier member of a comparable pair (with the event) and
    patients that can be the later one: with ``time``, every patient followed beyond the
    earliest event (event or not: with complete follow-up every patient has the event and
    the C-index is still defined); without it, the patients without the event."""
    e = np.asarray(event).ravel().astype(bool)
    g = pd.Series(np.asarray(groups).ravel()).astype(str).to_numpy()
    with_event = np.unique(g[e])
    if time is None or not e.any():
        return int(with_event.size), int(np.setdiff1d(np.unique(g), with_event).size)
    t = np.asarray(time, dtype=float).ravel()
    later = np.unique(g[t > t[e].min()])
    return int(with_event.size), int(later.size)


def horizon_smaller_group(time: Any, event: Any, groups: Any, horizon: float) -> int:
    """Patients of the smaller side of a time-dependent AUC at ``horizon`` (cumulative
    cases: the event by the horizon; dynamic controls: followed beyond it): the count an
    exact bound of a perfect AUC there is taken over. Events after the horizon are
    controls there, not cases.

    Examples
    --------
    >>> horizon_smaller_group([0.5, 0.8, 2.0, 3.0, 4.0], [1, 1, 1, 0, 1], list("abcde"), 1.0)
    2
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel().astype(bool)
    g = pd.Series(np.asarray(groups).ravel()).astype(str).to_numpy()
    cases = np.unique(g[e & (t <= horizon)]).size
    controls = np.unique(g[t > horizon]).size
    return int(min(cases, controls))


def _smaller_group(event: np.ndarray, groups: np.ndarray, time: Any = None) -> int:
    """Patients of the smaller side of the comparable pairs (see :func:`_pair_sides`)."""
    return min(_pair_sides(event, groups, time))


def survival_estimability(event: Any, groups: Any, time: Any = None) -> str | None:
    """Why the scored rows cannot support a C-index or a time-dependent AUC, or ``None``:
    fewer than :data:`~radiomix.evaluate.bootstrap.MIN_PER_CLASS` patients with the event,
    or fewer than that many to compare them with (followed beyond the earliest event when
    ``time`` is given, else without the event): the binary metrics' rule
    (:func:`~radiomix.evaluate.bootstrap.binary_estimability`), so that the same patients
    are not estimable on one side and given an interval on the other. A time-dependent AUC
    also needs cases and controls at its horizon (:func:`horizon_refusal`).

    Examples
    --------
    >>> print(survival_estimability([1, 0, 0, 0], ["a", "b", "c", "d"]))
    ... # doctest: +NORMALIZE_WHITESPACE
    not estimable: the scored rows hold 1 patient(s) with the event and 3 without;
    a concordance or time-dependent AUC needs at least 2 of each
    >>> survival_estimability([1, 1, 1, 1], ["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0]) is None
    True
    >>> print(survival_estimability([0, 0, 0], ["a", "b", "c"], [1.0, 2.0, 3.0]))
    ... # doctest: +NORMALIZE_WHITESPACE
    not estimable: the scored rows hold 0 patient(s) with the event and 3 without;
    a concordance or time-dependent AUC needs at least 2 of each
    """
    n_event, n_other = _pair_sides(event, groups, time)
    if min(n_event, n_other) >= MIN_PER_CLASS:
        return None
    if time is None or n_event == 0:
        return (f"not estimable: the scored rows hold {n_event} patient(s) with the event and "
                f"{n_other} without; a concordance or time-dependent AUC needs at least "
                f"{MIN_PER_CLASS} of each")
    return (f"not estimable: the scored rows hold {n_event} patient(s) with the event and "
            f"{n_other} followed beyond the earliest event; a concordance or time-dependent "
            f"AUC needs at least {MIN_PER_CLASS} of each")


def _check_survival_xy(X: Any, time: Any, event: Any, groups: Any) -> tuple[Any, ...]:
    t, _, e = _check(time, np.zeros(len(np.asarray(time))), event)
    g = check_groups(groups, t.size)
    if len(X) != t.size:
        raise InputError(f"X has {len(X)} rows but time has {t.size}")
    return t, e, g


def _horizons(horizons: Sequence[float]) -> list[float]:
    hs = [float(h) for h in np.atleast_1d(np.asarray(horizons, dtype=float))]
    if not all(np.isfinite(h) and h > 0 for h in hs):
        raise InputError(f"horizons must be finite times > 0; got {hs}")
    return hs


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
    on_refused_horizon: RefusalPolicy = "raise",
    level: str = "row",
) -> SurvivalEvaluation:
    """Patient-grouped (nested) cross-validated C-index and time-dependent AUCs.

    Folds are stratified by the event indicator. Out-of-fold risk scores of each repeat are
    scored on all rows; the estimate averages over repeats, and patient-bootstrap
    replicates are averaged the same way; the intervals are widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` like every cross-validated
    interval (the C-index and the AUC are both pairwise rank statistics). Horizons with too
    few patients at risk are refused (:func:`horizon_refusal`). With ``param_grid`` each
    outer training fold is tuned by an inner patient-grouped CV on the C-index
    (:func:`fit_survival_tuned`), as :func:`radiomix.evaluate.nested_cv` does for
    classifiers. Any survival estimator whose ``predict`` is a Cox-type risk works
    (:class:`~radiomix.model.survival.CoxPH`, :class:`~radiomix.model.survival.CoxNet`, a
    :class:`~radiomix.model.nomogram.CoxNomogram`, or a pipeline ending in one); one whose
    ``fit`` takes ``groups`` receives the patient ids of its training rows.

    Parameters
    ----------
    estimator : survival estimator
        ``fit(X, [time, event])`` and ``predict(X)`` -> risk.
    X : DataFrame or array
    time, event : array-like of shape (n,)
    groups : array-like of shape (n,)
        Patient ids (required).
    horizons : sequence of float
        Times of the td-AUCs and of the predicted event probabilities (predictions).
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
    on_refused_horizon : {"raise", "record"}
        A refused horizon raises, or becomes a ``td_auc`` row with NaN estimate and the
        reason in ``refused``.
    level : {"row", "patient"}
        What the C-index and td-AUCs score: every row (lesion), or one per patient (the
        mean risk of its rows; :func:`per_patient_risks`).

    Returns
    -------
    SurvivalEvaluation
        ``folds`` lists the parameters chosen in each outer fold.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        A refused horizon (with ``on_refused_horizon="raise"``), bad sizes.
    """
    t, e, g = _check_survival_xy(X, time, event, groups)
    hs = _horizons(horizons)
    splits = list(
        grouped_cv_splits(
            e.astype(int),
            groups=g,
            n_splits=n_splits,
            n_repeats=n_repeats,
            random_state=random_state,
        )
    )
    pred, fold_rows, _ = _survival_fits(
        estimator,
        X,
        t,
        e,
        g,
        splits,
        horizons=hs,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
    )
    pred = pred.sort_values(["repeat", "row"], kind="stable").reset_index(drop=True)
    risks = pred["risk"].to_numpy().reshape(n_repeats, t.size)
    metrics = _survival_metrics(
        t,
        e,
        g,
        risks,
        horizons=hs,
        n_bootstrap=n_bootstrap,
        min_at_risk=min_at_risk,
        random_state=random_state,
        cross_validated=True,
        on_refused_horizon=on_refused_horizon,
        level=level,
    )
    scheme = f"patient-grouped CV: {n_splits} folds stratified by event, {n_repeats} repeat(s)"
    if param_grid:
        scheme = (
            f"nested patient-grouped CV: {n_splits} outer x {inner_splits} inner folds "
            f"stratified by event (inner loop tunes by C-index), {n_repeats} repeat(s)"
        )
    return SurvivalEvaluation(
        scheme,
        metrics,
        pred,
        {
            "n_splits": n_splits,
            "n_repeats": n_repeats,
            "n_bootstrap": n_bootstrap,
            "random_state": random_state,
            "horizons": hs,
            "min_at_risk": min_at_risk,
            "param_grid": {k: list(v) for k, v in (param_grid or {}).items()},
            "inner_splits": inner_splits if param_grid else None,
            "interval": "patient bootstrap, widened for cross-validation",
            "level": level,
        },
        pd.DataFrame(fold_rows),
    )


def _survival_single_split(
    scheme: str,
    estimator: BaseEstimator,
    X: Any,
    t: FloatArray,
    e: np.ndarray,
    g: np.ndarray,
    split: Split,
    *,
    horizons: list[float],
    n_bootstrap: int,
    min_at_risk: int,
    param_grid: Mapping[str, Sequence[Any]] | None,
    inner_splits: int,
    random_state: int,
    on_refused_horizon: RefusalPolicy,
    settings: dict[str, Any],
    interval: str = "patient bootstrap of the test patients (not widened)",
    level: str = "row",
) -> SurvivalEvaluation:
    """Train (tuned) on one split's training patients and score its test patients: their
    outcomes never shaped the model, so the bootstrap intervals are not widened (the
    apparent scheme scores its training patients: ``interval`` says so)."""
    if not e[split.train].any():
        raise InputError("the training patients hold no observed event; a Cox model needs one")
    pred, fold_rows, models = _survival_fits(
        estimator,
        X,
        t,
        e,
        g,
        [split],
        horizons=horizons,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
    )
    te = split.test
    metrics = _survival_metrics(
        t[te],
        e[te],
        g[te],
        pred["risk"].to_numpy()[None, :],
        horizons=horizons,
        n_bootstrap=n_bootstrap,
        min_at_risk=min_at_risk,
        random_state=random_state,
        cross_validated=False,
        on_refused_horizon=on_refused_horizon,
        level=level,
    )
    settings = {**settings, "level": level}
    model = models[0]
    return SurvivalEvaluation(
        scheme,
        metrics,
        pred,
        {
            **settings,
            "n_bootstrap": n_bootstrap,
            "random_state": random_state,
            "horizons": horizons,
            "min_at_risk": min_at_risk,
            "param_grid": {k: list(v) for k, v in (param_grid or {}).items()},
            "inner_splits": inner_splits if param_grid else None,
            "n_train_patients": int(np.unique(g[split.train]).size),
            "n_test_patients": int(np.unique(g[te]).size),
            "interval": interval,
        },
        pd.DataFrame(fold_rows),
        unwrap(model)[0],
    )


@single_blas_thread
def survival_apparent_validation(
    estimator: BaseEstimator,
    X: Any,
    time: Any,
    event: Any,
    *,
    groups: Any,
    horizons: Sequence[float] = (),
    n_bootstrap: int = 1000,
    min_at_risk: int = MIN_AT_RISK,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
    on_refused_horizon: RefusalPolicy = "raise",
    level: str = "row",
) -> SurvivalEvaluation:
    """Apparent performance of a survival model: fit (tuned) on all patients, score the same
    patients.

    Optimistic by construction: shown only beside internal and external validation (the
    "training" row of a training / internal / external table, as
    :func:`radiomix.evaluate.validate.apparent_validation` for a binary outcome), never as
    an estimate of performance on new patients. Parameters as :func:`survival_cv`.

    Returns
    -------
    SurvivalEvaluation
        ``model`` holds the fitted model; ``predictions`` every row.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        No observed event.
    """
    t, e, g = _check_survival_xy(X, time, event, groups)
    rows = np.arange(t.size)
    return _survival_single_split(
        "apparent (scored on its own training patients)",
        estimator,
        X,
        t,
        e,
        g,
        Split(0, 0, rows, rows),
        horizons=_horizons(horizons),
        n_bootstrap=n_bootstrap,
        min_at_risk=min_at_risk,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
        on_refused_horizon=on_refused_horizon,
        level=level,
        settings={"apparent": True},
        interval="patient bootstrap of the training patients themselves (apparent, optimistic)",
    )


@single_blas_thread
def survival_holdout_validation(
    estimator: BaseEstimator,
    X: Any,
    time: Any,
    event: Any,
    *,
    groups: Any,
    test_size: float = 0.3,
    horizons: Sequence[float] = (),
    n_bootstrap: int = 1000,
    min_at_risk: int = MIN_AT_RISK,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
    on_refused_horizon: RefusalPolicy = "raise",
    level: str = "row",
) -> SurvivalEvaluation:
    """Seeded patient-level hold-out for a survival model, tuned on the training patients.

    Patients (not rows) are split ``1 - test_size`` / ``test_size``, stratified by whether
    the patient had an event; metrics are computed on the test patients only, with patient
    bootstrap intervals that are not widened. Parameters as :func:`survival_cv`.

    Returns
    -------
    SurvivalEvaluation
        ``model`` holds the fitted model; ``predictions`` the test rows.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    """
    t, e, g = _check_survival_xy(X, time, event, groups)
    tr, te = patient_holdout_split(
        e.astype(int), groups=g, test_size=test_size, random_state=random_state
    )
    return _survival_single_split(
        f"patient-level hold-out {1 - test_size:.0%}/{test_size:.0%} stratified by event "
        f"(seed {random_state})",
        estimator,
        X,
        t,
        e,
        g,
        Split(0, 0, tr, te),
        horizons=_horizons(horizons),
        n_bootstrap=n_bootstrap,
        min_at_risk=min_at_risk,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
        on_refused_horizon=on_refused_horizon,
        level=level,
        settings={"test_size": test_size},
    )


@single_blas_thread
def survival_external_validation(
    estimator: BaseEstimator,
    X: Any,
    time: Any,
    event: Any,
    *,
    groups: Any,
    centre: Any,
    test_centres: Sequence[str],
    horizons: Sequence[float] = (),
    n_bootstrap: int = 1000,
    min_at_risk: int = MIN_AT_RISK,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
    on_refused_horizon: RefusalPolicy = "raise",
    level: str = "row",
) -> SurvivalEvaluation:
    """Train (and tune) a survival model on the other centres, score it on ``test_centres``.

    Parameters as :func:`survival_cv`, plus

    Parameters
    ----------
    centre : array-like of shape (n,)
        Centre of each row.
    test_centres : sequence of str
        External centre(s); only their rows are scored.

    Returns
    -------
    SurvivalEvaluation
        ``model`` holds the fitted model; ``predictions`` the external rows.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        A patient in two centres, an unknown centre, or no event in the training centres.
    """
    t, e, g = _check_survival_xy(X, time, event, groups)
    tr, te = centre_split(centre, groups=g, test_centres=test_centres)
    return _survival_single_split(
        f"external validation on centre(s) {', '.join(map(str, test_centres))}",
        estimator,
        X,
        t,
        e,
        g,
        Split(0, 0, tr, te),
        horizons=_horizons(horizons),
        n_bootstrap=n_bootstrap,
        min_at_risk=min_at_risk,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
        on_refused_horizon=on_refused_horizon,
        level=level,
        settings={"test_centres": [str(c) for c in test_centres]},
    )
