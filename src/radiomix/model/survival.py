"""Cox models as sklearn estimators (lifelines CoxPH; scikit-survival's elastic-net path
for many features, :class:`CoxNet`), Breslow baselines, and survival outcomes.

The target ``y`` of a survival estimator is one of

- an ``(n, 2)`` array ``[time, event]`` (event 1 = observed, 0 = censored), e.g. from
  :func:`survival_target`;
- a structured array with a boolean event field and a float time field (scikit-survival's
  layout);
- a 1-D array of times, all events observed.

``predict`` returns the risk score (the linear predictor; higher = earlier event) and
``score`` Harrell's C-index (:func:`radiomix.evaluate.survival.concordance_index`).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import DependencyError, InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.types import FloatArray

log = logging.getLogger(__name__)

ZERO_TOL = 1e-4
"""Coefficients (per SD of a covariate) smaller than this are reported as not selected:
lifelines fits the L1 penalty through a smooth approximation, so they are tiny, not 0."""


def survival_target(time: Any, event: Any) -> FloatArray:
    """Stack times and event indicators into the ``(n, 2)`` target ``[time, event]``.

    Examples
    --------
    >>> survival_target([5.0, 3.0], [1, 0]).tolist()
    [[5.0, 1.0], [3.0, 0.0]]
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.shape != e.shape:
        raise InputError(f"time has {t.size} values but event {e.size}")
    return np.column_stack([t, e])


