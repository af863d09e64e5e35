"""Clinical–radiomic nomograms: logistic or Cox model on rad-score + clinical covariates.

A nomogram turns a linear predictor :math:`\\eta = \\beta_0 + \\sum_j \\beta_j x_j` into a
points chart: each covariate gets a scale from 0 to its maximum points,

.. math:: \\mathrm{points}_j(x) = 100\\,\\frac{\\beta_j (x - x_j^{ref})}{R},
          \\qquad R = \\max_k |\\beta_k| (x_k^{max} - x_k^{min}),

with :math:`x_j^{ref}` the end of the training range that scores 0 points (the minimum for
:math:`\\beta_j > 0`, the maximum otherwise). The covariate with the widest effect spans
0–100 points; the total points :math:`T` map back to :math:`\\eta = \\eta_{ref} + T R/100`,
and :math:`\\eta` to the predicted probability (logistic) or the survival probability at a
horizon (Cox). Missing covariates are imputed with the training median.

The rad-score enters the nomogram *cross-fitted*: its coefficient is estimated on
out-of-fold rad-scores of the training rows (K internal folds, grouped by patient), because a
rad-score fitted on the same rows separates them better than it separates new patients and
would receive an optimistic weight. The rad-score used for prediction and for the chart is
then refitted on all training rows.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.model.columns import column_block
from radiomix.model.radscore import RadScore
from radiomix.model.survival import (
    CoxNet,
    CoxPH,
    LassoCox,
    baseline_at,
    monotone_terms,
    split_survival_target,
    survival_target,
)
from radiomix.types import FloatArray

log = logging.getLogger(__name__)


class _NomogramBase(BaseEstimator):
    def _split_columns(self, names: list[str], named: bool) -> tuple[list[int], list[int]]:
        rc = self.radiomic_columns
        if rc is None:
            return [], list(range(len(names)))
        if isinstance(rc, str) and rc == "auto":
            if not named:
                raise InputError("radiomic_columns='auto' needs a DataFrame with column names")
            rad = [i for i, c in enumerate(names) if column_block(c) != "clinical"]
        elif isinstance(rc, str):
            raise InputError(f"radiomic_columns must be None, 'auto' or a list; got {rc!r}")
        else:
            if not named:
                raise InputError("radiomic_columns given by name need a DataFrame")
            index = {c: i for i, c in enumerate(names)}
            absent = [c for c in rc if c not in index]
            if absent:
                raise InputError(f"radiomic columns absent from X: {absent}")
            rad = [index[c] for c in rc]
        if not rad:
            raise InputError("no radiomic column found for the rad-score")
        clin = [i for i in range(len(names)) if i not in set(rad)]
        return rad, clin

    def _rad_frame(self, X: FloatArray) -> pd.DataFrame:
        return pd.DataFrame(X[:, self._rad_idx], columns=self.radiomic_columns_)

    def _design(self, X: FloatArray) -> FloatArray:
        """Rad-score of ``radscore_`` (when radiomic columns are set) + imputed clinical."""
        parts = []
        if self._rad_idx:
            parts.append(self._radscore_of(self.radscore_, self._rad_frame(X))[:, None])
        if self._clin_idx:
            C = X[:, self._clin_idx]
            parts.append(np.where(np.isnan(C), self.clinical_medians_, C))
        return np.hstack(parts)

    def _crossfit_folds(self, strata: np.ndarray, groups: Any) -> list[tuple[Any, Any]]:
        """Internal folds of the rad-score cross-fitting (grouped by patient when given).

        ``radscore_cv`` folds, or fewer when the training rows hold fewer patients (of the
        smallest class; of those with an event for Cox), logged; ``n_crossfit_folds_``
        records the number used.
        """
        cv = self.radscore_cv
        if not (isinstance(cv, (int, np.integer)) and cv >= 2):
            raise InputError(f"radscore_cv must be an int >= 2; got {cv!r}")
        n = strata.size
        if groups is None:
            g, units, kind = None, n, "rows (no groups given: rows taken as patients)"
        else:
            from radiomix.evaluate.splits import check_groups

            g = check_groups(groups, n)
            units, kind = int(np.unique(g).size), "patients"
        unit_ids = g if g is not None else np.arange(n)
        per_class = {
            c: int(np.unique(unit_ids[strata == c]).size) for c in self._required_strata(strata)
        }
        fewest = min(per_class.values(), default=0)
        self.crossfit_fallback_ = False
        if units >= 2 and fewest == 1:
            # a class held by one patient: no fold split can keep it on both sides; the
            # rad-score's own training scores are used instead (optimistic), said here
            log.info("rad-score cross-fitting impossible (%s); in-sample rad-scores used",
                     per_class)
            self.crossfit_fallback_ = True
            self.crossfit_grouped_ = g is not None
            self.n_crossfit_folds_ = 0
            return []
        if units < 2 or fewest < 2:
            raise InputError(
                f"rad-score cross-fitting needs at least 2 {kind} {self._stratum_name()} among "
                f"the training rows; found {per_class} per outcome value"
            )
        k = min(int(cv), units, fewest)
        if k < cv:
            log.info(
                "rad-score cross-fitting: %d folds instead of radscore_cv=%d (%d %s, %s)",
                k,
                cv,
                units,
                kind,
                per_class,
            )
        splitter: Any = (StratifiedKFold if g is None else StratifiedGroupKFold)(
            n_splits=k, shuffle=True, random_state=self.random_state
        )
        try:
            folds = list(splitter.split(np.zeros(n), strata, g))
        except ValueError as exc:
            raise InputError(
                f"cannot cross-fit the rad-score in {k} folds of {kind}: {exc}"
            ) from exc
        self.crossfit_grouped_ = g is not None
        self.n_crossfit_folds_ = k
        return folds

    def _fit_radscore(self, R: pd.DataFrame, y: Any, groups: np.ndarray | None) -> Any:
        """A fitted rad-score model; one whose ``fit`` takes ``groups`` gets the patient ids."""
        model = self._make_radscore()
        if groups is not None and "groups" in inspect.signature(model.fit).parameters:
            return model.fit(R, y, groups=groups)
        return model.fit(R, y)

    def _fit_design(self, X: FloatArray, y_rs: Any, strata: np.ndarray, groups: Any) -> Any:
        """Fit ``radscore_`` and the clinical medians; return (fit design, prediction design).

        The fit design holds the out-of-fold rad-score of each training row (cross-fitting),
        the prediction design the rad-score of the model refitted on all rows.
        """
        if self._clin_idx:
            C = X[:, self._clin_idx]
            with np.errstate(all="ignore"):
                med = np.nanmedian(np.where(np.isnan(C).all(0), 0.0, C), axis=0)
            self.clinical_medians_ = np.nan_to_num(med)
        if not self._rad_idx:
            D = self._design(X)
            return D, D
        R = self._rad_frame(X)
        g = None if groups is None else np.asarray(groups).ravel()
        oof = np.full(strata.size, np.nan)
        fold_of = np.full(strata.size, -1)
        for k, (tr, te) in enumerate(self._crossfit_folds(strata, groups)):
            self._check_crossfit_fold(k, strata[tr])
            model = self._fit_radscore(R.iloc[tr], y_rs[tr], None if g is None else g[tr])
            oof[te] = self._radscore_of(model, R.iloc[te])
            fold_of[te] = k
        self.radscore_ = self._fit_radscore(R, y_rs, g)
        if self.crossfit_fallback_:
            oof = self._radscore_of(self.radscore_, R)
        self.radscore_oof_ = oof
        self.radscore_folds_ = fold_of
        D = self._design(X)
        D_fit = D.copy()
        D_fit[:, 0] = oof
        return D_fit, D

    def _setup(self, X: Any, y: Any = None) -> Any:
        if y is None:
            X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        named = hasattr(self, "feature_names_in_")
        names = (
            [str(c) for c in self.feature_names_in_]
            if named
            else [f"x{i}" for i in range(X.shape[1])]
        )
        self._rad_idx, self._clin_idx = self._split_columns(names, named)
        self.radiomic_columns_ = [names[i] for i in self._rad_idx]
        rad_nan = np.isnan(X[:, self._rad_idx]).any() if self._rad_idx else False
        if rad_nan:
            raise InputError("radiomic columns hold NaN; impute them before the nomogram")
        self.terms_ = (["radscore"] if self._rad_idx else []) + [names[i] for i in self._clin_idx]
        return X if y is None else (X, y)

    def _ranges(self, D: FloatArray) -> None:
        self.term_min_ = D.min(axis=0)
        self.term_max_ = D.max(axis=0)
        self.term_levels_ = [
            np.unique(col) if np.unique(col).size <= 10 else np.array([]) for col in D.T
        ]

    def points_table(self, *, n_ticks: int = 6) -> pd.DataFrame:
        """Points per covariate value: ``term``, ``value``, ``points`` (ticks of each scale)."""
        check_is_fitted(self, "coef_raw_")
        beta, lo, hi = self.coef_raw_, self.term_min_, self.term_max_
        R = float(np.max(np.abs(beta) * (hi - lo)))
        if R <= 0:
            raise InputError("every coefficient or covariate range is 0; nothing to chart")
        rows = []
        for j, term in enumerate(self.terms_):
            ref = lo[j] if beta[j] >= 0 else hi[j]
            levels = self.term_levels_[j]
            values = levels if 0 < len(levels) <= n_ticks else np.linspace(lo[j], hi[j], n_ticks)
            for v in values:
                rows.append(
                    {
                        "term": term,
                        "value": float(v),
                        "points": float(100 * beta[j] * (v - ref) / R),
                    }
                )
        return pd.DataFrame(rows)

    def _eta_ref_and_scale(self) -> tuple[float, float]:
        beta, lo, hi = self.coef_raw_, self.term_min_, self.term_max_
        R = float(np.max(np.abs(beta) * (hi - lo)))
        ref = np.where(beta >= 0, lo, hi)
        return float(self._eta0() + np.sum(beta * ref)), R

    def total_points(self, X: Any) -> FloatArray:
        """Total nomogram points of each row of ``X``."""
        check_is_fitted(self, "coef_raw_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        D = self._design(X)
        eta_ref, R = self._eta_ref_and_scale()
        return 100 * (self._eta0() + D @ self.coef_raw_ - eta_ref) / R

    def plot(self, *, n_ticks: int = 6, title: str | None = None) -> Any:
        """Draw the points chart (matplotlib ``Figure``; no pyplot state is touched)."""
        from matplotlib.figure import Figure

        table = self.points_table(n_ticks=n_ticks)
        eta_ref, R = self._eta_ref_and_scale()
        n_terms = len(self.terms_)
        max_total = float(table.groupby("term")["points"].max().sum())
        fig = Figure(figsize=(8, 0.7 * (n_terms + 4) + 0.6))
        ax = fig.add_subplot()
        rows = ["Points", *self.terms_, "Total points", self._outcome_label()]
        ypos = np.arange(len(rows))[::-1]

        def axis(y: float, xs: Any, labels: Sequence[str]) -> None:
            ax.hlines(y, min(xs), max(xs), color="k", lw=1)
            crowded = len(xs) > 1 and np.min(np.diff(sorted(xs))) < 6
            for i, (x, lab) in enumerate(zip(xs, labels, strict=True)):
                below = crowded and i % 2 == 1
                ax.vlines(
                    x, y - (0.12 if below else 0), y + (0 if below else 0.12), color="k", lw=1
                )
                ax.text(
                    x,
                    y - 0.18 if below else y + 0.18,
                    lab,
                    ha="center",
                    va="top" if below else "bottom",
                    fontsize=7,
                )

        pts = np.linspace(0, 100, 11)
        axis(ypos[0], pts, [f"{p:.0f}" for p in pts])
        for k, term in enumerate(self.terms_):
            sub = table[table["term"] == term]
            axis(ypos[k + 1], sub["points"].tolist(), [f"{v:.3g}" for v in sub["value"]])
        # total points: 0..max_total drawn over the plot width 0..100
        to_x = 100.0 / max_total if max_total > 0 else 0.0
        totals = np.linspace(0, max_total, 9)
        axis(ypos[-2], (totals * to_x).tolist(), [f"{t:.0f}" for t in totals])
        ticks = []
        for pr in self._outcome_ticks():
            tp = 100 * (self._eta_for_outcome(pr) - eta_ref) / R
            if np.isfinite(tp) and 0 <= tp <= max_total:
                ticks.append((tp * to_x, f"{pr:.2g}"))
        if ticks:
            axis(ypos[-1], [x for x, _ in ticks], [lab for _, lab in ticks])
        ax.set_yticks(ypos)
        ax.set_yticklabels(rows, fontsize=8)
        ax.set_xlim(-5, 105)
        ax.set_ylim(-0.8, len(rows) - 0.2)
        ax.set_xticks([])
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(title or self._title(), fontsize=10)
        fig.tight_layout()
        return fig

    def _outcome_ticks(self) -> list[float]:
        return [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]


def separating_terms(design: FloatArray, y01: np.ndarray, terms: Sequence[str]) -> list[str]:
    """Terms that separate the two classes on their own, completely or quasi-completely.

    A term separates when some cut leaves every positive row on one side and every negative
    row on the other, rows on the cut allowed (Albert & Anderson 1984): ``min`` over the
    positives ``>=`` ``max`` over the negatives, or the reverse. A categorical level whose
    patients all have the same outcome (all women negative) is such a term (its indicator
    is 1 on positives only, or 0 on them only). The maximum-likelihood coefficient of a
    separating term is infinite: a logistic fit returns whatever its penalty and stopping
    rule leave (an odds ratio of 10^8 on 20 patients), which is no estimate.

    Parameters
    ----------
    design : (n, p) ndarray
        The terms' values on the fitted rows (missing values imputed).
    y01 : (n,) ndarray of 0/1
    terms : sequence of str
        The term names, one per column.

    Returns
    -------
    list of str
        The separating terms, in design order.
    """
    pos, neg = design[y01 == 1], design[y01 == 0]
    if not len(pos) or not len(neg):
        return []
    out = []
    for j, term in enumerate(terms):
        if np.ptp(design[:, j]) == 0:
            continue  # a constant term separates nothing
        p_lo, p_hi = np.nanmin(pos[:, j]), np.nanmax(pos[:, j])
        n_lo, n_hi = np.nanmin(neg[:, j]), np.nanmax(neg[:, j])
        if p_lo >= n_hi or p_hi <= n_lo:
            out.append(str(term))
    return out


class Nomogram(ClassifierMixin, _NomogramBase):
    """Logistic nomogram on a cross-fitted rad-score and clinical covariates (binary outcome).

    Parameters
    ----------
    radiomic_columns : None, "auto" or list of str
        Columns condensed into the rad-score (a :class:`RadScore`); ``"auto"`` takes every
        radiomic/deep feature column by name; ``None`` makes a purely clinical nomogram. All
        other columns are clinical covariates.
    C : float
        Inverse ridge strength of the nomogram's logistic model on z-scored terms (large =
        nearly unpenalised; ``numpy.inf`` for the plain maximum-likelihood fit).
    radscore_C, radscore_l1_ratio : float
        Penalty of the rad-score (:class:`RadScore`).
    radscore_cv : int
        Number of internal folds of the rad-score cross-fitting (>= 2); fewer when the
        training rows hold fewer patients of a class.
    random_state : int, RandomState or None
        Seed of the internal folds and of the rad-score solver.

    Attributes
    ----------
    terms_ : list of str
        ``radscore`` (if any) then the clinical covariates.
    coef_raw_ : ndarray
        Log odds ratios per unit of each term; ``intercept_raw_``.
    radscore_ : RadScore
        The rad-score refitted on all training rows, used for prediction and the chart
        (when radiomic columns are used).
    radscore_oof_ : ndarray of shape (n_train,)
        Out-of-fold rad-score of each training row, on which the nomogram was fitted.
    radscore_folds_ : ndarray of int, shape (n_train,)
        Internal fold in which each training row was left out.
    crossfit_grouped_ : bool
        Whether the internal folds were grouped by patient.
    n_crossfit_folds_ : int
        Number of internal folds used (0 with the fallback below).
    crossfit_fallback_ : bool
        A class held by a single training patient makes cross-fitting impossible: the
        rad-score's in-sample scores were used (optimistic; happens in the tiny inner folds of
        small cohorts, and is logged).
    separated_ : list of str
        Terms that separate the classes of the training rows on their own
        (:func:`separating_terms`): their coefficients are not estimates.

    Notes
    -----
    Cross-fitting. A rad-score fitted on the training rows and then used as a covariate on
    the same rows separates them better than it would new patients, so its weight in the
    nomogram (and the weights beside it) would be optimistic. :meth:`fit` therefore splits
    the training rows into ``radscore_cv`` folds, ``StratifiedGroupKFold(radscore_cv,
    shuffle=True, random_state)`` by the outcome and the patient ids ``groups`` (every row
    of a patient in one fold), fits a :class:`RadScore` on the other folds and scores the
    rows of each fold with it. The logistic model is fitted on these out-of-fold rad-scores
    and the clinical covariates; the rad-score is then refitted on all training rows and
    that model gives the rad-score of new rows (and the chart's rad-score scale). Without
    ``groups`` each row is taken as its own patient (``StratifiedKFold``), which is right
    for one row per patient only. With fewer patients of the smaller class than
    ``radscore_cv`` that number of folds is used (logged; ``n_crossfit_folds_``). A class
    held by a single training patient makes cross-fitting impossible: the rad-score's
    in-sample scores are used then (``crossfit_fallback_``, logged), so that the tiny inner
    folds of small cohorts still fit. :func:`radiomix.evaluate.nested_cv` passes the patient
    ids; evaluate the nomogram's accuracy there, not on its training rows.
    """

    def __init__(
        self,
        *,
        radiomic_columns: str | Sequence[str] | None = None,
        C: float = 100.0,
        radscore_C: float = 1.0,
        radscore_l1_ratio: float = 1.0,
        radscore_cv: int = 5,
        random_state: Any = None,
    ) -> None:
        self.radiomic_columns = radiomic_columns
        self.C = C
        self.radscore_C = radscore_C
        self.radscore_l1_ratio = radscore_l1_ratio
        self.radscore_cv = radscore_cv
        self.random_state = random_state

    def _make_radscore(self) -> RadScore:
        return RadScore(
            C=self.radscore_C, l1_ratio=self.radscore_l1_ratio, random_state=self.random_state
        )

    @staticmethod
    def _radscore_of(model: Any, X: Any) -> FloatArray:
        return np.asarray(model.decision_function(X), dtype=float)

    @staticmethod
    def _required_strata(strata: np.ndarray) -> list[Any]:
        return [0, 1]

    @staticmethod
    def _stratum_name() -> str:
        return "of each class"

    @staticmethod
    def _check_crossfit_fold(k: int, strata_train: np.ndarray) -> None:
        if np.unique(strata_train).size < 2:
            raise InputError(
                f"rad-score cross-fitting: the training rows of internal fold {k} hold one "
                "class only; give more patients of each class or a smaller radscore_cv"
            )

    def fit(self, X: Any, y: Any, groups: Any = None) -> Nomogram:
        """Fit the cross-fitted rad-score (if any) and the logistic model.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : array-like of shape (n,)
            Binary outcome.
        groups : array-like of shape (n,), optional
            Patient id of each row, for the rad-score's internal folds; without it rows are
            taken as patients.

        Raises
        ------
        InputError
            Not a binary outcome, a parameter out of range, fewer than 2 patients of a
            class, or an internal training fold with one class.
        """
        if not (is_real(self.C) and self.C > 0):
            raise InputError(f"C must be > 0; got {self.C!r}")
        if y is None:
            raise InputError("Nomogram requires y to be passed, but the target y is None")
        X, y = self._setup(X, y)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size != 2:
            raise InputError(
                f"Only binary classification is supported: a logistic nomogram "
                f"needs a binary outcome; y has {classes.size} class(es)"
            )
        self.classes_ = classes
        y01 = (y == classes[1]).astype(int)
        D_fit, D = self._fit_design(X, y01, y01, groups)
        self._ranges(D)
        mu, sd = D_fit.mean(0), D_fit.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        lr = LogisticRegression(C=self.C, tol=1e-10, max_iter=10000).fit((D_fit - mu) / sd, y01)
        self.coef_raw_ = lr.coef_.ravel() / sd
        self.intercept_raw_ = float(lr.intercept_[0] - np.sum(self.coef_raw_ * mu))
        self.separated_ = separating_terms(D_fit, y01, self.terms_)
        return self

    def decision_function(self, X: Any) -> FloatArray:
        """Linear predictor (log-odds), shape (n,)."""
        check_is_fitted(self, "coef_raw_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return self.intercept_raw_ + self._design(X) @ self.coef_raw_

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of ``classes_``, shape (n, 2)."""
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class with probability above 0.5."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def coefficients(self) -> pd.DataFrame:
        """``term``, ``coef_raw`` (log odds ratio per unit), ``odds_ratio``; intercept first."""
        check_is_fitted(self, "coef_raw_")
        return pd.DataFrame(
            {
                "term": ["(intercept)", *self.terms_],
                "coef_raw": [self.intercept_raw_, *self.coef_raw_],
                "odds_ratio": [np.nan, *np.exp(self.coef_raw_)],
            }
        )

    def _eta0(self) -> float:
        return self.intercept_raw_

    def _eta_for_outcome(self, prob: float) -> float:
        return float(np.log(prob / (1 - prob)))

    def _outcome_label(self) -> str:
        return f"P({self.classes_[1]})"

    def _title(self) -> str:
        return "Logistic nomogram"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags


class CoxNomogram(_NomogramBase):
    """Cox nomogram on a cross-fitted rad-score (LASSO-Cox risk) and clinical covariates.

    The chart's outcome scale is the event-free probability at ``horizon``.

    Parameters
    ----------
    radiomic_columns : None, "auto" or list of str
        Columns condensed into the rad-score (:class:`LassoCox` linear predictor).
    horizon : float
        Time of the survival-probability scale (unit of the target's times).
    penalizer : float
        Ridge penalty of the nomogram's Cox model (small, for stability).
    radscore_penalizer : float or None
        LASSO penalty of the rad-score (lifelines :class:`LassoCox`); None fits the
        rad-score with :class:`~radiomix.model.survival.CoxNet` instead (scikit-survival's
        path, for many more features than patients), its penalty chosen by an inner CV
        grouped by the patient ids of the cross-fitting fold.
    radscore_cv : int
        Number of internal folds of the rad-score cross-fitting (>= 2; fewer when the
        training rows hold fewer patients with an event).
    random_state : int, RandomState or None
        Seed of the internal folds.

    Attributes
    ----------
    terms_, coef_raw_ : as :class:`Nomogram` (log hazard ratios per unit)
    separated_ : list of str
        Terms whose partial likelihood is monotone on the training rows
        (:func:`radiomix.model.survival.monotone_terms`, e.g. a level without events):
        their coefficients are not estimates.
    cox_ : CoxPH
        The nomogram's Cox model, fitted on the out-of-fold rad-score + clinical covariates.
    fit_linear_predictor_ : tuple of 3 ndarray
        Times, event indicators and linear predictors of the rows ``cox_`` was fitted on (the
        out-of-fold rad-score): the rows of a Breslow baseline for :meth:`predict`'s scale
        (:func:`radiomix.evaluate.survival.breslow_rows`).
    radscore_, radscore_oof_, radscore_folds_, crossfit_grouped_, n_crossfit_folds_
        As :class:`Nomogram`.

    Notes
    -----
    The rad-score is cross-fitted as in :class:`Nomogram`: internal folds
    ``StratifiedGroupKFold(radscore_cv, shuffle=True, random_state)`` stratified by the
    event indicator and grouped by ``groups`` (rows taken as patients without it), a
    :class:`LassoCox` per fold scoring the rows left out; the Cox model is fitted on these
    out-of-fold rad-scores, and the rad-score refitted on all rows serves for prediction.
    """

    def __init__(
        self,
        *,
        radiomic_columns: str | Sequence[str] | None = None,
        horizon: float = 1.0,
        penalizer: float = 0.01,
        radscore_penalizer: float | None = 0.1,
        radscore_cv: int = 5,
        random_state: Any = None,
    ) -> None:
        self.radiomic_columns = radiomic_columns
        self.horizon = horizon
        self.penalizer = penalizer
        self.radscore_penalizer = radscore_penalizer
        self.radscore_cv = radscore_cv
        self.random_state = random_state

    def _make_radscore(self) -> LassoCox | CoxNet:
        if self.radscore_penalizer is None:
            return CoxNet(random_state=self.random_state)
        return LassoCox(penalizer=self.radscore_penalizer)

    @staticmethod
    def _radscore_of(model: Any, X: Any) -> FloatArray:
        return np.asarray(model.predict(X), dtype=float)

    @staticmethod
    def _required_strata(strata: np.ndarray) -> list[Any]:
        return [1]

    @staticmethod
    def _stratum_name() -> str:
        return "with an observed event"

    @staticmethod
    def _check_crossfit_fold(k: int, strata_train: np.ndarray) -> None:
        if not np.any(strata_train):
            raise InputError(
                f"rad-score cross-fitting: the training rows of internal fold {k} hold no "
                "observed event; give more patients with an event or a smaller radscore_cv"
            )

    def fit(self, X: Any, y: Any, groups: Any = None) -> CoxNomogram:
        """Fit the cross-fitted rad-score (if any) and the Cox model.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : survival target
            ``(n, 2)`` ``[time, event]`` or another layout of
            :func:`radiomix.model.survival.split_survival_target`.
        groups : array-like of shape (n,), optional
            Patient id of each row, for the rad-score's internal folds; without it rows are
            taken as patients.
        """
        if not (is_real(self.horizon) and self.horizon > 0):
            raise InputError(f"horizon must be > 0; got {self.horizon!r}")
        X = self._setup(X)
        time, event = split_survival_target(y)
        if time.size != X.shape[0]:
            raise InputError(f"X has {X.shape[0]} rows but y has {time.size}")
        target = survival_target(time, event)
        D_fit, D = self._fit_design(X, target, event.astype(int), groups)
        self._ranges(D)
        self.cox_ = CoxPH(penalizer=self.penalizer).fit(D_fit, target, groups=groups)
        self.coef_raw_ = self.cox_.coef_raw_
        self.mean_design_ = self.cox_.mean_
        self.separated_ = monotone_terms(D_fit, time, event, self.terms_)
        # the Cox model's own rows: its baseline hazard belongs to the out-of-fold rad-score,
        # not to the refitted one that predict() gives on these rows
        self.fit_linear_predictor_ = (time, event, (D_fit - self.mean_design_) @ self.coef_raw_)
        return self

    def coefficients(self) -> pd.DataFrame:
        """The Cox model's coefficient table (:meth:`CoxPH.coefficients`), its terms named
        (``radscore`` and the clinical terms); ``monotone`` marks the terms of
        ``separated_``."""
        check_is_fitted(self, "coef_raw_")
        frame = self.cox_.coefficients()
        frame["term"] = list(self.terms_)
        return frame

    def predict(self, X: Any) -> FloatArray:
        """Risk score (log relative hazard vs the mean patient), shape (n,)."""
        check_is_fitted(self, "coef_raw_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return (self._design(X) - self.mean_design_) @ self.coef_raw_

    def predict_survival(self, X: Any, times: Any) -> FloatArray:
        """Event-free probabilities at ``times``, shape (n, n_times)."""
        s0 = baseline_at(self.cox_.baseline_survival_, times)
        return s0[None, :] ** np.exp(self.predict(X))[:, None]

    def score(self, X: Any, y: Any) -> float:
        """Harrell's C-index."""
        from radiomix.evaluate.survival import concordance_index

        time, event = split_survival_target(y)
        return concordance_index(time, self.predict(X), event)

    def _eta0(self) -> float:
        return float(-np.sum(self.coef_raw_ * self.mean_design_))

    def _eta_for_outcome(self, prob: float) -> float:
        s0 = float(baseline_at(self.cox_.baseline_survival_, [self.horizon])[0])
        # S = s0 ** exp(eta)  =>  eta = log(log S / log s0)
        if not (0 < s0 < 1):
            return float("nan")
        return float(np.log(np.log(prob) / np.log(s0)))

    def _outcome_label(self) -> str:
        return f"P(event-free at {self.horizon:g})"

    def _title(self) -> str:
        return f"Cox nomogram (horizon {self.horizon:g})"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        return tags
