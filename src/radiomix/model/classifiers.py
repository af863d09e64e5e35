"""Classifiers and whole pipelines: fuse -> select -> classify, with small tuning grids.

All classifiers here are scikit-learn's own (they handle multi-class outcomes, e.g. HCC vs
haemangioma vs FNH vs cholangiocarcinoma vs metastasis) or :class:`RadScore` (binary).
:func:`build_pipeline` chains them after :class:`~radiomix.model.fuse.BlockFuser` and an
optional selector, so that :func:`radiomix.evaluate.nested_cv` fits every step inside the
training folds.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.model.fuse import BlockFuser
from radiomix.model.radscore import RadScore
from radiomix.model.select import (
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    UnivariateFdrSelector,
    VarianceSelector,
)

MODELS: tuple[str, ...] = (
    "knn",
    "logistic",
    "penalised_logistic",
    "svm",
    "rf",
    "gb",
    "voting",
    "stacking",
    "radscore",
    "auto",
)
CALIBRATIONS: tuple[str, ...] = ("sigmoid", "isotonic")
SELECTORS: tuple[str, ...] = ("variance", "correlation", "fdr", "lasso", "mrmr")

log = logging.getLogger(__name__)


def _default_base(random_state: Any) -> list[tuple[str, BaseEstimator]]:
    return [
        ("logistic", LogisticRegression(C=1.0, max_iter=5000)),
        ("rf", RandomForestClassifier(n_estimators=200, random_state=random_state)),
        ("svm", SVC(probability=True, random_state=random_state)),
    ]


class GroupedStackingClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Stacking ensemble whose meta-model learns from patient-grouped out-of-fold predictions.

    Each base estimator is fitted on the training rows of ``cv`` internal folds and predicts
    class probabilities for the rows left out; the final estimator is fitted on these
    out-of-fold probabilities (for a binary outcome the positive-class column of each base
    estimator, otherwise all columns, in the order of ``estimators``). The base estimators
    are then refitted on all rows for prediction. The internal folds are
    ``StratifiedGroupKFold(cv, shuffle=True, random_state)`` over the patient ids passed as
    ``fit(X, y, groups=...)``, so no patient's rows serve both to fit a base estimator and
    to produce the out-of-fold prediction the meta-model learns from.
    :func:`radiomix.evaluate.nested_cv` and :func:`radiomix.evaluate.validate.fit_tuned`
    pass the patient ids automatically.

    Parameters
    ----------
    estimators : list of (str, estimator), optional
        Base classifiers with ``predict_proba``; by default L2 logistic regression, a random
        forest (200 trees) and an RBF SVM with Platt probabilities.
    final_estimator : classifier, optional
        Meta-model; by default ``LogisticRegression(max_iter=5000)``.
    cv : int
        Number of internal folds (>= 2).
    random_state : int, RandomState or None
        Seed of the internal fold shuffle (and of the default base estimators).

    Attributes
    ----------
    classes_ : ndarray
    estimators_ : list of estimator
        Base estimators refitted on all rows.
    final_estimator_ : estimator
        Meta-model fitted on the out-of-fold probabilities.
    folds_ : list of (ndarray, ndarray)
        The internal ``(train, test)`` row indices used for the out-of-fold predictions.
    grouped_ : bool
        Whether the folds were grouped by patient (False: rows were taken as patients).
    n_splits_ : int
        Internal folds used: ``cv``, or fewer when the smaller class holds fewer patients
        (small training folds of a nested cross-validation).
    fallback_ : str or None
        With fewer than 2 patients in the smaller class no meta-model can be learned from
        internal folds: the base estimators' probabilities are averaged (said here).

    Notes
    -----
    Without ``groups`` every row is taken as its own patient (``StratifiedKFold``): correct
    for one row per patient, leaky for several rows (slices, lesions) per patient, where
    the meta-model would learn from predictions made by base models that saw other rows of
    the same patient, and trust them too much. scikit-learn's ``StackingClassifier`` with
    ``cv=clf.folds_`` fits the same model.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)); y = (X[:, 0] > 0).astype(int)
    >>> patients = np.repeat(np.arange(20), 4)
    >>> clf = GroupedStackingClassifier(random_state=0).fit(X, y, groups=patients)
    >>> all(set(patients[tr]).isdisjoint(patients[te]) for tr, te in clf.folds_)
    True
    """

    def __init__(
        self,
        *,
        estimators: Sequence[tuple[str, BaseEstimator]] | None = None,
        final_estimator: BaseEstimator | None = None,
        cv: int = 5,
        random_state: Any = None,
    ) -> None:
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.random_state = random_state

    def _base(self) -> list[tuple[str, BaseEstimator]]:
        if self.estimators is None:
            return _default_base(self.random_state)
        base = list(self.estimators)
        if not base or not all(
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in base
        ):
            raise InputError("estimators must be a non-empty list of (name, estimator) pairs")
        for name, est in base:
            if not hasattr(est, "predict_proba"):
                raise InputError(
                    f"base estimator {name!r} ({type(est).__name__}) has no predict_proba"
                )
        return base

    def _folds(self, X: Any, y: np.ndarray, groups: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        n = y.size
        if not (isinstance(self.cv, (int, np.integer)) and self.cv >= 2):
            raise InputError(f"cv must be an int >= 2; got {self.cv!r}")
        if groups is None:
            g = None
            per_class = np.bincount(np.searchsorted(self.classes_, y))
        else:
            from radiomix.evaluate.splits import check_groups

            g = check_groups(groups, n)
            first = pd.DataFrame({"g": g, "y": y}).drop_duplicates("g")["y"].to_numpy()
            per_class = np.bincount(np.searchsorted(self.classes_, first))
        kind = "patients" if g is not None else "rows (no groups given)"
        # no more internal folds than the smaller class has patients (small training folds)
        k = int(min(self.cv, per_class.min()))
        self.n_splits_ = k
        if k < 2:
            log.info(
                "stacking: %d %s in the smaller class, too few for internal folds; the "
                "base estimators' probabilities are averaged instead",
                per_class.min(),
                kind,
            )
            return []
        if k < self.cv:
            log.info(
                "stacking: %d internal folds instead of %d (%d %s in the smaller class)",
                k,
                self.cv,
                per_class.min(),
                kind,
            )
        splitter: Any = (StratifiedKFold if g is None else StratifiedGroupKFold)(
            n_splits=k, shuffle=True, random_state=self.random_state
        )
        folds = list(splitter.split(np.zeros(n), y, g))
        for k, (tr, _) in enumerate(folds):
            missing = np.setdiff1d(self.classes_, y[tr])
            if missing.size:
                raise InputError(
                    f"internal fold {k}: the training {kind} lack class(es) "
                    f"{missing.tolist()}; give more patients per class or a smaller cv"
                )
        return folds

    def _meta(self, probas: list[np.ndarray]) -> np.ndarray:
        if self.classes_.size == 2:
            return np.column_stack([p[:, 1] for p in probas])
        return np.hstack(probas)

    def fit(self, X: Any, y: Any, groups: Any = None) -> GroupedStackingClassifier:
        """Fit the base estimators per internal fold, the meta-model, then refit the bases.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
        y : array-like of shape (n,)
        groups : array-like of shape (n,), optional
            Patient id of each row; without it rows are taken as patients.

        Raises
        ------
        InputError
            Fewer than two classes, ``cv`` out of range, an internal training fold without
            a class, or a base estimator without ``predict_proba``.
        """
        if y is None:
            raise InputError(
                "GroupedStackingClassifier requires y to be passed, but the target y is None"
            )
        Xv, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise InputError(
                f"a classifier needs at least 2 classes; y has 1 class ({self.classes_[0]!r})"
            )
        base = self._base()
        data = X if isinstance(X, pd.DataFrame) else Xv
        self.folds_ = self._folds(data, y, groups)
        self.grouped_ = groups is not None
        if groups is None:
            log.debug("stacking: no groups given, internal folds over rows")
        oof = [np.zeros((y.size, self.classes_.size)) for _ in base]
        for tr, te in self.folds_:
            for b, (_, est) in enumerate(base):
                model = clone(est).fit(_safe_indexing(data, tr), y[tr])
                oof[b][te] = model.predict_proba(_safe_indexing(data, te))
        final = (
            LogisticRegression(max_iter=5000)
            if self.final_estimator is None
            else clone(self.final_estimator)
        )
        self.fallback_ = None if self.folds_ else "mean of the base estimators' probabilities"
        self.final_estimator_ = final.fit(self._meta(oof), y) if self.folds_ else None
        self.estimators_ = [clone(est).fit(data, y) for _, est in base]
        return self

    def _transform_meta(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        Xv = validate_data(self, X, reset=False)
        data = X if isinstance(X, pd.DataFrame) else Xv
        return self._meta([est.predict_proba(data) for est in self.estimators_])

    def transform(self, X: Any) -> np.ndarray:
        """Meta-features: the base estimators' probabilities, shape (n, n_meta)."""
        return self._transform_meta(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Meta-feature names ``<base>_<class>`` (positive class only when binary)."""
        check_is_fitted(self, "estimators_")
        names = [name for name, _ in self._base()]
        shown = self.classes_[1:] if self.classes_.size == 2 else self.classes_
        return np.asarray([f"{n}_{c}" for n in names for c in shown], dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` from the meta-model, shape (n, n_classes)."""
        check_is_fitted(self, "estimators_")
        if self.final_estimator_ is None:
            Xv = validate_data(self, X, reset=False)
            data = X if isinstance(X, pd.DataFrame) else Xv
            return np.mean([est.predict_proba(data) for est in self.estimators_], axis=0)
        meta = self._transform_meta(X)
        return np.asarray(self.final_estimator_.predict_proba(meta))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        check_is_fitted(self, "estimators_")
        if self.final_estimator_ is None:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        meta = self._transform_meta(X)
        return np.asarray(self.final_estimator_.predict(meta))


def grouped_folds(
    y: np.ndarray, groups: Any, n_splits: int, random_state: Any
) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Stratified patient-grouped folds, ``n_splits`` lowered to what the classes allow.

    Parameters
    ----------
    y : ndarray of shape (n,)
    groups : array-like of shape (n,) or None
        Patient ids; ``None`` takes every row as its own patient.
    n_splits : int
        Wanted number of folds; lowered to the smallest number of patients of any class
        (a class needs one patient per test fold).
    random_state : int, RandomState or None

    Returns
    -------
    folds : list of (train, test) index arrays
    grouped : bool
        Whether ``groups`` were given.

    Raises
    ------
    InputError
        A class has fewer than two patients (no fold can hold it out and train on it).
    """
    n = y.size
    if groups is None:
        g = np.arange(n)
    else:
        from radiomix.evaluate.splits import check_groups

        g = check_groups(groups, n)
    per_class = [np.unique(g[y == c]).size for c in np.unique(y)]
    k = min(int(n_splits), min(per_class))
    if k < 2:
        raise InputError(
            f"internal folds need at least 2 patients of every class; the smallest class has "
            f"{min(per_class)}. Give more patients or merge rare classes."
        )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(n), y, g)), groups is not None


def _check_fit_input(est: BaseEstimator, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    if y is None:
        raise InputError(f"{type(est).__name__} requires y to be passed, but the target y is None")
    Xv, yv = validate_data(est, X, y, dtype=np.float64)
    check_classification_targets(yv)
    classes = np.unique(yv)
    if classes.size < 2:
        raise InputError(f"a classifier needs at least 2 classes; y has 1 class ({classes[0]!r})")
    est.classes_ = classes
    return Xv, yv


class PatientPrevalence(ClassifierMixin, BaseEstimator):
    """Predicts, for every row, the prevalence of the training *patients*.

    The no-information reference of a patient-level analysis (``level: patient``): with
    several rows (lesions) per patient, the rows' prevalence weights each patient by its
    row count (four lesions of each positive patient make the row prevalence 0.63 where
    the patients' is 0.32), which no patient-level predictor could know. Each patient
    counts once; without ``groups`` each row is its own patient.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1, 1, 1, 1, 0, 0, 0])
    >>> g = np.array(["a", "a", "a", "a", "b", "c", "d"])
    >>> float(PatientPrevalence().fit(np.zeros((7, 1)), y, groups=g).predict_proba(
    ...     np.zeros((1, 1)))[0, 1])
    0.25
    """

    def fit(self, X: Any, y: Any, groups: Any = None) -> PatientPrevalence:
        """Learn the classes and the training patients' prevalence."""
        y = np.asarray(y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        g = np.arange(y.size) if groups is None else np.asarray(groups).astype(str)
        first = pd.Series(y).groupby(g, sort=False).first()
        self.prior_ = np.array([float(np.mean(first.to_numpy() == c)) for c in self.classes_])
        self.n_features_in_ = int(np.asarray(X).shape[1]) if np.ndim(X) == 2 else 1
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The training patients' class shares for every row."""
        check_is_fitted(self, "prior_")
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X: Any) -> np.ndarray:
        """The majority class of the training patients for every row."""
        return np.repeat(self.classes_[int(np.argmax(self.prior_))], len(X))


class ClippedKNeighborsClassifier(ClassifierMixin, BaseEstimator):
    """k-nearest neighbours whose ``k`` is clipped to the number of training rows.

    A tuning grid such as ``n_neighbors = [3, 5, 9, 15]`` would make scikit-learn's
    :class:`~sklearn.neighbors.KNeighborsClassifier` fail on a training fold of fewer than
    15 rows; here ``k`` becomes ``min(n_neighbors, n_train)`` at fit time (recorded, and
    logged once per fit), so small cohorts run and the fold can be counted. When no clip is
    needed the predictions equal ``KNeighborsClassifier``'s.

    Parameters
    ----------
    n_neighbors : int >= 1
    weights : {"uniform", "distance"}
    metric : str
        Passed to :class:`~sklearn.neighbors.KNeighborsClassifier` (``p`` = 2).

    Attributes
    ----------
    classes_ : ndarray
    n_neighbors_ : int
        The ``k`` used.
    clipped_ : bool
        Whether ``n_neighbors`` was lowered.
    estimator_ : KNeighborsClassifier

    Examples
    --------
    >>> knn = ClippedKNeighborsClassifier(n_neighbors=15).fit([[0], [1], [2], [3]], [0, 0, 1, 1])
    >>> knn.n_neighbors_, knn.clipped_
    (4, True)
    """

    def __init__(
        self, n_neighbors: int = 5, *, weights: str = "uniform", metric: str = "minkowski"
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric

    def fit(self, X: Any, y: Any) -> ClippedKNeighborsClassifier:
        """Store the training rows with ``k = min(n_neighbors, n_train)``."""
        k = self.n_neighbors
        if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1):
            raise InputError(f"n_neighbors must be an int >= 1; got {k!r}")
        Xv, yv = _check_fit_input(self, X, y)
        self.n_neighbors_ = int(min(k, yv.size))
        self.clipped_ = self.n_neighbors_ < k
        if self.clipped_:
            log.info("kNN: n_neighbors %d clipped to the %d training rows", k, yv.size)
        self.estimator_ = KNeighborsClassifier(
            n_neighbors=self.n_neighbors_, weights=self.weights, metric=self.metric
        ).fit(Xv, yv)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (neighbour votes), shape (n, n_classes)."""
        check_is_fitted(self, "estimator_")
        Xv = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.estimator_.predict_proba(Xv))

    def predict(self, X: Any) -> np.ndarray:
        """Majority class of the neighbours."""
        check_is_fitted(self, "estimator_")
        Xv = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.estimator_.predict(Xv))


_PENALTY_CS: tuple[float, ...] = tuple(float(c) for c in np.logspace(-2, 1, 10))


class PenalisedLogisticCV(ClassifierMixin, BaseEstimator):
    """Logistic regression whose penalty (L1 / L2 / elastic net and C) is tuned inside ``fit``.

    The default model for wide tables (more features than patients), where a fixed L2
    logistic regression overfits and reports nearly flat calibration slopes. Columns are
    z-scored, then every pair of ``l1_ratios`` x ``Cs`` is scored by the mean out-of-fold
    log-loss of ``cv`` stratified patient-grouped internal folds (``groups`` passed to
    ``fit``; :func:`radiomix.evaluate.nested_cv` passes them), and the best pair is refitted
    on all rows. Log-loss, not AUC, chooses the penalty because it rewards probabilities
    that are right in size, which is what keeps the calibration slope near 1 (Van Calster
    et al. 2019); ties keep the stronger penalty.

    Parameters
    ----------
    Cs : sequence of float > 0
        Inverse penalty strengths (default 10 values from 0.01 to 10, log-spaced).
    l1_ratios : sequence of float in [0, 1]
        1 = LASSO, 0 = ridge (L2), in between = elastic net. The default tries the LASSO
        and ridge; add 0.5 for the elastic net (about 5 times slower on a 1,000-column
        table: its ``saga`` solver converges slowly where p >> n).
    cv : int
        Internal folds (lowered to what the smallest class allows).
    random_state : int, RandomState or None
        Seed of the fold shuffle and of the ``saga`` solver.

    Attributes
    ----------
    classes_ : ndarray
    C_, l1_ratio_ : float
        The chosen penalty.
    estimator_ : LogisticRegression
        Refitted on all (z-scored) rows.
    scaler_ : StandardScaler
    cv_results_ : DataFrame
        ``l1_ratio``, ``C``, ``log_loss`` (mean over folds), one row per pair.
    n_selected_ : int
        Columns with a non-zero coefficient in the final model.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 30)); y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    >>> clf = PenalisedLogisticCV(random_state=0).fit(X, y)
    >>> bool(np.argmax(np.abs(clf.estimator_.coef_[0])) == 0)
    True
    """

    def __init__(
        self,
        *,
        Cs: Sequence[float] = _PENALTY_CS,
        l1_ratios: Sequence[float] = (1.0, 0.0),
        cv: int = 5,
        random_state: Any = None,
    ) -> None:
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.random_state = random_state

    def _model(self, C: float, l1_ratio: float, n_classes: int) -> LogisticRegression:
        if l1_ratio == 0.0:
            return LogisticRegression(C=C, max_iter=5000)
        if n_classes == 2 and l1_ratio == 1.0:
            return LogisticRegression(
                C=C,
                l1_ratio=1.0,
                solver="liblinear",
                max_iter=2000,
                random_state=self.random_state,
            )
        return LogisticRegression(
            C=C,
            l1_ratio=l1_ratio,
            solver="saga",
            max_iter=3000,
            tol=1e-3,
            random_state=self.random_state,
        )

    def fit(self, X: Any, y: Any, groups: Any = None) -> PenalisedLogisticCV:
        """Tune the penalty by grouped internal CV, then refit on all rows.

        Raises
        ------
        InputError
            Fewer than two classes, a class with fewer than two patients, or a grid value
            out of range.
        """
        Cs = [float(c) for c in np.atleast_1d(np.asarray(self.Cs, dtype=object))]
        ratios = [float(r) for r in np.atleast_1d(np.asarray(self.l1_ratios, dtype=object))]
        if not Cs or not all(is_real(c) and c > 0 for c in Cs):
            raise InputError(f"Cs must be numbers > 0; got {self.Cs!r}")
        if not ratios or not all(is_real(r) and 0 <= r <= 1 for r in ratios):
            raise InputError(f"l1_ratios must be numbers in [0, 1]; got {self.l1_ratios!r}")
        Xv, yv = _check_fit_input(self, X, y)
        folds, _ = grouped_folds(yv, groups, self.cv, self.random_state)
        k = self.classes_.size
        codes = np.searchsorted(self.classes_, yv)
        rows = []
        for r in ratios:
            for C in Cs:
                loss = []
                for tr, te in folds:
                    scaler = StandardScaler().fit(Xv[tr])
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        m = self._model(C, r, k).fit(scaler.transform(Xv[tr]), codes[tr])
                    p = np.clip(m.predict_proba(scaler.transform(Xv[te])), 1e-12, 1.0)
                    full = np.full((te.size, k), 1e-12)
                    full[:, m.classes_] = p
                    loss.append(-np.mean(np.log(full[np.arange(te.size), codes[te]])))
                rows.append({"l1_ratio": r, "C": C, "log_loss": float(np.mean(loss))})
        table = pd.DataFrame(rows)
        # a tie in log-loss goes to the weakest penalty (largest C), as in fit_tuned
        best = table.sort_values(["log_loss", "C"], ascending=[True, False],
                                 kind="stable").iloc[0]
        self.C_, self.l1_ratio_ = float(best["C"]), float(best["l1_ratio"])
        self.cv_results_ = table
        self.scaler_ = StandardScaler().fit(Xv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.estimator_ = self._model(self.C_, self.l1_ratio_, k).fit(
                self.scaler_.transform(Xv), codes
            )
        self.n_selected_ = int(np.any(np.abs(np.atleast_2d(self.estimator_.coef_)) > 0, 0).sum())
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Linear predictor of the final model."""
        check_is_fitted(self, "estimator_")
        Xv = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.estimator_.decision_function(self.scaler_.transform(Xv)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_``, shape (n, n_classes)."""
        check_is_fitted(self, "estimator_")
        Xv = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.estimator_.predict_proba(self.scaler_.transform(Xv)))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class PostHocCalibrated(ClassifierMixin, BaseEstimator):
    """Post-hoc probability calibration (Platt or isotonic), fitted inside the training rows.

    scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV` with its folds made
    stratified and grouped by patient (``groups`` passed to ``fit``): each internal fold
    fits ``estimator`` on its training patients and the calibration map on the held-out
    patients, and predictions average the fold models (``ensemble=True``). Inside
    :func:`radiomix.evaluate.nested_cv` this all happens within the outer training fold.

    Parameters
    ----------
    estimator : classifier
        Any classifier with ``predict_proba`` or ``decision_function``.
    method : {"sigmoid", "isotonic"}
        Platt's logistic map, or isotonic regression (needs larger cohorts, roughly > 200
        patients, or it overfits).
    cv : int
        Internal folds (lowered to what the smallest class allows).
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_ : ndarray
    calibrated_ : CalibratedClassifierCV
    folds_ : list of (ndarray, ndarray)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int)
    >>> clf = PostHocCalibrated(SVC(), random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        *,
        method: str = "sigmoid",
        cv: int = 3,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any, groups: Any = None) -> PostHocCalibrated:
        """Fit the estimator and its calibration map per grouped internal fold."""
        if self.method not in CALIBRATIONS:
            raise InputError(
                f"calibration method must be one of {', '.join(CALIBRATIONS)}; got {self.method!r}"
            )
        Xv, yv = _check_fit_input(self, X, y)
        self.folds_, _ = grouped_folds(yv, groups, self.cv, self.random_state)
        base = LogisticRegression(max_iter=5000) if self.estimator is None else self.estimator
        self.calibrated_ = CalibratedClassifierCV(
            clone(base), method=self.method, cv=self.folds_, ensemble=True
        ).fit(Xv, yv)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities of ``classes_``."""
        check_is_fitted(self, "calibrated_")
        Xv = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.calibrated_.predict_proba(Xv))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def default_model_name(n_patients: int, n_features: int) -> str:
    """The default model for a table: ``penalised_logistic`` when p > n, else ``logistic``.

    Examples
    --------
    >>> default_model_name(77, 1015), default_model_name(200, 12)
    ('penalised_logistic', 'logistic')
    """
    return "penalised_logistic" if n_features > n_patients else "logistic"


def make_classifier(name: str, *, random_state: int | None = None) -> BaseEstimator:
    """A classifier by name.

    Parameters
    ----------
    name : {"knn", "logistic", "penalised_logistic", "svm", "rf", "gb", "voting", \
"stacking", "radscore", "auto"}
        ``knn``: k-nearest neighbours (k = 5, the lung study's model;
        :class:`ClippedKNeighborsClassifier`, so a grid value above the training size is
        clipped rather than failing); ``logistic``: L2 logistic regression (C = 1);
        ``penalised_logistic``: :class:`PenalisedLogisticCV`, L1 / elastic-net / L2 and C
        tuned by patient-grouped internal log-loss, the default for tables with more
        features than patients (:func:`default_model_name`); ``svm``: RBF support-vector
        machine with Platt probabilities; ``rf``: random forest (300 trees); ``gb``:
        gradient boosting; ``voting``: soft vote of logistic + random forest + SVM;
        ``stacking``: the same three stacked under a logistic meta-model
        (:class:`GroupedStackingClassifier`, 5 patient-grouped internal folds);
        ``radscore``: :class:`~radiomix.model.radscore.RadScore` (binary only); ``auto``:
        :class:`~radiomix.model.search.AutoClassifier`, a budgeted patient-grouped search
        over preprocessing, selection and estimators, run inside ``fit``.
    random_state : int, optional
        Seed of every randomised component.

    Notes
    -----
    ``stacking``, ``penalised_logistic`` and ``auto`` take ``fit(X, y, groups=...)``: their
    internal folds are grouped by patient (the ids that :func:`radiomix.evaluate.nested_cv`
    passes to ``fit``), so slice-level tables do not leak inside them either.

    Examples
    --------
    >>> type(make_classifier("knn")).__name__
    'ClippedKNeighborsClassifier'
    """
    rs = random_state
    if name == "knn":
        return ClippedKNeighborsClassifier(n_neighbors=5)
    if name == "logistic":
        return LogisticRegression(C=1.0, max_iter=5000)
    if name == "penalised_logistic":
        return PenalisedLogisticCV(random_state=rs)
    if name == "svm":
        return SVC(C=1.0, probability=True, random_state=rs)
    if name == "rf":
        return RandomForestClassifier(n_estimators=300, random_state=rs)
    if name == "gb":
        return GradientBoostingClassifier(random_state=rs)
    if name == "voting":
        return VotingClassifier(_default_base(rs), voting="soft")
    if name == "stacking":
        return GroupedStackingClassifier(
            estimators=_default_base(rs),
            final_estimator=LogisticRegression(max_iter=5000),
            cv=5,
            random_state=rs,
        )
    if name == "radscore":
        return RadScore(random_state=rs)
    if name == "auto":
        from radiomix.model.search import AutoClassifier

        return AutoClassifier(random_state=rs)
    raise InputError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


_GRIDS: dict[str, dict[str, list[Any]]] = {
    "knn": {"n_neighbors": [3, 5, 9, 15]},
    "logistic": {"C": [0.01, 0.1, 1.0, 10.0]},
    "penalised_logistic": {},
    "svm": {"C": [0.1, 1.0, 10.0]},
    "rf": {"max_depth": [2, 4, None]},
    "gb": {"learning_rate": [0.03, 0.1], "max_depth": [1, 2]},
    "voting": {"logistic__C": [0.1, 1.0]},
    "stacking": {"final_estimator__C": [0.1, 1.0]},
    "radscore": {"C": [0.1, 0.3, 1.0, 3.0]},
    "auto": {},
}


WEAKER_PENALTY: dict[str, int] = {"C": 1, "alpha": -1, "penalizer": -1}
"""Tuning parameters that set a penalty, by name (the part after the last ``__``): +1 when a
larger value penalises less (inverse regularisation strength ``C``), -1 when a smaller one
does (``alpha``, lifelines' ``penalizer``). When inner-CV scores tie across such a grid (a
one-feature logistic model ranks the patients the same for every ``C``, so its AUC cannot
choose), the tie goes to the
weakest penalty: the strongest would shrink the probabilities toward the prevalence for no
gain in the score (calibration slope far above 1). See
:func:`radiomix.evaluate.validate.fit_tuned`."""


def penalty_tiebreak_key(params: Mapping[str, Any]) -> tuple[float, ...]:
    """Sort key of a grid point among tied ones: the weakest penalty first (parameters named
    in :data:`WEAKER_PENALTY`, in sorted order; other parameters do not order the tie).

    Examples
    --------
    >>> pts = [{"model__C": 0.01}, {"model__C": 10.0}, {"model__C": 1.0}]
    >>> min(pts, key=penalty_tiebreak_key)
    {'model__C': 10.0}
    """
    key: list[float] = []
    for name in sorted(params):
        sign = WEAKER_PENALTY.get(name.rsplit("__", 1)[-1])
        value = params[name]
        if sign is None or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        key.append(-sign * float(value))
    return tuple(key)


def default_param_grid(name: str, *, prefix: str = "model__") -> dict[str, list[Any]]:
    """A small inner-loop tuning grid for :func:`make_classifier` ``name``.

    ``penalised_logistic`` and ``auto`` tune themselves inside ``fit`` (grouped internal
    folds), so their grid is empty: :func:`radiomix.evaluate.nested_cv` then simply fits
    them on each outer training fold.

    Examples
    --------
    >>> default_param_grid("knn")
    {'model__n_neighbors': [3, 5, 9, 15]}
    >>> default_param_grid("auto")
    {}
    """
    if name not in _GRIDS:
        raise InputError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return {prefix + k: list(v) for k, v in _GRIDS[name].items()}


def make_selector(name: str, *, random_state: int | None = None) -> BaseEstimator:
    """A selector by name: ``variance``, ``correlation``, ``fdr``, ``lasso`` or ``mrmr``."""
    if name == "variance":
        return VarianceSelector()
    if name == "correlation":
        return CorrelationClusterSelector(threshold=0.9)
    if name == "fdr":
        return UnivariateFdrSelector(alpha=0.05)
    if name == "lasso":
        return PenalisedSelector(C=0.1, l1_ratio=1.0, random_state=random_state)
    if name == "mrmr":
        return MrmrSelector(n_features=10)
    raise InputError(f"unknown selector {name!r}; choose one of {', '.join(SELECTORS)}")


def build_pipeline(
    model: str | BaseEstimator = "logistic",
    *,
    selector: str | BaseEstimator | Sequence[str | BaseEstimator] | None = None,
    include: Sequence[str] | None = None,
    blocks: str | Mapping[str, Sequence[str]] = "auto",
    deep_pca: int | float | None = None,
    balance_blocks: bool = False,
    random_state: int | None = None,
    calibration: str | None = None,
) -> Pipeline:
    """Pipeline ``fuse -> [select ...] -> model`` for a feature table.

    Parameters
    ----------
    model : str or estimator
        Name for :func:`make_classifier`, or an estimator (cloned).
    selector : str, estimator, sequence of them, or None
        Selection steps in order (e.g. ``("correlation", "fdr")``); names as in
        :func:`make_selector`.
    include, blocks, deep_pca, balance_blocks
        Passed to :class:`~radiomix.model.fuse.BlockFuser`.
    random_state : int, optional
    calibration : {"sigmoid", "isotonic"}, optional
        Wrap the model in :class:`PostHocCalibrated` (Platt or isotonic map fitted on
        patient-grouped internal folds of the training rows). The model's grid keys then
        need the ``model__estimator__`` prefix.

    Returns
    -------
    Pipeline
        Steps ``fuse``, ``select0`` ..., ``model``; tune with
        ``default_param_grid(model)`` (``model__`` prefix).

    Examples
    --------
    >>> [name for name, _ in build_pipeline("knn", selector="correlation").steps]
    ['fuse', 'select0', 'model']
    """
    steps: list[tuple[str, Any]] = [
        (
            "fuse",
            BlockFuser(
                blocks=blocks,
                include=include,
                deep_pca=deep_pca,
                balance_blocks=balance_blocks,
                random_state=random_state,
            ),
        )
    ]
    if selector is None:
        selectors: list[str | BaseEstimator] = []
    elif isinstance(selector, (str, BaseEstimator)):
        selectors = [selector]
    else:
        selectors = list(selector)
    for i, sel in enumerate(selectors):
        est = make_selector(sel, random_state=random_state) if isinstance(sel, str) else clone(sel)
        steps.append((f"select{i}", est))
    if isinstance(model, str):
        clf = make_classifier(model, random_state=random_state)
    else:
        clf = clone(model)
    if calibration is not None:
        if calibration not in CALIBRATIONS:
            raise InputError(
                f"calibration must be one of {', '.join(CALIBRATIONS)} or None; got {calibration!r}"
            )
        clf = PostHocCalibrated(clf, method=calibration, random_state=random_state)
    steps.append(("model", clf))
    return Pipeline(steps)
