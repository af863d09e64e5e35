"""Cox proportional-hazards models (lifelines) as sklearn estimators, and survival outcomes.

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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from radiomix.errors import DependencyError, InputError
from radiomix.model._validation import is_real
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
    summary_ : DataFrame
        lifelines' summary (coefficients, SE, p-values, CIs) on the z-scored covariates;
        a dropped column's row has ``coef`` 0, ``exp(coef)`` 1 and NaN elsewhere.
    dropped_columns_ : list of str
        Covariates constant on the training rows (zero variance), left out of the fit.

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

    def fit(self, X: Any, y: Any) -> CoxPH:
        """Fit the Cox model.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : survival target (see module docs)
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
        fitter = CoxPHFitter(penalizer=float(self.penalizer), l1_ratio=float(self.l1_ratio))
        try:
            fitter.fit(frame, duration_col="_time", event_col="_event")
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
        """Coefficient table: ``term``, ``coef_standardised``, ``coef_raw``, ``hazard_ratio_raw``,
        ``selected`` (:math:`|\\beta| >` :data:`ZERO_TOL` per SD)."""
        check_is_fitted(self, "coef_")
        return pd.DataFrame(
            {
                "term": self._names(),
                "coef_standardised": self.coef_,
                "coef_raw": self.coef_raw_,
                "hazard_ratio_raw": np.exp(self.coef_raw_),
                "selected": np.abs(self.coef_) > ZERO_TOL,
            }
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class LassoCox(CoxPH):
    """LASSO-penalised Cox model: :class:`CoxPH` with ``l1_ratio=1`` and ``penalizer=0.1``.

    Tune ``penalizer`` in an inner loop; :meth:`coefficients` marks the selected covariates.
    """

    def __init__(self, *, penalizer: float = 0.1, l1_ratio: float = 1.0) -> None:
        super().__init__(penalizer=penalizer, l1_ratio=l1_ratio)


def baseline_at(baseline: pd.Series, times: Any) -> FloatArray:
    """Step-function value of a baseline survival curve at ``times`` (1 before the first)."""
    t = np.atleast_1d(np.asarray(times, dtype=float))
    idx = np.searchsorted(baseline.index.to_numpy(dtype=float), t, side="right") - 1
    vals = baseline.to_numpy(dtype=float)
    return np.where(idx >= 0, vals[np.clip(idx, 0, None)], 1.0)


def sarcoma_lung_metastasis_outcome(clinical: pd.DataFrame) -> pd.DataFrame:
    """Time to lung metastasis in the soft-tissue-sarcoma cohort (``sts/clinical.csv``).

    Definition (issue 6): time = ``days_dx_to_outcome`` with event = 1 when
    ``lung_mets`` = 1; otherwise event = 0 (censored) at ``days_dx_to_outcome`` when another
    event came first (``outcome_recurrence_mets`` is not ``--``), else at
    ``days_dx_to_last_fu``. Competing first events are thus treated as censoring.

    Parameters
    ----------
    clinical : DataFrame
        The clinical table (``patient_id``, ``lung_mets``, ``outcome_recurrence_mets``,
        ``days_dx_to_outcome``, ``days_dx_to_last_fu``).

    Returns
    -------
    DataFrame
        ``patient_id``, ``time_days``, ``time_years`` (days / 365.25), ``event`` (0/1).

    Raises
    ------
    InputError
        Missing columns or a needed day count missing.
    """
    need = [
        "patient_id",
        "lung_mets",
        "outcome_recurrence_mets",
        "days_dx_to_outcome",
        "days_dx_to_last_fu",
    ]
    missing = [c for c in need if c not in clinical.columns]
    if missing:
        raise InputError(f"clinical table lacks columns {missing}")
    outcome = pd.to_numeric(clinical["days_dx_to_outcome"].replace("--", np.nan), errors="coerce")
    last_fu = pd.to_numeric(clinical["days_dx_to_last_fu"], errors="coerce")
    lung = pd.to_numeric(clinical["lung_mets"], errors="coerce")
    other_first = clinical["outcome_recurrence_mets"].astype(str).str.strip().ne("--") & lung.eq(0)
    event = lung.eq(1)
    time = np.where(event | other_first, outcome, last_fu)
    out = pd.DataFrame(
        {
            "patient_id": clinical["patient_id"].astype(str).to_numpy(),
            "time_days": time.astype(float),
            "event": event.astype(int).to_numpy(),
        }
    )
    bad = out["time_days"].isna() | lung.isna().to_numpy()
    if bad.any():
        raise InputError(
            f"cannot build the outcome for patients {out.loc[bad, 'patient_id'].tolist()[:5]}: "
            "missing lung_mets or day counts"
        )
    out["time_years"] = out["time_days"] / 365.25
    return out[["patient_id", "time_days", "time_years", "event"]]