def split_survival_target(y: Any) -> tuple[FloatArray, np.ndarray]:
    """``(time, event)`` from any accepted survival target layout (see module docs).

    Raises
    ------
    InputError
        Non-finite or negative times, events outside {0, 1}, no observed event.
    """
    if y is None:
        raise InputError("a survival estimator requires y to be passed, but the target y is None")
    arr = np.asarray(y)
    if arr.dtype.names is not None:
        names = arr.dtype.names
        ev = [n for n in names if arr.dtype[n] == np.bool_]
        tm = [n for n in names if n not in ev]
        if len(names) != 2 or len(ev) != 1:
            raise InputError(
                f"a structured survival target needs one boolean event field and one time "
                f"field; got fields {names}"
            )
        time, event = arr[tm[0]].astype(float), arr[ev[0]].astype(float)
    elif arr.ndim == 2 and arr.shape[1] == 2:
        time, event = arr[:, 0].astype(float), arr[:, 1].astype(float)
    elif arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
        time = arr.ravel().astype(float)
        event = np.ones_like(time)
    else:
        raise InputError(
            f"survival target must be (n, 2) [time, event], a structured array or (n,) times; "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(time).all():
        raise InputError("survival times must be finite")
    if not np.isin(event, (0.0, 1.0)).all():
        raise InputError(f"events must be 0 (censored) or 1 (observed); got {np.unique(event)[:5]}")
    if event.sum() == 0:
        raise InputError("no observed event: a Cox model cannot be fitted")
    return time, event.astype(bool)


def monotone_terms(X: Any, time: Any, event: Any, terms: list[str]) -> list[str]:
    """Terms whose partial likelihood on their own is monotone: no finite estimate exists.

    A covariate gives a monotone Cox partial likelihood when, at every event, the patient
    with the event has the largest value of the covariate in the risk set (the coefficient
    runs to :math:`+\\infty`), or at every event the smallest (to :math:`-\\infty`), ties
    allowed (Bryson & Johnson 1981; Heinze & Schemper 2001). A categorical level without
    any event (all its patients censored) is such a term. The survival analogue of the
    separation of a logistic model (:func:`radiomix.model.nomogram.separating_terms`): the
    fitted coefficient is where the penalty or the stopping rule left it, not an estimate.

    Parameters
    ----------
    X : (n, p) array-like
        The terms' values on the fitted rows (missing values imputed).
    time, event : (n,) array-like
        Follow-up times and event indicators (non-zero: event).
    terms : list of str
        The term names, one per column of ``X``.

    Returns
    -------
    list of str
        The monotone terms, in column order. A term that is constant in every risk set of
        an event carries no information and is not listed; nor is any term without events.
        The indicators of one categorical covariate (terms ``name=level``) are also tested
        through their reference level (one minus their sum): a reference level without
        events lists them all.
    """
    X = np.asarray(X, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event) != 0
    if X.ndim != 2 or X.shape[0] != time.size or not event.any():
        return []
    # the largest and smallest value among the rows still at risk (time >= t) at each row's
    # time: running extrema over the rows sorted by decreasing time, read at the last row of
    # each group of tied times
    order = np.argsort(-time, kind="stable")
    xs, ts, es = X[order], -time[order], event[order]
    last = np.searchsorted(ts, ts, side="right") - 1
    hi = np.maximum.accumulate(xs, axis=0)[last][es]
    lo = np.minimum.accumulate(xs, axis=0)[last][es]
    xe = xs[es]
    informative = np.any(hi != lo, axis=0)  # constant in every event's risk set: no direction
    monotone = informative & (np.all(xe >= hi, axis=0) | np.all(xe <= lo, axis=0))
    out = {str(terms[j]) for j in np.flatnonzero(monotone)}
    # the indicators of a categorical covariate's levels ("site=trunk", "site=limb"): its
    # reference level has no column, but a reference level without any event makes every
    # one of them monotone together (they all run to +infinity against it)
    levels: dict[str, list[int]] = {}
    for j, term in enumerate(terms):
        if "=" in str(term):
            levels.setdefault(str(term).split("=", 1)[0], []).append(j)
    for columns in levels.values():
        reference = 1.0 - X[:, columns].sum(axis=1)
        if set(np.unique(reference)) <= {0.0, 1.0} and monotone_terms(
                reference[:, None], time, event, ["reference"]):
            out.update(str(terms[j]) for j in columns)
    return [str(t) for t in terms if str(t) in out]


class CoxPH(BaseEstimator):
    """Cox proportional-hazards model (lifelines ``CoxPHFitter``, Efron ties).

    Covariates are z-scored with the training mean and SD before the fit, so a penalty treats
    them alike; coefficients are reported per SD (``coef_``) and per unit (``coef_raw_``).

    Parameters
    ----------
    penalizer : float >= 0
        Penalty strength :math:`\\lambda` of
        :math:`\\lambda(\\rho\\lVert\\beta\\rVert_1 + \\frac{1-\\rho}{2}\\lVert\\beta\\rVert_2^2)`.
    l1_ratio : float in [0, 1]
        :math:`\\rho`; 1 with ``penalizer > 0`` is the LASSO-Cox model (:class:`LassoCox`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Log hazard ratios per SD of each covariate.
    coef_raw_ : ndarray of shape (n_features,)
        Log hazard ratios per unit.
    mean_, scale_ : ndarray of shape (n_features,)
    baseline_survival_ : Series
        :math:`S_0(t)` at the mean covariates (index: event times).
    clustered_ : bool
        Whether the intervals use the patient-clustered robust variance (``groups`` with a
        patient of several rows).
    summary_ : DataFrame
        lifelines' summary (coefficients, SE, p-values, CIs) on the z-scored covariates;
        a dropped column's row has ``coef`` 0, ``exp(coef)`` 1 and NaN elsewhere.
    dropped_columns_ : list of str
        Covariates constant on the training rows (zero variance), left out of the fit.
    monotone_columns_ : list of str
        Covariates whose partial likelihood is monotone on the training rows
        (:func:`monotone_terms`): their coefficients are no estimates.

    Notes
    -----
    A covariate with the same value on every training row carries no information and makes
    the partial likelihood singular (it happens inside cross-validation folds, e.g. a rare
    category absent from a fold). Such columns are dropped before the fit: their
    coefficient is 0 (hazard ratio 1), they are listed in ``dropped_columns_`` and logged.
    The other coefficients are those of the Cox model fitted on the remaining columns.

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> d = load_rossi()
    >>> X, y = d.drop(columns=["week", "arrest"]), survival_target(d["week"], d["arrest"])
    >>> cox = CoxPH().fit(X, y)
    >>> round(float(np.exp(cox.coef_raw_[list(X.columns).index("prio")])), 3)
    1.096
    """

    def __init__(self, *, penalizer: float = 0.0, l1_ratio: float = 0.0) -> None:
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio

    def _names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def fit(self, X: Any, y: Any, groups: Any = None) -> CoxPH:
        """Fit the Cox model.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : survival target (see module docs)
        groups : array-like of shape (n,), optional
            Patient id of each row. When a patient has several rows (lesions sharing one
            time and event), the coefficients' intervals and p-values use the
            patient-clustered robust (sandwich) variance (Lin & Wei 1989), not the observed
            information, which would count each lesion as an independent patient; the
            coefficients themselves do not change.
        """
        if not (is_real(self.penalizer) and self.penalizer >= 0):
            raise InputError(f"penalizer must be >= 0; got {self.penalizer!r}")
        if not (is_real(self.l1_ratio) and 0 <= self.l1_ratio <= 1):
            raise InputError(f"l1_ratio must be in [0, 1]; got {self.l1_ratio!r}")
        X = validate_data(self, X, dtype=np.float64)
        time, event = split_survival_target(y)
        if time.size != X.shape[0]:
            raise InputError(f"X has {X.shape[0]} rows but y has {time.size}")
        if X.shape[0] < 2:
            raise InputError(f"a Cox model needs at least 2 samples; got n_samples = {X.shape[0]}")
        try:
            from lifelines import CoxPHFitter
        except ImportError as exc:  # pragma: no cover - lifelines is in the model extra
            raise DependencyError("CoxPH needs lifelines: pip install 'radiomix[model]'") from exc
        self.mean_ = X.mean(axis=0)
        constant = np.ptp(X, axis=0) == 0
        sd = X.std(axis=0)
        self.scale_ = np.where(constant | ~(sd > 0), 1.0, sd)
        names = self._names()
        self.dropped_columns_ = [names[j] for j in np.flatnonzero(constant)]
        if constant.all():
            raise InputError(
                f"every covariate is constant on the {X.shape[0]} training rows "
                f"({self.dropped_columns_[:5]}); a Cox model needs a varying covariate"
            )
        if self.dropped_columns_:
            log.warning(
                "Cox model: %d constant column(s) dropped (coefficient 0, hazard ratio 1): %s",
                len(self.dropped_columns_),
                self.dropped_columns_[:10],
            )
        kept = np.flatnonzero(~constant)
        Z = (X[:, kept] - self.mean_[kept]) / self.scale_[kept]
        cols = [f"z{i}" for i in kept]
        frame = pd.DataFrame(Z, columns=cols)
        frame["_time"] = time
        frame["_event"] = event.astype(int)
        cluster = None
        if groups is not None:
            codes = pd.factorize(pd.Series(np.asarray(groups).ravel()))[0]
            if codes.size != X.shape[0]:
                raise InputError(f"X has {X.shape[0]} rows but groups has {codes.size}")
            if np.unique(codes).size < codes.size:  # a patient with several rows
                frame["_patient"] = codes
                cluster = "_patient"
        self.clustered_ = cluster is not None
        fitter = CoxPHFitter(penalizer=float(self.penalizer), l1_ratio=float(self.l1_ratio))
        try:
            fitter.fit(frame, duration_col="_time", event_col="_event", cluster_col=cluster)
        except Exception as exc:  # lifelines raises its own ConvergenceError (not ValueError)
            raise InputError(
                f"the Cox model did not converge ({type(exc).__name__}: {str(exc)[:200]}); "
                "try penalizer > 0 or fewer covariates"
            ) from exc
        self.coef_ = np.zeros(X.shape[1])
        self.coef_[kept] = fitter.params_.to_numpy(dtype=float)
        self.coef_raw_ = self.coef_ / self.scale_
        self.baseline_survival_ = fitter.baseline_survival_.iloc[:, 0].copy()
        summary = fitter.summary.copy()
        summary.index = [names[j] for j in kept]
        summary = summary.reindex(names)
        if self.dropped_columns_:
            summary.loc[self.dropped_columns_, "coef"] = 0.0
            summary.loc[self.dropped_columns_, "exp(coef)"] = 1.0
        summary.index.name = fitter.summary.index.name
        self.summary_ = summary
        self.monotone_columns_ = monotone_terms(X, time, event, names)
        return self

    def predict(self, X: Any) -> FloatArray:
        """Risk score :math:`\\sum_j \\beta_j z_j` (higher = higher hazard), shape (n,)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return ((X - self.mean_) / self.scale_) @ self.coef_

    def predict_survival(self, X: Any, times: Any) -> FloatArray:
        """Survival probabilities :math:`S(t\\mid x) = S_0(t)^{\\exp(\\mathrm{risk}(x))}`.

        Returns
        -------
        ndarray of shape (n_samples, n_times)
        """
        risk = self.predict(X)
        s0 = baseline_at(self.baseline_survival_, times)
        return s0[None, :] ** np.exp(risk)[:, None]

    def score(self, X: Any, y: Any) -> float:
        """Harrell's C-index of the risk score on ``(X, y)``."""
        from radiomix.evaluate.survival import concordance_index

        time, event = split_survival_target(y)
        return concordance_index(time, self.predict(X), event)

    def coefficients(self) -> pd.DataFrame:
        """Coefficient table with hazard ratios and their 95 % Wald intervals.

        Returns
        -------
        DataFrame
            One row per input column (named as in ``X``): ``term``, ``coef_standardised``
            (log hazard ratio per SD), ``coef_raw`` (per unit), ``hazard_ratio_raw``
            (per unit), ``hr_ci_low``, ``hr_ci_high`` (95 % Wald interval of the hazard
            ratio per unit), ``p_value`` (Wald test), ``selected``
            (:math:`|\\beta| >` :data:`ZERO_TOL` per SD), ``monotone`` (the term's partial
            likelihood is monotone on the training rows, :func:`monotone_terms`: no finite
            estimate exists; not flagged under an L1 penalty), ``clustered`` (the interval
            and p-value use the patient-clustered robust variance, ``clustered_``).

        Notes
        -----
        The interval is :math:`\\exp(\\hat\\beta \\pm 1.96\\,\\mathrm{SE})` from lifelines'
        observed information (its ``summary``), or from the patient-clustered robust
        variance when the fit was given patients with several rows (``clustered_``),
        rescaled from per SD to per unit (a Wald interval is equivariant under rescaling,
        so it equals the interval of a fit on the
        raw covariates). With a ridge penalty (``penalizer > 0``, ``l1_ratio = 0``) it is the
        interval of the shrunken estimate. With an L1 penalty (``l1_ratio > 0`` and
        ``penalizer > 0``) no Wald interval is valid after the selection, so interval and
        p-value are NaN. A dropped constant column has hazard ratio 1 and NaN interval.
        """
        check_is_fitted(self, "coef_")
        s = self.summary_
        lo = s["coef lower 95%"].to_numpy(dtype=float) / self.scale_
        hi = s["coef upper 95%"].to_numpy(dtype=float) / self.scale_
        p = s["p"].to_numpy(dtype=float)
        lasso = self.penalizer > 0 and self.l1_ratio > 0
        if lasso:
            lo = hi = p = np.full(self.coef_.size, np.nan)
        # under an L1 penalty the coefficients are shrunken predictors, not estimates, and
        # with many more columns than events some are monotone by chance: not flagged
        monotone = set() if lasso else set(getattr(self, "monotone_columns_", []))
        return pd.DataFrame(
            {
                "term": self._names(),
                "coef_standardised": self.coef_,
                "coef_raw": self.coef_raw_,
                "hazard_ratio_raw": np.exp(self.coef_raw_),
                "hr_ci_low": np.exp(lo),
                "hr_ci_high": np.exp(hi),
                "p_value": p,
                "selected": np.abs(self.coef_) > ZERO_TOL,
                "monotone": [n in monotone for n in self._names()],
                "clustered": bool(getattr(self, "clustered_", False)),
            }
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class LassoCox(CoxPH):
    """LASSO-penalised Cox model: :class:`CoxPH` with ``l1_ratio=1`` and ``penalizer=0.1``.

    Tune ``penalizer`` in an inner loop; :meth:`coefficients` marks the selected covariates.
    lifelines fits the L1 penalty by a smoothed Newton method: slow and prone to
    non-convergence with more covariates than patients; use :class:`CoxNet` there.
    """

    def __init__(self, *, penalizer: float = 0.1, l1_ratio: float = 1.0) -> None:
        super().__init__(penalizer=penalizer, l1_ratio=l1_ratio)


SCORINGS = ("deviance", "c_index")
"""Inner-CV criteria of :class:`CoxNet` for choosing the penalty along its path."""


def breslow_log_partial_likelihood(time: Any, event: Any, eta: Any) -> FloatArray:
    """Cox log partial likelihood with Breslow's handling of ties.

    .. math:: \\ell(\\eta) = \\sum_{i:\\,\\delta_i = 1} \\Big[\\eta_i -
              \\log \\sum_{k:\\,T_k \\ge T_i} e^{\\eta_k}\\Big]

    Parameters
    ----------
    time, event : array-like of shape (n,)
    eta : array-like of shape (n,) or (n, m)
        Linear predictors; one column per model (e.g. per penalty of a path).

    Returns
    -------
    ndarray of shape (m,) (a 0-d array for a 1-D ``eta``)

    References
    ----------
    Breslow N. Covariance analysis of censored survival data. Biometrics 1974;30:89-99.
    """
    t = np.asarray(time, dtype=float).ravel()
    d = np.asarray(event, dtype=bool).ravel()
    H = np.asarray(eta, dtype=float)
    one = H.ndim == 1
    H = H.reshape(t.size, -1)
    order = np.argsort(-t, kind="stable")
    ts, Hs, ds = t[order], H[order], d[order]
    # log of the risk-set sums: cumulative over decreasing times, read at the end of each tie
    cum = np.logaddexp.accumulate(Hs, axis=0)
    end = np.searchsorted(-ts, -ts, side="right") - 1
    ll = ((Hs - cum[end]) * ds[:, None]).sum(axis=0)
    return ll[0] if one else ll


def breslow_baseline_survival(time: Any, event: Any, risk: Any) -> pd.Series:
    """Breslow estimate of the baseline survival :math:`S_0(t)` for a linear predictor.

    .. math:: \\hat H_0(t) = \\sum_{t_i \\le t} \\frac{d_i}{\\sum_{k:\\,T_k \\ge t_i}
              e^{r_k}}, \\qquad \\hat S_0(t) = e^{-\\hat H_0(t)}

    over the distinct event times :math:`t_i` (:math:`d_i` events at :math:`t_i`), so that
    :math:`S(t \\mid x) = \\hat S_0(t)^{\\exp(r(x))}` for the same scale of ``risk``
    (adding a constant to ``risk`` rescales :math:`\\hat H_0`, not :math:`S(t \\mid x)`).

    Parameters
    ----------
    time, event, risk : array-like of shape (n,)
        Training times, event indicators and linear predictors.

    Returns
    -------
    Series
        :math:`\\hat S_0` at each distinct event time (index), and at the last follow-up
        time when it comes after the last event: a right-continuous step function, defined
        up to that time (evaluate it with :func:`baseline_at`).

    Notes
    -----
    Centre ``risk`` (e.g. on its training mean) and the scores it is applied to alike:
    with a risk far from 0, :math:`\\hat S_0` underflows or rounds to 1.

    References
    ----------
    Breslow N. Discussion of Cox DR, Regression models and life-tables. J R Stat Soc B
    1972;34:216-217.
    """
    t = np.asarray(time, dtype=float).ravel()
    d = np.asarray(event, dtype=bool).ravel()
    r = np.asarray(risk, dtype=float).ravel()
    if not (t.size == d.size == r.size):
        raise InputError(f"time, event and risk differ in length: {t.size}, {d.size}, {r.size}")
    if not (np.isfinite(t).all() and np.isfinite(r).all()):
        raise InputError("time and risk must be finite for a Breslow baseline")
    ev_times = np.unique(t[d])
    w = np.exp(r - r.max())
    at_risk = np.array([w[t >= s].sum() for s in ev_times])
    deaths = np.array([np.sum((t == s) & d) for s in ev_times])
    H0 = np.cumsum(deaths / at_risk) * np.exp(-r.max())
    s0 = np.exp(-H0)
    if ev_times.size == 0 or t.max() > ev_times[-1]:  # defined up to the last follow-up
        ev_times = np.append(ev_times, t.max())
        s0 = np.append(s0, s0[-1] if s0.size else 1.0)
    return pd.Series(s0, index=pd.Index(ev_times, name="time"), name="baseline_survival")


def _gradient_at_zero(Z: FloatArray, time: FloatArray, event: np.ndarray) -> FloatArray:
    """Gradient of the Breslow log partial likelihood at :math:`\\beta = 0`."""
    order = np.argsort(-time, kind="stable")
    ts, Zs, ds = time[order], Z[order], event[order]
    end = np.searchsorted(-ts, -ts, side="right") - 1
    cum = np.cumsum(Zs, axis=0)[end] / (end + 1)[:, None]
    return ((Zs - cum) * ds[:, None]).sum(axis=0)


def _standardise(X: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Training mean, SD (1 for constant columns) and the constant-column mask."""
    mean = X.mean(axis=0)
    constant = np.ptp(X, axis=0) == 0
    sd = X.std(axis=0)
    return mean, np.where(constant | ~(sd > 0), 1.0, sd), constant


def _n_selected(coef: FloatArray) -> np.ndarray:
    """Non-zero coefficients per column of a path (-1 where the penalty was not fitted)."""
    fitted = np.isfinite(coef).all(axis=0)
    return np.where(fitted, (np.nan_to_num(coef) != 0).sum(axis=0), -1)


class _PathFit:
    """Coefficients of one elastic-net Cox path (columns = penalties; NaN = not fitted)."""

    def __init__(self, coef: FloatArray, failed: list[float], truncated: int, warned: int):
        self.coef = coef
        self.failed = failed
        self.truncated = truncated
        self.warned = warned


def _coxnet_path(
    Z: FloatArray,
    time: FloatArray,
    event: np.ndarray,
    alphas: FloatArray,
    *,
    l1_ratio: float,
    max_iter: int,
    tol: float,
) -> _PathFit:
    """Fit scikit-survival's coordinate-descent path at ``alphas`` (decreasing) on ``Z``.

    Penalties at or above the data's :math:`\\alpha_{max}` have all-zero coefficients
    (computed, not fitted: scikit-survival stops a path that starts above it). A failing
    stretch of the path is split in halves and refitted, so one failing penalty leaves
    NaN in its own column only. Penalties beyond the point where scikit-survival stops a
    saturated path (deviance ratio near 1) are NaN as well (``truncated``).
    """
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    n, p = Z.shape
    coef = np.full((p, alphas.size), np.nan)
    grad = _gradient_at_zero(Z, time, event)
    alpha_max = float(np.abs(grad).max()) / (n * l1_ratio) if p else 0.0
    zero = alphas >= alpha_max * (1 - 1e-12)
    coef[:, zero] = 0.0
    y = Surv.from_arrays(event.astype(bool), time)
    failed: list[float] = []
    state = {"truncated": 0, "warned": 0}

    def run(idx: np.ndarray) -> None:
        model = CoxnetSurvivalAnalysis(
            alphas=alphas[idx], l1_ratio=l1_ratio, max_iter=max_iter, tol=tol
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(Z, y)
        except (ArithmeticError, ValueError, AssertionError, FloatingPointError) as exc:
            if idx.size == 1:
                failed.append(float(alphas[idx[0]]))
                log.debug("CoxNet: penalty %.4g failed: %s", alphas[idx[0]], exc)
                return
            half = idx.size // 2
            run(idx[:half])
            run(idx[half:])
            return
        state["warned"] += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        k = model.coef_.shape[1]
        coef[:, idx[:k]] = model.coef_
        state["truncated"] += idx.size - k

    todo = np.flatnonzero(~zero)
    if todo.size and p:
        run(todo)
    return _PathFit(coef, failed, state["truncated"], state["warned"])


class CoxNet(BaseEstimator):
    """LASSO / elastic-net Cox model for many features (scikit-survival's Coxnet path).

    Covariates are z-scored with the training mean and SD inside :meth:`fit` (constant
    columns dropped, coefficient 0). The penalty :math:`\\alpha` is either given or chosen
    along a path of ``n_alphas`` penalties by an inner cross-validation whose folds are
    grouped by patient (``groups``) and stratified by the event indicator; every inner
    fold z-scores with its own training rows.

    Parameters
    ----------
    l1_ratio : float in (0, 1]
        Elastic-net mixing :math:`\\rho` of
        :math:`-\\frac1n \\ell(\\beta) + \\alpha\\big(\\rho\\lVert\\beta\\rVert_1 +
        \\frac{1-\\rho}{2}\\lVert\\beta\\rVert_2^2\\big)`; 1 is the LASSO. For a pure ridge
        Cox model use :class:`CoxPH` (``l1_ratio=0``).
    alpha : float > 0 or None
        Penalty; None chooses it along the path by the inner cross-validation.
    n_alphas : int >= 2
        Length of the path, log-spaced from the data's :math:`\\alpha_{max}` (the smallest
        penalty that keeps no covariate) down to ``alpha_min_ratio`` times it.
    alpha_min_ratio : float in (0, 1) or "auto"
        "auto": 0.01 when there are at least as many covariates as rows, else 1e-4
        (scikit-survival's rule).
    cv : int >= 2
        Inner folds (clipped to the number of patients with an event, with a log message).
        10 by default, as glmnet's ``cv.glmnet``: the cross-validated partial likelihood
        scores every fold on all rows, so small test folds are fine, and larger training
        folds keep the chosen penalty close to the one the full data need (3 folds chose
        too sparse a model on 40 patients: ``benchmarks/bench_survival.py``).
    cv_repeats : int >= 1
        Repeats of the inner cross-validation with new folds; the scores of all folds are
        averaged, which steadies the choice of the penalty on small cohorts.
    scoring : {"deviance", "c_index"}
        Inner-CV criterion. "deviance": the cross-validated partial likelihood of Verweij
        and van Houwelingen, :math:`\\sum_k \\ell(\\hat\\beta_{-k}) -
        \\ell_{-k}(\\hat\\beta_{-k})` (glmnet's grouped Cox deviance); "c_index": mean
        Harrell C-index over the inner test folds. The largest penalty among the best
        scores is kept on ties.
    min_selected : int >= 0
        Fallback: when the chosen penalty keeps fewer covariates, the largest penalty of the
        path that keeps at least this many is used instead (``fallback_`` is True and a
        warning is logged). 0 disables it (the model may then predict a constant).
    max_iter : int
    tol : float
        Coordinate-descent settings passed to scikit-survival.
    random_state : int, RandomState or None
        Seed of the inner folds (repeat ``r`` of an int seed uses ``random_state + r``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Log hazard ratios per SD (0 for covariates not selected).
    coef_raw_ : ndarray of shape (n_features,)
        Per unit.
    mean_, scale_ : ndarray of shape (n_features,)
    alpha_ : float
        Penalty used.
    alphas_ : ndarray
        The path (decreasing).
    cv_results_ : DataFrame
        ``alpha``, ``n_selected`` (on all training rows), ``mean_score``, ``sd_score``
        (over the inner folds where the score is defined; NaN unless the penalty was
        fitted in every fold), ``n_folds`` (folds where the
        penalty was fitted); empty when ``alpha`` is given. Only penalties fitted on all
        rows and in every fold are candidates.
    n_selected_ : int
    selected_features_ : list of str
    fallback_ : bool
    failed_alphas_ : list of float
        Penalties whose fit failed (on all rows or in an inner fold); the others were used.
    n_inner_splits_ : int
        Inner folds used (0 when ``alpha`` is given).
    dropped_columns_ : list of str
    baseline_survival_ : Series
        Breslow :math:`S_0(t)` at the training mean (index: event times).

    Notes
    -----
    Ties are handled as in scikit-survival (Breslow), in the fit and in the inner score.
    Wald intervals are not valid after L1 selection, so :meth:`coefficients` gives none.

    References
    ----------
    Simon N, Friedman J, Hastie T, Tibshirani R. Regularization paths for Cox's
    proportional hazards model via coordinate descent. J Stat Softw 2011;39(5):1-13.
    Verweij PJM, van Houwelingen HC. Cross-validation in survival analysis. Stat Med
    1993;12:2305-2314.
    Pölsterl S. scikit-survival: a library for time-to-event analysis built on top of
    scikit-learn. J Mach Learn Res 2020;21(212):1-6.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 30))).add_prefix("f")
    >>> t = rng.exponential(np.exp(-1.5 * X["f0"]))
    >>> model = CoxNet(random_state=0).fit(X, survival_target(t, np.ones(60)))
    >>> "f0" in model.selected_features_
    True
    """

    def __init__(
        self,
        *,
        l1_ratio: float = 1.0,
        alpha: float | None = None,
        n_alphas: int = 50,
        alpha_min_ratio: float | str = "auto",
        cv: int = 10,
        cv_repeats: int = 1,
        scoring: str = "deviance",
        min_selected: int = 1,
        max_iter: int = 100_000,
        tol: float = 1e-7,
        random_state: Any = 0,
    ) -> None:
        self.l1_ratio = l1_ratio
        self.alpha = alpha
        self.n_alphas = n_alphas
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.cv_repeats = cv_repeats
        self.scoring = scoring
        self.min_selected = min_selected
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    _names = CoxPH._names

    def _check_params(self) -> None:
        if not (is_real(self.l1_ratio) and 0 < self.l1_ratio <= 1):
            raise InputError(
                f"l1_ratio must be in (0, 1]; got {self.l1_ratio!r} (for a ridge Cox model "
                "use CoxPH(penalizer=..., l1_ratio=0))"
            )
        if self.alpha is not None and not (is_real(self.alpha) and self.alpha > 0):
            raise InputError(f"alpha must be > 0 or None (chosen by inner CV); got {self.alpha!r}")
        if not (isinstance(self.n_alphas, (int, np.integer)) and self.n_alphas >= 2):
            raise InputError(f"n_alphas must be an int >= 2; got {self.n_alphas!r}")
        r = self.alpha_min_ratio
        if not ((isinstance(r, str) and r == "auto") or (is_real(r) and 0 < r < 1)):
            raise InputError(f"alpha_min_ratio must be in (0, 1) or 'auto'; got {r!r}")
        if not (isinstance(self.cv, (int, np.integer)) and self.cv >= 2):
            raise InputError(f"cv must be an int >= 2; got {self.cv!r}")
        if not (isinstance(self.cv_repeats, (int, np.integer)) and self.cv_repeats >= 1):
            raise InputError(f"cv_repeats must be an int >= 1; got {self.cv_repeats!r}")
        if self.scoring not in SCORINGS:
            raise InputError(f"scoring must be one of {SCORINGS}; got {self.scoring!r}")
        if not (isinstance(self.min_selected, (int, np.integer)) and self.min_selected >= 0):
            raise InputError(f"min_selected must be an int >= 0; got {self.min_selected!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise InputError(f"max_iter must be an int >= 1; got {self.max_iter!r}")
        if not (is_real(self.tol) and self.tol > 0):
            raise InputError(f"tol must be > 0; got {self.tol!r}")

    def _path(self, Z: FloatArray, time: FloatArray, event: np.ndarray) -> FloatArray:
        n, p = Z.shape
        ratio = self.alpha_min_ratio
        if isinstance(ratio, str):
            ratio = 0.01 if p >= n else 1e-4
        alpha_max = float(np.abs(_gradient_at_zero(Z, time, event)).max()) / (n * self.l1_ratio)
        if not alpha_max > 0:
            raise InputError("CoxNet: no covariate is associated with the outcome at all")
        return alpha_max * np.power(float(ratio), np.linspace(0.0, 1.0, int(self.n_alphas)))

    def _fit_path(
        self, Z: FloatArray, time: FloatArray, event: np.ndarray, alphas: FloatArray
    ) -> _PathFit:
        fit = _coxnet_path(
            Z,
            time,
            event,
            alphas,
            l1_ratio=float(self.l1_ratio),
            max_iter=int(self.max_iter),
            tol=float(self.tol),
        )
        self._n_convergence_warnings += fit.warned
        self.failed_alphas_.extend(a for a in fit.failed if a not in self.failed_alphas_)
        return fit

    def _inner_scores(
        self,
        X: FloatArray,
        time: FloatArray,
        event: np.ndarray,
        groups: np.ndarray,
        alphas: FloatArray,
    ) -> tuple[FloatArray, np.ndarray]:
        """Inner-CV score of each penalty and whether it was fitted, both of shape
        (n_folds * cv_repeats, n_alphas). A score is NaN where the penalty was not fitted or
        the score is undefined (a C-index without a comparable pair). Repeat ``r`` splits
        with seed ``random_state + r``."""
        from sklearn.model_selection import StratifiedGroupKFold

        from radiomix.evaluate.survival import concordance_index

        n_patients = np.unique(groups).size
        n_event_patients = np.unique(groups[event]).size
        k = min(int(self.cv), n_patients, n_event_patients)
        if k < 2:
            raise InputError(
                f"CoxNet: choosing the penalty by inner cross-validation needs at least 2 "
                f"patients with an event among the training rows; got {n_event_patients} (in "
                "Python, CoxNet(alpha=...) fixes the penalty instead)"
            )
        if k < self.cv:
            log.info(
                "CoxNet: inner folds clipped from %d to %d (patients with an event)", self.cv, k
            )
        self.n_inner_splits_ = k
        folds = []
        for r in range(int(self.cv_repeats)):
            seed = self.random_state
            if r and isinstance(seed, (int, np.integer)):
                seed = int(seed) + r
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            with warnings.catch_warnings():  # few censored patients: a known, harmless case
                warnings.filterwarnings("ignore", "The least populated class", UserWarning)
                folds.extend(splitter.split(X, event.astype(int), groups))
        scores = np.full((len(folds), alphas.size), np.nan)
        fitted = np.zeros((len(folds), alphas.size), dtype=bool)
        for i, (tr, te) in enumerate(folds):
            if not event[tr].any():  # cannot happen with k <= patients with an event
                fitted[i] = True
                continue
            mean, scale, constant = _standardise(X[tr])
            keep = np.flatnonzero(~constant)
            Zall = (X[:, keep] - mean[keep]) / scale[keep]
            fit = self._fit_path(Zall[tr], time[tr], event[tr], alphas)
            eta = Zall @ np.nan_to_num(fit.coef)
            ok = np.isfinite(fit.coef).all(axis=0)
            fitted[i] = ok
            if self.scoring == "deviance":
                full = breslow_log_partial_likelihood(time, event, eta)
                train = breslow_log_partial_likelihood(time[tr], event[tr], eta[tr])
                s = full - train
            else:
                s = np.array(
                    [concordance_index(time[te], eta[te, a], event[te]) for a in range(alphas.size)]
                )
            scores[i] = np.where(ok, s, np.nan)
        return scores, fitted

    def fit(self, X: Any, y: Any, groups: Any = None) -> CoxNet:
        """Fit the path, choose the penalty (inner CV unless ``alpha`` is given), keep its model.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : survival target (see module docs)
        groups : array-like of shape (n,), optional
            Patient id of each row for the inner folds; without it rows are patients.

        Raises
        ------
        InputError
            Bad parameters, fewer than 2 patients with an event for the inner CV, or no
            penalty of the path could be fitted.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        time, event = split_survival_target(y)
        n = X.shape[0]
        if time.size != n:
            raise InputError(f"X has {n} rows but y has {time.size}")
        if n < 3:
            raise InputError(f"CoxNet needs at least 3 samples; got n_samples = {n}")
        g = np.arange(n) if groups is None else np.asarray(groups).ravel()
        if g.size != n:
            raise InputError(f"groups has {g.size} values but X has {n} rows")
        names = self._names()
        self.mean_, self.scale_, constant = _standardise(X)
        self.dropped_columns_ = [names[j] for j in np.flatnonzero(constant)]
        if constant.all():
            raise InputError(
                f"every covariate is constant on the {n} training rows; CoxNet needs a "
                "varying covariate"
            )
        kept = np.flatnonzero(~constant)
        Z = (X[:, kept] - self.mean_[kept]) / self.scale_[kept]
        self.failed_alphas_: list[float] = []
        self._n_convergence_warnings = 0
        self.n_inner_splits_ = 0
        path = self._path(Z, time, event)
        if self.alpha is None:
            self.alphas_ = path
            full = self._fit_path(Z, time, event, path)
            scores, fold_fitted = self._inner_scores(X, time, event, g, path)
            n_scored = np.isfinite(scores).sum(axis=0)
            fitted = np.isfinite(full.coef).all(axis=0) & fold_fitted.all(axis=0) & (n_scored > 0)
            with warnings.catch_warnings():  # all-NaN columns: penalties not fitted
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.where(fold_fitted.all(axis=0), np.nanmean(scores, axis=0), np.nan)
                sd = np.where(fold_fitted.all(axis=0), np.nanstd(scores, axis=0), np.nan)
            self.cv_results_ = pd.DataFrame(
                {
                    "alpha": path,
                    "n_selected": _n_selected(full.coef),
                    "mean_score": mean,
                    "sd_score": sd,
                    "n_folds": fold_fitted.sum(axis=0),
                }
            )
            if not fitted.any():
                raise InputError(
                    f"CoxNet: no penalty of the path could be fitted in every inner fold "
                    f"({len(self.failed_alphas_)} failed); try a larger alpha_min_ratio"
                )
            best = int(np.flatnonzero(fitted)[np.argmax(mean[fitted])])
            coefs, alphas = full.coef, path
        else:
            above = path[path > self.alpha]
            alphas = np.append(above, float(self.alpha))
            self.alphas_ = alphas
            self.cv_results_ = pd.DataFrame(
                columns=["alpha", "n_selected", "mean_score", "sd_score", "n_folds"]
            )
            full = self._fit_path(Z, time, event, alphas)
            if not np.isfinite(full.coef[:, -1]).all():  # the path stopped early: fit alone
                alone = self._fit_path(Z, time, event, alphas[-1:])
                full.coef[:, -1] = alone.coef[:, 0]
            if not np.isfinite(full.coef[:, -1]).all():
                raise InputError(
                    f"CoxNet: alpha={self.alpha:g} could not be fitted; choose a larger alpha "
                    f"(the path starts at {path[0]:.4g})"
                )
            best, coefs = alphas.size - 1, full.coef
        beta = coefs[:, best]
        self.fallback_ = False
        if np.sum(beta != 0) < self.min_selected:
            fb_alphas, fb = (
                (alphas, full)
                if self.alpha is None
                else (path, self._fit_path(Z, time, event, path))
            )
            ok = np.flatnonzero(_n_selected(fb.coef) >= self.min_selected)
            if ok.size == 0:
                raise InputError(
                    f"CoxNet: no penalty of the path keeps {self.min_selected} covariate(s); "
                    "set min_selected=0 to allow an empty model"
                )
            j = int(ok[0])
            log.warning(
                "CoxNet: penalty %.4g keeps %d covariate(s); fallback to the largest penalty "
                "keeping at least %d (%.4g, %d covariate(s))",
                alphas[best],
                int(np.sum(beta != 0)),
                self.min_selected,
                fb_alphas[j],
                int(_n_selected(fb.coef)[j]),
            )
            beta, self.alpha_, self.fallback_ = fb.coef[:, j], float(fb_alphas[j]), True
        else:
            self.alpha_ = float(alphas[best])
        if self._n_convergence_warnings:
            log.warning(
                "CoxNet: coordinate descent hit max_iter=%d in %d path fit(s)",
                self.max_iter,
                self._n_convergence_warnings,
            )
        self.coef_ = np.zeros(X.shape[1])
        self.coef_[kept] = beta
        self.coef_raw_ = self.coef_ / self.scale_
        self.n_selected_ = int(np.sum(self.coef_ != 0))
        self.selected_features_ = [names[j] for j in np.flatnonzero(self.coef_)]
        self.baseline_survival_ = breslow_baseline_survival(time, event, Z @ beta)
        return self

    def predict(self, X: Any) -> FloatArray:
        """Risk score :math:`\\sum_j \\beta_j z_j` (higher = higher hazard), shape (n,)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return ((X - self.mean_) / self.scale_) @ self.coef_

    predict_survival = CoxPH.predict_survival
    score = CoxPH.score

    def coefficients(self) -> pd.DataFrame:
        """Coefficient table, named by the input columns.

        Returns
        -------
        DataFrame
            ``term``, ``coef_standardised``, ``coef_raw``, ``hazard_ratio_raw``,
            ``hr_ci_low``, ``hr_ci_high``, ``p_value`` (NaN: no valid Wald inference after
            L1 selection), ``selected`` (non-zero coefficient).
        """
        check_is_fitted(self, "coef_")
        nan = np.full(self.coef_.size, np.nan)
        return pd.DataFrame(
            {
                "term": self._names(),
                "coef_standardised": self.coef_,
                "coef_raw": self.coef_raw_,
                "hazard_ratio_raw": np.exp(self.coef_raw_),
                "hr_ci_low": nan,
                "hr_ci_high": nan,
                "p_value": nan,
                "selected": self.coef_ != 0,
            }
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def baseline_at(baseline: pd.Series, times: Any) -> FloatArray:
    """Step-function value of a baseline survival curve at ``times``: 1 before its first
    time, NaN after its last (the end of the training follow-up: no estimate there, where
    carrying the last value forward would give a later horizon's probability the value of
    an earlier one).

    Examples
    --------
    >>> s0 = pd.Series([0.9, 0.7], index=[1.0, 3.0])
    >>> baseline_at(s0, [0.5, 1.0, 2.0, 3.0, 4.0]).tolist()
    [1.0, 0.9, 0.9, 0.7, nan]
    """
    t = np.atleast_1d(np.asarray(times, dtype=float))
    index = baseline.index.to_numpy(dtype=float)
    idx = np.searchsorted(index, t, side="right") - 1
    vals = baseline.to_numpy(dtype=float)
    out = np.where(idx >= 0, vals[np.clip(idx, 0, None)], 1.0)
    if index.size:
        out = np.where(t > index[-1], np.nan, out)
    return out
