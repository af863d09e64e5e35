"""Rad-score: the linear predictor of a penalised (LASSO / elastic-net) logistic model.

The rad-score of a patient is

.. math:: \\mathrm{radscore}(x) = \\beta_0 + \\sum_j \\beta_j \\frac{x_j - \\mu_j}{\\sigma_j}
          = \\beta_0^{raw} + \\sum_j \\beta_j^{raw} x_j,

the log-odds of the outcome under a logistic model fitted with penalty
:math:`\\frac{1}{C}(\\rho\\lVert\\beta\\rVert_1 + \\frac{1-\\rho}{2}\\lVert\\beta\\rVert_2^2)` on
z-scored features (:math:`\\mu_j, \\sigma_j` from the training rows). Coefficients are
reported on both scales (:meth:`RadScore.coefficients`), as radiomics papers publish them.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.model.select import _penalised_logistic
from radiomix.types import FloatArray

log = logging.getLogger(__name__)


def _check_penalty(C: Any, l1_ratio: Any) -> None:
    if not (is_real(C) and C > 0):
        raise InputError(f"C must be > 0; got {C!r}")
    if not (is_real(l1_ratio) and 0 <= l1_ratio <= 1):
        raise InputError(f"l1_ratio must be in [0, 1]; got {l1_ratio!r}")


def _strongest_feature(Z: FloatArray, target: np.ndarray) -> int:
    """Column whose univariate ROC AUC is farthest from 0.5 (first on ties).

    AUC by the Mann-Whitney identity :math:`U / (n_1 n_0)` on mid-ranks.
    """
    ranks = stats.rankdata(Z, axis=0)
    n1 = int(target.sum())
    n0 = target.size - n1
    auc = (ranks[target == 1].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return int(np.argmax(np.abs(auc - 0.5)))


class RadScore(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Penalised logistic rad-score for a binary outcome (classifier and transformer).

    Parameters
    ----------
    C : float > 0
        Inverse penalty strength; tune it in the inner loop of
        :func:`radiomix.evaluate.nested_cv` (e.g. ``{"C": [0.01, 0.1, 1]}``).
    l1_ratio : float in [0, 1]
        1 = LASSO, 0 = ridge, in between = elastic net.
    random_state : int, RandomState or None
        Seed of the solver.
    fallback : {"strongest", "none"}
        What to do when the penalty keeps no feature (all coefficients 0, common with a weak
        signal and the LASSO): ``"strongest"`` refits on the single feature with the largest
        univariate ROC AUC distance from 0.5 in the training rows (an L2 logistic model with
        C = 1 on that z-scored feature), so the score still ranks patients; ``"none"`` keeps
        the constant score. Either way ``no_signal_`` is set.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    mean_, scale_ : ndarray of shape (n_features,)
        Training mean and standard deviation (1 for constant columns).
    coef_ : ndarray of shape (n_features,)
        Coefficients on z-scored features.
    intercept_ : float
    coef_raw_ : ndarray of shape (n_features,)
        Coefficients on the original feature scale.
    intercept_raw_ : float
    n_selected_ : int
        Features with a non-zero coefficient (after any fallback).
    no_signal_ : bool
        The penalty kept no feature at this ``C``.
    fallback_ : str or None
        ``"strongest feature (<name>)"`` when the fallback was used (``coef_`` then has one
        non-zero entry), else None (as :class:`~radiomix.model.GroupedStackingClassifier`
        reports its own fallback).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    >>> rs = RadScore(C=1.0).fit(X, y)
    >>> bool(abs(rs.coef_[0]) > abs(rs.coef_[1]))
    True
    >>> rs.transform(X[:2]).shape
    (2, 1)
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        l1_ratio: float = 1.0,
        random_state: Any = None,
        fallback: str = "strongest",
    ) -> None:
        self.C = C
        self.l1_ratio = l1_ratio
        self.random_state = random_state
        self.fallback = fallback

    def fit(self, X: Any, y: Any) -> RadScore:
        """Fit the penalised logistic model on z-scored ``X``.

        Raises
        ------
        InputError
            ``y`` does not hold exactly two classes, or a parameter is out of range.
        """
        _check_penalty(self.C, self.l1_ratio)
        if self.fallback not in ("strongest", "none"):
            raise InputError(f"fallback must be 'strongest' or 'none'; got {self.fallback!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size != 2:
            raise InputError(
                f"Only binary classification is supported: a rad-score needs a binary outcome; "
                f"y has {classes.size} class(es) {classes.tolist()[:5]}. Use a multi-class "
                "classifier for more classes."
            )
        self.classes_ = classes
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (X - self.mean_) / self.scale_
        model = _penalised_logistic(float(self.C), float(self.l1_ratio), 2, self.random_state)
        if self.l1_ratio == 0:
            model = LogisticRegression(C=self.C, l1_ratio=0.0, max_iter=5000)
        target = (y == classes[1]).astype(int)
        model.fit(Z, target)
        self.coef_ = model.coef_.ravel().astype(float)
        self.intercept_ = float(model.intercept_[0])
        self.no_signal_ = not np.any(self.coef_ != 0)
        self.fallback_: str | None = None
        if self.no_signal_ and self.fallback == "strongest" and np.any(sd > 0):
            j = _strongest_feature(Z, target)
            single = LogisticRegression(C=1.0, max_iter=5000).fit(Z[:, [j]], target)
            self.coef_ = np.zeros(Z.shape[1])
            self.coef_[j] = float(single.coef_[0, 0])
            self.intercept_ = float(single.intercept_[0])
            name = str(self.feature_names_in_[j]) if hasattr(self, "feature_names_in_") else f"x{j}"
            self.fallback_ = f"strongest feature ({name})"
            log.info(
                "rad-score: no feature kept at C=%g; fell back to the strongest feature", self.C
            )
        elif self.no_signal_:
            log.warning("rad-score: every coefficient is 0 at C=%g (constant score)", self.C)
        self.n_selected_ = int(np.count_nonzero(self.coef_))
        self.coef_raw_ = self.coef_ / self.scale_
        self.intercept_raw_ = float(self.intercept_ - np.sum(self.coef_raw_ * self.mean_))
        return self

    def decision_function(self, X: Any) -> FloatArray:
        """Rad-score (log-odds of the positive class), shape (n_samples,)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.intercept_ + ((X - self.mean_) / self.scale_) @ self.coef_

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of ``classes_``, shape (n_samples, 2)."""
        p1 = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p1, p1])

    def predict(self, X: Any) -> np.ndarray:
        """Class with probability above 0.5."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def transform(self, X: Any) -> FloatArray:
        """The rad-score as a single column, shape (n_samples, 1)."""
        return self.decision_function(X)[:, None]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``["radscore"]``."""
        check_is_fitted(self, "coef_")
        return np.asarray(["radscore"], dtype=object)

    def coefficients(self) -> pd.DataFrame:
        """Coefficient table: intercept first, then one row per feature.

        Returns
        -------
        DataFrame
            Columns ``term``, ``coef_standardised`` (per SD of the feature),
            ``coef_raw`` (per unit of the feature), ``selected`` (non-zero).
        """
        check_is_fitted(self, "coef_")
        names = (
            [str(c) for c in self.feature_names_in_]
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(self.coef_.size)]
        )
        return pd.DataFrame(
            {
                "term": ["(intercept)", *names],
                "coef_standardised": [self.intercept_, *self.coef_],
                "coef_raw": [self.intercept_raw_, *self.coef_raw_],
                "selected": [True, *(self.coef_ != 0)],
            }
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
