"""Classifiers and whole pipelines: fuse -> select -> classify, with small tuning grids.

All classifiers here are scikit-learn's own (they handle multi-class outcomes, e.g. HCC vs
haemangioma vs FNH vs cholangiocarcinoma vs metastasis) or :class:`RadScore` (binary).
:func:`build_pipeline` chains them after :class:`~radiomix.model.fuse.BlockFuser` and an
optional selector, so that :func:`radiomix.evaluate.nested_cv` fits every step inside the
training folds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from radiomix.errors import InputError
from radiomix.model.fuse import BlockFuser
from radiomix.model.radscore import RadScore
from radiomix.model.select import (
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    UnivariateFdrSelector,
    VarianceSelector,
)

MODELS: tuple[str, ...] = ("knn", "logistic", "svm", "rf", "gb", "voting", "stacking", "radscore")
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
        if groups is None:
            units = n
            splitter: Any = StratifiedKFold(
                n_splits=self.cv, shuffle=True, random_state=self.random_state
            )
            g = None
        else:
            from radiomix.evaluate.splits import check_groups

            g = check_groups(groups, n)
            units = int(np.unique(g).size)
            splitter = StratifiedGroupKFold(
                n_splits=self.cv, shuffle=True, random_state=self.random_state
            )
        kind = "patients" if g is not None else "rows (no groups given)"
        if not (isinstance(self.cv, (int, np.integer)) and 2 <= self.cv <= units):
            raise InputError(f"cv must be an int in [2, {units}] ({kind}); got {self.cv!r}")
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
        self.final_estimator_ = final.fit(self._meta(oof), y)
        self.estimators_ = [clone(est).fit(data, y) for _, est in base]
        return self

    def _transform_meta(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "final_estimator_")
        Xv = validate_data(self, X, reset=False)
        data = X if isinstance(X, pd.DataFrame) else Xv
        return self._meta([est.predict_proba(data) for est in self.estimators_])

    def transform(self, X: Any) -> np.ndarray:
        """Meta-features: the base estimators' probabilities, shape (n, n_meta)."""
        return self._transform_meta(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Meta-feature names ``<base>_<class>`` (positive class only when binary)."""
        check_is_fitted(self, "final_estimator_")
        names = [name for name, _ in self._base()]
        shown = self.classes_[1:] if self.classes_.size == 2 else self.classes_
        return np.asarray([f"{n}_{c}" for n in names for c in shown], dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` from the meta-model, shape (n, n_classes)."""
        meta = self._transform_meta(X)
        return np.asarray(self.final_estimator_.predict_proba(meta))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        meta = self._transform_meta(X)
        return np.asarray(self.final_estimator_.predict(meta))


def make_classifier(name: str, *, random_state: int | None = None) -> BaseEstimator:
    """A classifier by name.

    Parameters
    ----------
    name : {"knn", "logistic", "svm", "rf", "gb", "voting", "stacking", "radscore"}
        ``knn``: k-nearest neighbours (k = 5, the lung study's model); ``logistic``: L2
        logistic regression; ``svm``: RBF support-vector machine with Platt probabilities;
        ``rf``: random forest (300 trees); ``gb``: gradient boosting; ``voting``: soft vote of
        logistic + random forest + SVM; ``stacking``: the same three stacked under a logistic
        meta-model (:class:`GroupedStackingClassifier`, 5 patient-grouped internal folds);
        ``radscore``: :class:`~radiomix.model.radscore.RadScore` (binary only).
    random_state : int, optional
        Seed of every randomised component.

    Notes
    -----
    ``stacking`` is a :class:`GroupedStackingClassifier`: its meta-model learns from
    out-of-fold predictions of internal folds grouped by patient (the ids that
    :func:`radiomix.evaluate.nested_cv` passes to ``fit``), so slice-level tables do not
    leak inside it either.

    Examples
    --------
    >>> type(make_classifier("knn")).__name__
    'KNeighborsClassifier'
    """
    rs = random_state
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=5)
    if name == "logistic":
        return LogisticRegression(C=1.0, max_iter=5000)
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
    raise InputError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


_GRIDS: dict[str, dict[str, list[Any]]] = {
    "knn": {"n_neighbors": [3, 5, 9, 15]},
    "logistic": {"C": [0.01, 0.1, 1.0, 10.0]},
    "svm": {"C": [0.1, 1.0, 10.0]},
    "rf": {"max_depth": [2, 4, None]},
    "gb": {"learning_rate": [0.03, 0.1], "max_depth": [1, 2]},
    "voting": {"logistic__C": [0.1, 1.0]},
    "stacking": {"final_estimator__C": [0.1, 1.0]},
    "radscore": {"C": [0.1, 0.3, 1.0, 3.0]},
}


def default_param_grid(name: str, *, prefix: str = "model__") -> dict[str, list[Any]]:
    """A small inner-loop tuning grid for :func:`make_classifier` ``name``.

    Examples
    --------
    >>> default_param_grid("knn")
    {'model__n_neighbors': [3, 5, 9, 15]}
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
    steps.append(("model", clf))
    return Pipeline(steps)
