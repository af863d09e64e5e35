"""Classifiers and whole pipelines: fuse -> select -> classify, with small tuning grids.

All classifiers here are scikit-learn's own (they handle multi-class outcomes, e.g. HCC vs
haemangioma vs FNH vs cholangiocarcinoma vs metastasis) or :class:`RadScore` (binary).
:func:`build_pipeline` chains them after :class:`~radiomix.model.fuse.BlockFuser` and an
optional selector, so that :func:`radiomix.evaluate.nested_cv` fits every step inside the
training folds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

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


def make_classifier(name: str, *, random_state: int | None = None) -> BaseEstimator:
    """A classifier by name.

    Parameters
    ----------
    name : {"knn", "logistic", "svm", "rf", "gb", "voting", "stacking", "radscore"}
        ``knn``: k-nearest neighbours (k = 5, the lung study's model); ``logistic``: L2
        logistic regression; ``svm``: RBF support-vector machine with Platt probabilities;
        ``rf``: random forest (300 trees); ``gb``: gradient boosting; ``voting``: soft vote of
        logistic + random forest + SVM; ``stacking``: the same three stacked under a logistic
        meta-model; ``radscore``: :class:`~radiomix.model.radscore.RadScore` (binary only).
    random_state : int, optional
        Seed of every randomised component.

    Notes
    -----
    ``stacking`` fits its meta-model on internal out-of-fold predictions from
    ``StratifiedKFold`` over *rows*: with several rows per patient these inner predictions
    leak between slices of a patient (the outer evaluation stays honest, the meta-model is
    merely over-confident). Prefer ``voting`` for slice-level tables.

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
    if name in ("voting", "stacking"):
        base = [
            ("logistic", LogisticRegression(C=1.0, max_iter=5000)),
            ("rf", RandomForestClassifier(n_estimators=200, random_state=rs)),
            ("svm", SVC(probability=True, random_state=rs)),
        ]
        if name == "voting":
            return VotingClassifier(base, voting="soft")
        return StackingClassifier(base, final_estimator=LogisticRegression(max_iter=5000), cv=5)
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
