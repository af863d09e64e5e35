"""Feature selectors for radiomic tables (sklearn ``SelectorMixin`` estimators).

Every selector learns its choice in ``fit`` from the rows it is given, so inside a
:class:`~sklearn.pipeline.Pipeline` evaluated by :mod:`radiomix.evaluate` the selection is
made on the training folds only. Output names follow ``set_output(transform="pandas")``.

- :class:`VarianceSelector`: drop (near-)constant columns (unsupervised).
- :class:`CorrelationClusterSelector`: cluster columns by absolute correlation, keep one
  representative per cluster (unsupervised).
- :class:`UnivariateFdrSelector`: two-sample (or k-sample) tests per column with
  Benjamini–Hochberg false-discovery-rate control.
- :class:`PenalisedSelector`: LASSO / elastic-net logistic regression, keep non-zero
  coefficients.
- :class:`MrmrSelector`: minimum-redundancy maximum-relevance forward selection
  (correlation ratio relevance minus mean absolute correlation redundancy).
- :class:`UnivariateKBest`: the ``k`` columns with the largest ANOVA F statistic.
- :class:`TableHygiene`: median imputation (counted), then constant and duplicate columns
  dropped (unsupervised; a transformer, not a mask, because it imputes).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import stats
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.types import FloatArray

log = logging.getLogger(__name__)


def _check_two_samples(X: FloatArray) -> None:
    if X.shape[0] < 2:
        raise InputError(
            f"feature selection needs at least 2 samples; got n_samples = {X.shape[0]}"
        )


def _abs_corr(X: FloatArray, method: str) -> FloatArray:
    """Absolute Pearson or Spearman correlation matrix; 0 where a column is constant."""
    if method == "spearman":
        X = stats.rankdata(X, axis=0)
    Z = X - X.mean(axis=0)
    norm = np.sqrt((Z * Z).sum(axis=0))
    ok = norm > 0
    Z[:, ok] /= norm[ok]
    Z[:, ~ok] = 0.0
    R = np.abs(Z.T @ Z)
    np.fill_diagonal(R, 1.0)
    return np.clip(R, 0.0, 1.0)


def benjamini_hochberg(pvalues: Any) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values).

    .. math:: q_{(i)} = \\min_{j \\ge i} \\min(1, m\\,p_{(j)}/j)

    NaN p-values are treated as 1.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(pvalues, dtype=float)
    p = np.where(np.isnan(p), 1.0, p)
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


class _Selector(SelectorMixin, BaseEstimator):
    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_


class VarianceSelector(_Selector):
    """Drop columns whose variance does not exceed ``threshold``.

    Parameters
    ----------
    threshold : float
        Columns with (NaN-ignoring, population) variance ``<= threshold`` are dropped; the
        default 0 drops constant columns. Apply it before scaling.

    Attributes
    ----------
    variances_ : ndarray of shape (n_features,)
    support_ : ndarray of bool

    Examples
    --------
    >>> VarianceSelector().fit([[1, 0, 2], [1, 1, 3]]).get_support().tolist()
    [False, True, True]
    """

    def __init__(self, *, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> VarianceSelector:
        """Compute the column variances of ``X``."""
        if not (is_real(self.threshold) and self.threshold >= 0):
            raise InputError(f"threshold must be a number >= 0; got {self.threshold!r}")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        _check_two_samples(X)
        with np.errstate(invalid="ignore"), _quiet_nan():
            var = np.nanvar(X, axis=0)
        self.variances_ = np.where(np.isnan(var), 0.0, var)
        self.support_ = self.variances_ > self.threshold
        if not self.support_.any():
            raise InputError(
                f"no column has variance above threshold={self.threshold} "
                f"(largest variance {self.variances_.max():.3g})"
            )
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class CorrelationClusterSelector(_Selector):
    """Keep one column per cluster of mutually correlated columns.

    Columns are clustered hierarchically on the distance :math:`1-|r|` (``complete``
    linkage by default, so every pair inside a cluster has :math:`|r| \\ge` ``threshold``).
    Each cluster is represented by its medoid: the member with the largest mean
    :math:`|r|` to the other members (the first column on ties).

    Parameters
    ----------
    threshold : float in (0, 1]
        Correlation above which columns are considered redundant.
    method : {"pearson", "spearman"}
    linkage : {"complete", "average", "single"}

    Attributes
    ----------
    labels_ : ndarray of int
        Cluster of each input column (1-based).
    support_ : ndarray of bool

    Examples
    --------
    >>> X = [[1, 2, 0], [2, 4, 1], [3, 6.5, 0], [4, 8, 1]]
    >>> CorrelationClusterSelector(threshold=0.95).fit(X).get_support().tolist()
    [True, False, True]
    """

    def __init__(
        self, *, threshold: float = 0.9, method: str = "pearson", linkage: str = "complete"
    ) -> None:
        self.threshold = threshold
        self.method = method
        self.linkage = linkage

    def fit(self, X: Any, y: Any = None) -> CorrelationClusterSelector:
        """Cluster the columns of ``X`` and choose one representative per cluster."""
        if not (is_real(self.threshold) and 0 < self.threshold <= 1):
            raise InputError(f"threshold must be in (0, 1]; got {self.threshold!r}")
        if self.method not in ("pearson", "spearman"):
            raise InputError(f"method must be 'pearson' or 'spearman'; got {self.method!r}")
        if self.linkage not in ("complete", "average", "single"):
            raise InputError(
                f"linkage must be 'complete', 'average' or 'single'; got {self.linkage!r}"
            )
        X = validate_data(self, X, dtype=np.float64)
        _check_two_samples(X)
        n = X.shape[1]
        if n == 1:
            self.labels_ = np.ones(1, dtype=int)
            self.support_ = np.ones(1, dtype=bool)
            return self
        R = _abs_corr(X, self.method)
        D = squareform(1.0 - R, checks=False)
        Z = linkage(D, method=self.linkage)
        labels = fcluster(Z, t=1.0 - self.threshold + 1e-12, criterion="distance")
        support = np.zeros(n, dtype=bool)
        for lab in np.unique(labels):
            members = np.flatnonzero(labels == lab)
            if members.size == 1:
                support[members[0]] = True
                continue
            sub = R[np.ix_(members, members)]
            mean_r = (sub.sum(axis=1) - 1.0) / (members.size - 1)
            support[members[int(np.argmax(mean_r))]] = True
        self.labels_ = labels
        self.support_ = support
        return self


class UnivariateFdrSelector(_Selector):
    """Univariate tests per column with Benjamini–Hochberg FDR control.

    Parameters
    ----------
    test : {"mann_whitney", "welch_t"}
        ``mann_whitney``: Mann–Whitney U (two classes) or Kruskal–Wallis H (more classes);
        ``welch_t``: Welch's t-test (two classes) or one-way ANOVA F (more classes).
    alpha : float in (0, 1)
        FDR level: keep columns with BH q-value ``<= alpha``.
    min_features : int
        When fewer columns pass, keep the ``min_features`` columns with the smallest
        p-values (logged), so a pipeline never receives an empty matrix.

    Attributes
    ----------
    pvalues_, qvalues_ : ndarray of shape (n_features,)
    support_ : ndarray of bool
    """

    def __init__(
        self, *, test: str = "mann_whitney", alpha: float = 0.05, min_features: int = 1
    ) -> None:
        self.test = test
        self.alpha = alpha
        self.min_features = min_features

    def fit(self, X: Any, y: Any) -> UnivariateFdrSelector:
        """Test every column of ``X`` against the classes ``y``."""
        if self.test not in ("mann_whitney", "welch_t"):
            raise InputError(f"test must be 'mann_whitney' or 'welch_t'; got {self.test!r}")
        if not (is_real(self.alpha) and 0 < self.alpha < 1):
            raise InputError(f"alpha must be in (0, 1); got {self.alpha!r}")
        _check_min_features(self.min_features)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        _check_two_samples(X)
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError("univariate tests need at least 2 classes in y; got 1 class")
        samples = [X[y == c] for c in classes]
        with np.errstate(all="ignore"), _quiet_nan():
            if classes.size == 2 and self.test == "mann_whitney":
                p = stats.mannwhitneyu(*samples, axis=0, alternative="two-sided").pvalue
            elif classes.size == 2:
                p = stats.ttest_ind(*samples, axis=0, equal_var=False).pvalue
            elif self.test == "mann_whitney":
                p = np.array([_kruskal_p([s[:, j] for s in samples]) for j in range(X.shape[1])])
            else:
                p = f_classif(X, y)[1]
        p = np.where(np.isnan(p), 1.0, np.asarray(p, dtype=float))
        q = benjamini_hochberg(p)
        support = q <= self.alpha
        k = min(self.min_features, X.shape[1])
        self.fallback_: str | None = None
        if support.sum() < k:
            log.info(
                "%d column(s) pass FDR %.3g; keeping the %d smallest p",
                support.sum(),
                self.alpha,
                k,
            )
            self.fallback_ = (f"{int(support.sum())} column(s) passed FDR q <= {self.alpha:g}; "
                              f"kept the {k} with the smallest p")
            support = np.zeros(X.shape[1], dtype=bool)
            support[np.argsort(p, kind="stable")[:k]] = True
        self.pvalues_ = p
        self.qvalues_ = q
        self.support_ = support
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _kruskal_p(samples: list[FloatArray]) -> float:
    try:
        return float(stats.kruskal(*samples).pvalue)
    except ValueError:  # all values identical
        return 1.0


class PenalisedSelector(_Selector):
    """LASSO / elastic-net logistic regression; keep the columns with non-zero weight.

    Columns are z-scored inside ``fit`` (so the penalty treats them alike), then a logistic
    regression with penalty :math:`\\frac{1}{C}\\left(\\rho\\lVert\\beta\\rVert_1 +
    \\frac{1-\\rho}{2}\\lVert\\beta\\rVert_2^2\\right)` is fitted (:math:`\\rho` =
    ``l1_ratio``).

    Parameters
    ----------
    C : float > 0
        Inverse penalty strength (smaller keeps fewer columns).
    l1_ratio : float in (0, 1]
        1 is the LASSO, below 1 the elastic net.
    max_features : int, optional
        Keep at most this many columns (largest absolute coefficients).
    min_features : int
        When fewer coefficients are non-zero, keep the ``min_features`` columns with the
        largest ANOVA F statistic (logged).
    random_state : int, RandomState or None
        Seed of the ``saga`` solver (elastic net and multi-class).

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes or 1, n_features)
        Coefficients on the z-scored columns.
    support_ : ndarray of bool
    """

    def __init__(
        self,
        *,
        C: float = 0.1,
        l1_ratio: float = 1.0,
        max_features: int | None = None,
        min_features: int = 1,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.l1_ratio = l1_ratio
        self.max_features = max_features
        self.min_features = min_features
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> PenalisedSelector:
        """Fit the penalised logistic regression on z-scored ``X``."""
        if not (is_real(self.C) and self.C > 0):
            raise InputError(f"C must be > 0; got {self.C!r}")
        if not (is_real(self.l1_ratio) and 0 < self.l1_ratio <= 1):
            raise InputError(f"l1_ratio must be in (0, 1]; got {self.l1_ratio!r}")
        if self.max_features is not None and not (
            isinstance(self.max_features, (int, np.integer)) and self.max_features >= 1
        ):
            raise InputError(f"max_features must be an int >= 1 or None; got {self.max_features!r}")
        _check_min_features(self.min_features)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        _check_two_samples(X)
        if np.unique(y).size < 2:
            raise InputError("penalised selection needs at least 2 classes in y; got 1 class")
        Z = StandardScaler().fit_transform(X)
        model = _penalised_logistic(self.C, self.l1_ratio, np.unique(y).size, self.random_state)
        model.fit(Z, y)
        coef = np.atleast_2d(model.coef_)
        weight = np.abs(coef).max(axis=0)
        support = weight > 1e-10
        if self.max_features is not None and support.sum() > self.max_features:
            keep = np.argsort(-weight, kind="stable")[: self.max_features]
            support = np.zeros_like(support)
            support[keep] = True
        k = min(self.min_features, X.shape[1])
        self.fallback_: str | None = None
        if support.sum() < k:
            log.info(
                "%d non-zero coefficient(s) at C=%g; keeping the %d largest F",
                support.sum(),
                self.C,
                k,
            )
            self.fallback_ = (f"{int(support.sum())} non-zero coefficient(s) at C={self.C:g}; "
                              f"kept the {k} with the largest F")
            with np.errstate(all="ignore"), _quiet_nan():
                f = np.nan_to_num(f_classif(X, y)[0], nan=0.0)
            support = np.zeros(X.shape[1], dtype=bool)
            support[np.argsort(-f, kind="stable")[:k]] = True
        self.coef_ = coef
        self.support_ = support
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _penalised_logistic(C: float, l1_ratio: float, n_classes: int, seed: Any) -> LogisticRegression:
    if l1_ratio == 1.0 and n_classes == 2:
        return LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", max_iter=1000, random_state=seed
        )
    return LogisticRegression(
        C=C, l1_ratio=l1_ratio, solver="saga", max_iter=5000, tol=1e-4, random_state=seed
    )


class MrmrSelector(_Selector):
    r"""Minimum-redundancy maximum-relevance forward selection (correlation "MID" scheme).

    Relevance of column :math:`j` is the correlation ratio
    :math:`\eta_j = \sqrt{SS_{between}/SS_{total}}` of the column across the classes (for
    two classes, the absolute point-biserial correlation with ``y``); redundancy is the mean
    absolute Pearson correlation with the columns already chosen. Starting from the most
    relevant column, each step adds the column maximising
    :math:`\eta_j - \overline{|r_{js}|}` (relevance minus redundancy, both in [0, 1], the
    difference scheme of Ding & Peng with correlation measures): a near-copy of a chosen
    column scores about :math:`\eta - 1 \le 0`.

    Parameters
    ----------
    n_features : int
        Number of columns to choose (capped at the number of input columns).

    Attributes
    ----------
    ranking_ : ndarray of int
        Column indices in the order chosen.
    relevance_ : ndarray of shape (n_features_in_,)
        Correlation ratios (0 for constant columns).
    support_ : ndarray of bool

    References
    ----------
    Ding C, Peng H. Minimum redundancy feature selection from microarray gene expression
    data. J Bioinform Comput Biol 2005;3(2):185-205. doi:10.1142/S0219720005001004
    """

    def __init__(self, *, n_features: int = 10) -> None:
        self.n_features = n_features

    def fit(self, X: Any, y: Any) -> MrmrSelector:
        """Choose ``n_features`` columns of ``X`` for the classes ``y``."""
        if not (isinstance(self.n_features, (int, np.integer)) and self.n_features >= 1):
            raise InputError(f"n_features must be an int >= 1; got {self.n_features!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        _check_two_samples(X)
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError("mRMR needs at least 2 classes in y; got 1 class")
        rel = _correlation_ratio(X, y, classes)
        R = _abs_corr(X, "pearson")
        k = min(int(self.n_features), X.shape[1])
        chosen = [int(np.argmax(rel))]
        red_sum = R[:, chosen[0]].copy()
        available = np.ones(X.shape[1], dtype=bool)
        available[chosen[0]] = False
        while len(chosen) < k:
            score = np.where(available, rel - red_sum / len(chosen), -np.inf)
            j = int(np.argmax(score))
            chosen.append(j)
            available[j] = False
            red_sum += R[:, j]
        support = np.zeros(X.shape[1], dtype=bool)
        support[chosen] = True
        self.ranking_ = np.asarray(chosen)
        self.relevance_ = rel
        self.support_ = support
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _correlation_ratio(X: FloatArray, y: np.ndarray, classes: np.ndarray) -> FloatArray:
    r""":math:`\eta = \sqrt{SS_{between} / SS_{total}}` per column (0 for constant columns)."""
    mean = X.mean(axis=0)
    ss_total = ((X - mean) ** 2).sum(axis=0)
    ss_between = np.zeros(X.shape[1])
    for c in classes:
        Xc = X[y == c]
        ss_between += Xc.shape[0] * (Xc.mean(axis=0) - mean) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        eta2 = np.where(ss_total > 0, ss_between / np.where(ss_total > 0, ss_total, 1.0), 0.0)
    return np.sqrt(np.clip(eta2, 0.0, 1.0))


def _check_min_features(k: Any) -> None:
    if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0):
        raise InputError(f"min_features must be an int >= 0; got {k!r}")


@contextmanager
def _quiet_nan() -> Iterator[None]:
    """Silence the warnings of NaN statistics over constant columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


