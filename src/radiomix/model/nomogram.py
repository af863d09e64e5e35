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
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from radiomix.errors import InputError
from radiomix.model._validation import is_real
from radiomix.model.columns import column_block
from radiomix.model.radscore import RadScore
from radiomix.model.survival import CoxPH, LassoCox, baseline_at, split_survival_target
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

    def _design(self, X: FloatArray, *, fit_y: Any = None) -> FloatArray:
        """Rad-score (when radiomic columns are set) + imputed clinical covariates."""
        parts = []
        if self._rad_idx:
            R = pd.DataFrame(X[:, self._rad_idx], columns=self.radiomic_columns_)
            if fit_y is not None:
                self.radscore_ = self._make_radscore().fit(R, fit_y)
            parts.append(self._radscore_values(R)[:, None])
        if self._clin_idx:
            C = X[:, self._clin_idx]
            if fit_y is not None:
                with np.errstate(all="ignore"):
                    med = np.nanmedian(np.where(np.isnan(C).all(0), 0.0, C), axis=0)
                self.clinical_medians_ = np.nan_to_num(med)
            parts.append(np.where(np.isnan(C), self.clinical_medians_, C))
        return np.hstack(parts)

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


class Nomogram(ClassifierMixin, _NomogramBase):
    """Logistic nomogram on a rad-score and clinical covariates (binary outcome).

    Parameters
    ----------
    radiomic_columns : None, "auto" or list of str
        Columns condensed into the rad-score (a :class:`RadScore` fitted on the training
        rows); ``"auto"`` takes every radiomic/deep feature column by name; ``None`` makes a
        purely clinical nomogram. All other columns are clinical covariates.
    C : float
        Inverse ridge strength of the nomogram's logistic model on z-scored terms (large =
        nearly unpenalised; ``numpy.inf`` for the plain maximum-likelihood fit).
    radscore_C, radscore_l1_ratio : float
        Penalty of the rad-score (:class:`RadScore`).
    random_state : int, RandomState or None

    Attributes
    ----------
    terms_ : list of str
        ``radscore`` (if any) then the clinical covariates.
    coef_raw_ : ndarray
        Log odds ratios per unit of each term; ``intercept_raw_``.
    radscore_ : RadScore
        The fitted rad-score (when radiomic columns are used).

    Notes
    -----
    The rad-score is fitted and then used as a covariate on the same training rows, so its
    training-set weight is optimistic; evaluate the nomogram as a whole with
    :func:`radiomix.evaluate.nested_cv`, which refits both on each training fold.
    """

    def __init__(
        self,
        *,
        radiomic_columns: str | Sequence[str] | None = None,
        C: float = 100.0,
        radscore_C: float = 1.0,
        radscore_l1_ratio: float = 1.0,
        random_state: Any = None,
    ) -> None:
        self.radiomic_columns = radiomic_columns
        self.C = C
        self.radscore_C = radscore_C
        self.radscore_l1_ratio = radscore_l1_ratio
        self.random_state = random_state

    def _make_radscore(self) -> RadScore:
        return RadScore(
            C=self.radscore_C, l1_ratio=self.radscore_l1_ratio, random_state=self.random_state
        )

    def _radscore_values(self, X: Any) -> FloatArray:
        return self.radscore_.decision_function(X)

    def fit(self, X: Any, y: Any) -> Nomogram:
        """Fit rad-score (if any) and the logistic model on rad-score + clinical covariates."""
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
        D = self._design(X, fit_y=y01)
        self._ranges(D)
        mu, sd = D.mean(0), D.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        lr = LogisticRegression(C=self.C, tol=1e-10, max_iter=10000).fit((D - mu) / sd, y01)
        self.coef_raw_ = lr.coef_.ravel() / sd
        self.intercept_raw_ = float(lr.intercept_[0] - np.sum(self.coef_raw_ * mu))
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
    """Cox nomogram on a rad-score (LASSO-Cox risk) and clinical covariates.

    The chart's outcome scale is the event-free probability at ``horizon``.

    Parameters
    ----------
    radiomic_columns : None, "auto" or list of str
        Columns condensed into the rad-score (:class:`LassoCox` linear predictor).
    horizon : float
        Time of the survival-probability scale (unit of the target's times).
    penalizer : float
        Ridge penalty of the nomogram's Cox model (small, for stability).
    radscore_penalizer : float
        LASSO penalty of the rad-score.

    Attributes
    ----------
    terms_, coef_raw_ : as :class:`Nomogram` (log hazard ratios per unit)
    cox_ : CoxPH
    """

    def __init__(
        self,
        *,
        radiomic_columns: str | Sequence[str] | None = None,
        horizon: float = 1.0,
        penalizer: float = 0.01,
        radscore_penalizer: float = 0.1,
    ) -> None:
        self.radiomic_columns = radiomic_columns
        self.horizon = horizon
        self.penalizer = penalizer
        self.radscore_penalizer = radscore_penalizer

    def _make_radscore(self) -> LassoCox:
        return LassoCox(penalizer=self.radscore_penalizer)

    def _radscore_values(self, X: Any) -> FloatArray:
        return self.radscore_.predict(X)

    def fit(self, X: Any, y: Any) -> CoxNomogram:
        """Fit rad-score (if any) and the Cox model; ``y`` is a survival target."""
        if not (is_real(self.horizon) and self.horizon > 0):
            raise InputError(f"horizon must be > 0; got {self.horizon!r}")
        X = self._setup(X)
        split_survival_target(y)  # validate early
        D = self._design(X, fit_y=y)
        self._ranges(D)
        self.cox_ = CoxPH(penalizer=self.penalizer).fit(D, y)
        self.coef_raw_ = self.cox_.coef_raw_
        self.mean_design_ = self.cox_.mean_
        return self

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