class UnivariateKBest(_Selector):
    """Keep the ``k`` columns with the largest ANOVA F statistic (``k`` capped at p).

    Unlike :class:`sklearn.feature_selection.SelectKBest`, a ``k`` above the number of
    columns keeps them all without a warning, so one search space serves tables of every
    width. Constant columns score 0; ties keep the first column.

    Parameters
    ----------
    k : int >= 1

    Attributes
    ----------
    scores_ : ndarray of shape (n_features,)
        F statistics (0 where undefined).
    support_ : ndarray of bool

    Examples
    --------
    >>> X = [[0, 1, 5], [1, 1, 3], [2, 0, 5], [3, 0, 3]]  # column 1 separates the classes
    >>> UnivariateKBest(k=1).fit(X, [0, 0, 1, 1]).get_support().tolist()
    [False, True, False]
    """

    def __init__(self, *, k: int = 10) -> None:
        self.k = k

    def fit(self, X: Any, y: Any) -> UnivariateKBest:
        """Score every column of ``X`` against the classes ``y``."""
        if not (
            isinstance(self.k, (int, np.integer)) and not isinstance(self.k, bool) and self.k >= 1
        ):
            raise InputError(f"k must be an int >= 1; got {self.k!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        _check_two_samples(X)
        if np.unique(y).size < 2:
            raise InputError("univariate selection needs at least 2 classes in y; got 1 class")
        with np.errstate(all="ignore"), _quiet_nan():
            f = np.nan_to_num(f_classif(X, y)[0], nan=0.0, posinf=np.finfo(float).max)
        keep = np.argsort(-f, kind="stable")[: min(int(self.k), X.shape[1])]
        support = np.zeros(X.shape[1], dtype=bool)
        support[keep] = True
        self.scores_ = f
        self.support_ = support
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class TableHygiene(TransformerMixin, BaseEstimator):
    """Impute missing values by the column median, then drop constant and duplicate columns.

    Everything is learned from the rows given to ``fit`` (the training fold): the medians,
    which columns are constant there, which are exact copies of an earlier column. A column
    that is entirely missing in the training rows is dropped as constant. Duplicates are
    found on the imputed values; the first copy (in column order) is kept, so the result does
    not depend on anything but the column order.

    Attributes
    ----------
    medians_ : ndarray of shape (n_features_in_,)
    n_imputed_ : int
        Missing cells filled in the training rows.
    n_constant_, n_duplicate_ : int
        Columns dropped for each reason.
    support_ : ndarray of bool
        Columns kept.

    Examples
    --------
    >>> X = [[1.0, 2.0, 1.0, 7.0], [2.0, 2.0, 2.0, float("nan")], [4.0, 2.0, 4.0, 5.0]]
    >>> h = TableHygiene().fit(X)
    >>> h.support_.tolist(), h.n_imputed_, h.n_constant_, h.n_duplicate_
    ([True, False, False, True], 1, 1, 1)
    >>> h.transform(X)[:, 1].tolist()
    [7.0, 6.0, 5.0]
    """

    def fit(self, X: Any, y: Any = None) -> TableHygiene:
        """Learn medians and the columns to keep from ``X``."""
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        _check_two_samples(X)
        missing = np.isnan(X)
        with _quiet_nan():
            med = np.nanmedian(X, axis=0)
        all_missing = np.isnan(med)
        self.medians_ = np.where(all_missing, 0.0, med)
        Xi = np.where(missing, self.medians_, X)
        constant = all_missing | (np.ptp(Xi, axis=0) == 0)
        duplicate = np.zeros(X.shape[1], dtype=bool)
        seen: dict[bytes, int] = {}
        for j in np.flatnonzero(~constant):
            key = np.ascontiguousarray(Xi[:, j]).tobytes()
            if key in seen:
                duplicate[j] = True
            else:
                seen[key] = int(j)
        support = ~(constant | duplicate)
        if not support.any():
            raise InputError("every column is constant in the training rows; nothing to model")
        self.n_imputed_ = int(missing.sum())
        self.n_constant_ = int(constant.sum())
        self.n_duplicate_ = int(duplicate.sum())
        self.support_ = support
        if self.n_imputed_ or self.n_constant_ or self.n_duplicate_:
            log.debug(
                "hygiene: %d cell(s) imputed, %d constant and %d duplicate column(s) dropped",
                self.n_imputed_,
                self.n_constant_,
                self.n_duplicate_,
            )
        return self

    def transform(self, X: Any) -> FloatArray:
        """Imputed kept columns of ``X``."""
        check_is_fitted(self, "support_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        Xi = np.where(np.isnan(X), self.medians_, X)
        return Xi[:, self.support_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the kept columns."""
        check_is_fitted(self, "support_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        return np.asarray(input_features, dtype=object)[self.support_]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
