"""An honest model search: :class:`AutoClassifier` chooses a whole pipeline inside ``fit``.

Which pipeline predicts best differs between radiomic tables (RBF SVM, logistic regression
and random forests each win on some), and choosing "the best of many pipelines" on the
folds that report the score inflates it. :class:`AutoClassifier` is a classifier like any
other: ``fit(X, y, groups=...)`` runs a budgeted, stratified, patient-grouped search on the
rows it is given and refits the winner on all of them. Inside
:func:`radiomix.evaluate.nested_cv` (which passes ``groups`` to a final step whose ``fit``
takes them) those rows are one outer training fold, so the choice never sees an outer test
patient and the outer folds score the whole procedure, search included.

The search space (:func:`search_space`), every candidate prefixed by the same
unsupervised steps, fitted on the training rows of each internal fold:

1. hygiene (:class:`~radiomix.model.select.TableHygiene`): median imputation (counted),
   constant and duplicate columns dropped;
2. z-scoring (:class:`~sklearn.preprocessing.StandardScaler`);
3. correlation filter (:class:`~radiomix.model.select.CorrelationClusterSelector`,
   complete linkage, one medoid per cluster of :math:`|r| \\ge` ``correlation``).

then one reducer and one estimator:

- reducers: ``none``; ``univariate`` top 5 / 10 / 30 by ANOVA F
  (:class:`~radiomix.model.select.UnivariateKBest`); ``mrmr`` 5 / 10 / 20
  (:class:`~radiomix.model.select.MrmrSelector`); ``lasso`` at most 10 / 30 columns
  (:class:`~radiomix.model.select.PenalisedSelector`, C = 0.3);
- estimators: logistic regression L2 (C 0.01, 0.1, 1), L1 (C 0.1, 1), elastic net
  (l1_ratio 0.5, C 0.1, 1); linear SVM (C 0.01, 0.1) and RBF SVM (C 1, 10), both with
  Platt probabilities fitted on grouped internal folds
  (:class:`~radiomix.model.classifiers.PostHocCalibrated`); random forest and extremely
  randomised trees (100 trees, depth 3 or 6, leaves of >= 2 rows); kNN (k 5, 9, 15,
  clipped to the training size); the soft-voting and the patient-grouped stacking
  ensemble (:class:`~radiomix.model.classifiers.GroupedStackingClassifier`, 3 internal
  folds) over L2 logistic (C 0.1) + random forest (100 trees, depth 4) + kNN (k 9), a
  cheaper membership than ``make_classifier("voting" / "stacking")``, whose RBF SVM with
  internal Platt folds and 300 trees made one ensemble cost as much as twenty other
  candidates.

That is 9 reducers x 20 estimators = 180 pipelines. ``budget`` of them are drawn
(reproducibly from ``random_state``): first the :data:`PORTFOLIO`, five cheap
low-variance pipelines (univariate top 5 and 10, mRMR 10, LASSO 30 or no reducer, each
followed by L2 logistic regression, C = 1), then the rest spread so that every estimator family
and reducer kind is tried early (see :func:`_draw`). They are raced by successive halving
(Jamieson & Talwalkar 2016; Li et al. 2018) over repeats of the internal CV: rung 0 scores
every drawn candidate on one repeat of ``inner_splits`` grouped folds, each later rung keeps
the best ``1/eta`` by mean fold ROC AUC, plus every portfolio pipeline (cheap, and never
halved), and scores them on one more repeat (a fresh shuffle), up to ``max_rungs``.

The winner among the finalists (the candidates scored on the most repeats: the portfolio and
the challengers that survived the halving) is chosen by the one-standard-error rule
(Breiman et al. 1984; Hastie, Tibshirani & Friedman 2009, 7.10): the first-drawn finalist
whose mean AUC is within one standard error of the best one's, so a portfolio pipeline, the
sparsest first, wins unless a challenger is clearly better (``rule="best"``: the best mean,
ties to the first drawn). The standard error carries Nadeau & Bengio's (2003) correction
for repeated CV (:func:`_one_se`): the repeats reuse the same patients, and the naive
``SD / sqrt(folds)`` called differences "clear" that were fold noise. Why the rule: with
50-150 patients the internal folds train on two thirds of an outer training fold, the fold
AUCs of the good pipelines differ by less than their noise, and "the best of many" is mostly
the luckiest; switching pipelines between outer folds also costs the pooled outer AUC.

The winner's probabilities then go through a Platt map fitted on the race's own
out-of-fold predictions of it (``calibration="race"``, the default; :func:`platt_map`), so
that every outer fold's model speaks on one probability scale: the engine pools the outer
predictions of all folds before it computes the AUC, and folds whose chosen pipelines (or
whose fits of the same pipeline) spread their probabilities differently would otherwise
rank against each other on unequal scales. The map is monotone, so it changes no fold's
own AUC, and it costs no fit.

Measured on 100 x 1,000 tables with 5 informative columns (``benchmarks/bench_model.py
--budget 12 --wide-seeds 0 1 2 3 4``), the oracle's AUC minus the search's: 0.021, 0.002,
0.001, 0.014, 0.004 on draws 0-4 (with the naive SE and no map it was 0.062 on draw 0, where
the 53-patient internal folds prefer univariate top 10, mRMR 10 or extra trees to top 5;
the race map alone gave 0.050, the corrected SE alone 0.021: on this draw the AUC gain is
the corrected SE's, the map adds calibration). Both changes were chosen
after looking at draw 0, so draws 5-9 were run afterwards as a check: 0.006, 0.003, 0.001,
0.021, 0.001. Outer calibration slopes of the search on draws 0-9: 0.92-1.55 (0.82-1.42
on draws 0-4 before).
"""

from __future__ import annotations

import inspect
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import is_real, validate_data
from radiomix.model.classifiers import (
    CALIBRATIONS,
    ClippedKNeighborsClassifier,
    GroupedStackingClassifier,
    PostHocCalibrated,
    grouped_folds,
)
from radiomix.model.select import (
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    TableHygiene,
    UnivariateKBest,
)

log = logging.getLogger(__name__)

REDUCERS: tuple[tuple[str, int | None], ...] = (
    ("none", None),
    ("univariate", 5),
    ("univariate", 10),
    ("univariate", 30),
    ("mrmr", 5),
    ("mrmr", 10),
    ("mrmr", 20),
    ("lasso", 10),
    ("lasso", 30),
)
"""Reducer choices: (kind, number of columns kept)."""

ESTIMATORS: tuple[tuple[str, str, float | int | None], ...] = (
    ("logistic", "logistic_l2", 0.01),
    ("logistic", "logistic_l2", 0.1),
    ("logistic", "logistic_l2", 1.0),
    ("logistic", "logistic_l1", 0.1),
    ("logistic", "logistic_l1", 1.0),
    ("logistic", "logistic_enet", 0.1),
    ("logistic", "logistic_enet", 1.0),
    ("svm", "svm_linear", 0.01),
    ("svm", "svm_linear", 0.1),
    ("svm", "svm_rbf", 1.0),
    ("svm", "svm_rbf", 10.0),
    ("trees", "rf", 3),
    ("trees", "rf", 6),
    ("trees", "extra_trees", 3),
    ("trees", "extra_trees", 6),
    ("knn", "knn", 5),
    ("knn", "knn", 9),
    ("knn", "knn", 15),
    ("ensemble", "voting", None),
    ("ensemble", "stacking", None),
)
"""Estimator choices: (family, kind, its one tuned value: C, depth or k)."""

FAMILIES: tuple[str, ...] = ("logistic", "svm", "trees", "knn", "ensemble")
"""Estimator families of the search space."""

RULES: tuple[str, ...] = ("one_se", "best")
"""How the winner is picked among the finalists (:class:`AutoClassifier` ``rule``)."""

PORTFOLIO: tuple[str, ...] = (
    "univariate5+logistic_l2(C=1)",
    "univariate10+logistic_l2(C=1)",
    "mrmr10+logistic_l2(C=1)",
    "lasso30+logistic_l2(C=1)",
    "none+logistic_l2(C=1)",
)
"""Candidates drawn first, whatever the budget (those of the allowed families), from the
fewest columns to the most: the classic filter + logistic-regression radiomics pipeline
(L2, C = 1, as the ``logistic`` model) after each reducer kind. With the one-standard-error
rule the earliest of them within one SE of the best finalist wins (:func:`_one_se`).
The rest of the budget is drawn at random around them (:func:`_draw`)."""


@dataclass(frozen=True)
class Candidate:
    """One pipeline of the search space: a reducer and an estimator.

    Attributes
    ----------
    reducer : str
        ``none``, ``univariate``, ``mrmr`` or ``lasso``.
    n_features : int or None
        Columns the reducer keeps.
    estimator : str
        Estimator kind (``logistic_l1``, ``svm_rbf``, ``rf``, ...).
    value : float, int or None
        Its tuned value (C, maximum depth or k).
    family : str
        ``logistic``, ``svm``, ``trees``, ``knn`` or ``ensemble``.
    """

    reducer: str
    n_features: int | None
    estimator: str
    value: float | int | None
    family: str

    @property
    def name(self) -> str:
        """Short readable name, e.g. ``mrmr10+logistic_l1(C=0.1)``."""
        red = self.reducer if self.n_features is None else f"{self.reducer}{self.n_features}"
        if self.value is None:
            est = self.estimator
        elif self.family == "trees":
            est = f"{self.estimator}(depth={self.value})"
        elif self.family == "knn":
            est = f"knn(k={self.value})"
        else:
            est = f"{self.estimator}(C={self.value:g})"
        return f"{red}+{est}"


def search_space() -> list[Candidate]:
    """Every candidate pipeline of :class:`AutoClassifier` (reducers x estimators).

    Examples
    --------
    >>> space = search_space()
    >>> len(space), space[0].name
    (180, 'none+logistic_l2(C=0.01)')
    """
    return [Candidate(red, k, est, val, fam) for red, k in REDUCERS for fam, est, val in ESTIMATORS]


def _logistic(C: float, l1_ratio: float, n_classes: int, rs: Any) -> LogisticRegression:
    if l1_ratio == 0.0:
        return LogisticRegression(C=C, max_iter=5000)
    if n_classes == 2 and l1_ratio == 1.0:
        return LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", max_iter=2000, random_state=rs
        )
    return LogisticRegression(
        C=C, l1_ratio=l1_ratio, solver="saga", max_iter=3000, tol=1e-3, random_state=rs
    )


def _reducer(c: Candidate, rs: Any) -> Any:
    if c.reducer == "none":
        return "passthrough"
    k = int(c.n_features or 1)
    if c.reducer == "univariate":
        return UnivariateKBest(k=k)
    if c.reducer == "mrmr":
        return MrmrSelector(n_features=k)
    return PenalisedSelector(C=0.3, max_features=k, min_features=1, random_state=rs)


def _estimator(c: Candidate, n_classes: int, rs: Any) -> BaseEstimator:
    v = c.value
    if c.estimator == "logistic_l2":
        return _logistic(float(v or 1.0), 0.0, n_classes, rs)
    if c.estimator == "logistic_l1":
        return _logistic(float(v or 1.0), 1.0, n_classes, rs)
    if c.estimator == "logistic_enet":
        return _logistic(float(v or 1.0), 0.5, n_classes, rs)
    if c.estimator == "svm_linear":
        return PostHocCalibrated(LinearSVC(C=float(v or 1.0), max_iter=5000), random_state=rs)
    if c.estimator == "svm_rbf":
        return PostHocCalibrated(SVC(C=float(v or 1.0), gamma="scale"), random_state=rs)
    if c.estimator in ("rf", "extra_trees"):
        return _forest(c.estimator, int(v or 3), rs)
    if c.estimator == "knn":
        return ClippedKNeighborsClassifier(n_neighbors=int(v or 5))
    base: list[tuple[str, BaseEstimator]] = [
        ("logistic", LogisticRegression(C=0.1, max_iter=5000)),
        ("rf", _forest("rf", 4, rs)),
        ("knn", ClippedKNeighborsClassifier(n_neighbors=9)),
    ]
    if c.estimator == "voting":
        return VotingClassifier(base, voting="soft")
    return GroupedStackingClassifier(
        estimators=base, final_estimator=LogisticRegression(max_iter=5000), cv=3, random_state=rs
    )


def _forest(kind: str, depth: int | None, rs: Any) -> BaseEstimator:
    forest = RandomForestClassifier if kind == "rf" else ExtraTreesClassifier
    return forest(n_estimators=100, max_depth=depth, min_samples_leaf=2, random_state=rs)


def build_candidate(c: Candidate, *, n_classes: int = 2, random_state: Any = None) -> Pipeline:
    """The ``reduce -> model`` pipeline of one candidate (without the shared prefix)."""
    return Pipeline(
        [("reduce", _reducer(c, random_state)), ("model", _estimator(c, n_classes, random_state))]
    )


def _prefix(correlation: float | None) -> Pipeline:
    steps: list[tuple[str, Any]] = [("hygiene", TableHygiene()), ("scale", StandardScaler())]
    if correlation is not None:
        steps.append(("correlation", CorrelationClusterSelector(threshold=correlation)))
    return Pipeline(steps)


def _takes_groups(est: BaseEstimator) -> bool:
    return "groups" in inspect.signature(est.fit).parameters


def _fit_candidate(pipe: Pipeline, X: np.ndarray, y: np.ndarray, g: np.ndarray | None) -> Any:
    params = {}
    if g is not None and _takes_groups(pipe.steps[-1][1]):
        params["model__groups"] = g
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipe.fit(X, y, **params)


def _full(proba: np.ndarray, classes: np.ndarray, model_classes: Any) -> np.ndarray:
    """Columns of ``proba`` (ordered as ``model_classes``) placed under ``classes``."""
    full = np.zeros((proba.shape[0], classes.size))
    for j, c in enumerate(model_classes):
        full[:, np.searchsorted(classes, c)] = proba[:, j]
    return full


def _auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray, model_classes: Any) -> float:
    if np.unique(y).size < 2:
        return float("nan")
    full = _full(proba, classes, model_classes)
    if classes.size == 2:
        # Mann-Whitney: AUC = (rank sum of positives - n1 (n1 + 1) / 2) / (n1 n0), mid-ranks
        pos = y == classes[1]
        ranks = rankdata(full[:, 1])
        n1 = int(pos.sum())
        return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * (y.size - n1)))
    full = full / np.clip(full.sum(1, keepdims=True), 1e-12, None)
    present = np.isin(classes, y)
    if present.sum() < classes.size:
        return float("nan")
    return float(roc_auc_score(y, full, multi_class="ovr", average="macro", labels=classes))


@dataclass(frozen=True)
class SearchProgress:
    """What the progress callback of :class:`AutoClassifier` receives after each evaluation.

    Attributes
    ----------
    done, total : int
        Candidate evaluations finished and planned (one evaluation = one candidate on one
        repeat of the internal folds); ``total`` may shrink when candidates fail.
    rung : int
        Successive-halving rung (0 = every drawn candidate).
    candidate : str
        Name of the candidate just scored.
    score : float
        Its mean internal ROC AUC so far (NaN when it failed).
    elapsed : float
        Seconds since the search started.
    """

    done: int
    total: int
    rung: int
    candidate: str
    score: float
    elapsed: float


@dataclass
class _Entry:
    candidate: Candidate
    order: int
    aucs: list[float] = field(default_factory=list)
    seconds: float = 0.0
    rung: int = 0
    error: str = ""
    oof: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def score(self) -> float:
        ok = [a for a in self.aucs if not np.isnan(a)]
        return float(np.mean(ok)) if ok and not self.error else float("nan")


def _planned(n: int, eta: int, max_rungs: int) -> list[int]:
    sizes = [n]
    while len(sizes) < max_rungs and sizes[-1] > 1:
        sizes.append(max(1, math.ceil(sizes[-1] / eta)))
    return sizes


def _draw(space: list[Candidate], budget: int, rng: np.random.Generator) -> list[Candidate]:
    """``budget`` candidates: the :data:`PORTFOLIO` first, then a spread random draw.

    Each next candidate is the first (in a random permutation) of those whose estimator
    family, estimator kind and reducer kind have been drawn least so far (sum of the three
    counts, the portfolio's included), so a small budget still tries every family and every
    reducer.
    """
    order = rng.permutation(len(space))
    first = [c for name in PORTFOLIO for c in space if c.name == name]
    pool = [space[i] for i in order if space[i].name not in PORTFOLIO]
    fam: dict[str, int] = {}
    est: dict[str, int] = {}
    red: dict[str, int] = {}
    drawn: list[Candidate] = []
    while (first or pool) and len(drawn) < budget:
        if first:
            c = first.pop(0)
        else:
            cost = [
                fam.get(c.family, 0) + est.get(c.estimator, 0) + red.get(c.reducer, 0) for c in pool
            ]
            c = pool.pop(int(np.argmin(cost)))
        fam[c.family] = fam.get(c.family, 0) + 1
        est[c.estimator] = est.get(c.estimator, 0) + 1
        red[c.reducer] = red.get(c.reducer, 0) + 1
        drawn.append(c)
    return drawn


LOGIT_CLIP = 1e-6
"""Probabilities are clipped to [1e-6, 1 - 1e-6] before the logit of the race's Platt map."""


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(q / (1.0 - q))


def platt_map(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt's logistic map ``P(y = 1) = expit(a * logit(proba) + b)`` with ``a >= 0``.

    Maximum likelihood with Platt's (1999) smoothed targets, :math:`(N_+ + 1) / (N_+ + 2)`
    for positives and :math:`1 / (N_- + 2)` for negatives (the targets scikit-learn's
    sigmoid calibration uses), so a separable set gives a finite slope. The slope is kept
    non-negative: out-of-fold predictions that rank the classes backwards (chance, on a table
    without signal) give ``a = 0``, the smoothed prevalence for every row, rather than
    inverted predictions.

    Parameters
    ----------
    proba : ndarray of shape (m,)
        Out-of-fold probabilities of the positive class.
    y : ndarray of shape (m,)
        1 for the positive class, 0 otherwise.

    Returns
    -------
    a, b : float
        Slope and intercept on the logit scale.

    Examples
    --------
    >>> a, b = platt_map(np.array([0.2, 0.4, 0.6, 0.8]), np.array([0, 0, 1, 1]))
    >>> bool(a > 0)
    True
    """
    z = _logit(proba)
    yv = np.asarray(y, dtype=float)
    n_pos = float(yv.sum())
    n_neg = float(yv.size - n_pos)
    t = np.where(yv > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] * z + theta[1]
        # cross-entropy with soft targets: log(1 + e^eta) - t * eta
        val = float(np.sum(np.logaddexp(0.0, eta) - t * eta))
        r = expit(eta) - t
        return val, np.array([float(r @ z), float(r.sum())])

    b0 = float(np.log((n_pos + 1.0) / (n_neg + 1.0)))
    res = minimize(
        loss, np.array([1.0, b0]), jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)]
    )
    return float(res.x[0]), float(res.x[1])


def _oof_table(e: _Entry, y: np.ndarray) -> pd.DataFrame:
    """The race's out-of-fold predictions of one candidate, one row per (repeat, row)."""
    if not e.oof:
        return pd.DataFrame(columns=["repeat", "row", "y_true", "proba"])
    rows = np.concatenate([te for _, te, _ in e.oof])
    return pd.DataFrame(
        {
            "repeat": np.concatenate([np.full(te.size, r) for r, te, _ in e.oof]),
            "row": rows,
            "y_true": y[rows],
            "proba": np.concatenate([p[:, -1] for _, _, p in e.oof]),
        }
    )


def _weakest_tied(best: _Entry, ranked: list[_Entry]) -> _Entry:
    """``best``, or the candidate of the same pipeline with a weaker penalty (larger C) and
    exactly its score on the same folds: a tie the AUC cannot break (the penalty changes no
    ranking) goes to the model that shrinks its probabilities least."""
    if best.candidate.family not in ("logistic", "svm") or best.candidate.value is None:
        return best
    same = [e for e in ranked
            if len(e.aucs) == len(best.aucs) and e.score == best.score
            and e.candidate.value is not None
            and (e.candidate.reducer, e.candidate.n_features, e.candidate.estimator)
            == (best.candidate.reducer, best.candidate.n_features, best.candidate.estimator)]
    return max(same, key=lambda e: (float(e.candidate.value or 0.0), -e.order), default=best)


def _one_se(ranked: list[_Entry]) -> _Entry:
    r"""The first-drawn finalist whose mean AUC is within one standard error of the best.

    ``ranked`` is sorted by folds scored (most first), then mean AUC. The finalists are the
    candidates scored on the most folds. The standard error is the best one's, with Nadeau
    & Bengio's (2003) correction for resampled CV: fold AUC SD (``ddof=1``) times
    :math:`\sqrt{1/J + n_{test}/n_{train}}`, with :math:`J` the folds scored and
    :math:`n_{test}/n_{train} = 1/(k - 1)` for :math:`k` folds per repeat. The naive
    :math:`SD/\sqrt{J}` treats the repeats of the internal CV as independent, though they
    reuse the same patients, and shrinks as repeats are added.
    """
    top = ranked[0]
    ok = np.asarray([a for a in top.aucs if not np.isnan(a)])
    repeats = max(1, len({r for r, _, _ in top.oof}))
    k = max(2.0, len(top.aucs) / repeats)  # folds per repeat
    se = (
        float(np.std(ok, ddof=1) * math.sqrt(1.0 / ok.size + 1.0 / (k - 1.0)))
        if ok.size > 1
        else 0.0
    )
    finalists = [e for e in ranked if len(e.aucs) == len(top.aucs)]
    return min((e for e in finalists if e.score >= top.score - se), key=lambda e: e.order)


class AutoClassifier(ClassifierMixin, BaseEstimator):
    """Budgeted patient-grouped search over a compact pipeline space, run inside ``fit``.

    See the module documentation (:mod:`radiomix.model.search`) for the space and the
    successive-halving race. The chosen pipeline is refitted on all rows given to ``fit``.
    Use it like any classifier (``make_classifier("auto")``,
    ``build_pipeline("auto")``); under :func:`radiomix.evaluate.nested_cv` each outer
    training fold runs its own search, and the outer folds score the search itself.

    Parameters
    ----------
    budget : int >= 1
        Candidates drawn from the space for rung 0 (each then costs one repeat of
        ``inner_splits`` fits; later rungs add about ``budget / (eta - 1)`` repeats).
    max_seconds : float, optional
        Soft time limit: no new candidate evaluation starts after it (the final refit
        still runs). The winner is then the best among the candidates scored on the most
        repeats.
    inner_splits : int
        Stratified patient-grouped internal folds per repeat (lowered when a class has
        fewer patients).
    eta : int >= 2
        Halving rate: each rung keeps the best ``ceil(n / eta)``.
    max_rungs : int >= 1
        Rungs at most (= internal CV repeats of the finalists).
    correlation : float in (0, 1] or None
        Threshold of the shared correlation filter; ``None`` disables it.
    families : sequence of str, optional
        Restrict the space to these estimator families (:data:`FAMILIES`), e.g.
        ``("logistic", "svm")`` for a faster search; ``None`` = all.
    calibration : {"race", "sigmoid", "isotonic"} or None
        ``race`` (default; binary ``y``): Platt's logistic map (:func:`platt_map`, slope
        kept >= 0) fitted on the out-of-fold predictions the race already made for the
        winner (every repeat of the internal folds it was scored on), then applied to the
        winner refitted on all rows; no extra fit. It puts every outer fold's choice on
        one probability scale, so the pooled outer predictions of folds that chose
        different pipelines (or the same pipeline with a different spread) rank together,
        and pulls the calibration slope towards 1. Multi-class ``y``: no map.
        ``sigmoid`` / ``isotonic``: wrap the chosen pipeline in
        :class:`~radiomix.model.classifiers.PostHocCalibrated` (Platt or isotonic map on
        ``inner_splits`` fresh patient-grouped folds of the rows given to ``fit``, the fold
        models averaged), at the cost of ``inner_splits`` extra fits of the winner.
        ``None``: the winner's own probabilities. The race is run by ROC AUC, which
        ignores calibration, so a tree ensemble or kNN may win with probabilities that are
        too extreme or too timid; the maps repair that.
    rule : {"one_se", "best"}
        How the winner is picked among the finalists: ``one_se`` (default), the
        first-drawn one within one standard error of the best mean AUC (the portfolio comes
        first, so a simple pipeline wins unless another is clearly better); ``best``, the
        best mean AUC.
    progress : callable, optional
        Called with a :class:`SearchProgress` after each evaluation (e.g. to drive a
        progress bar; the library never prints). Pass a function or closure: ``clone``
        deep-copies other objects, bound methods included.
    random_state : int or None
        Seed of the draw, the internal folds and every randomised estimator.

    Attributes
    ----------
    classes_ : ndarray
    chosen_pipeline_ : str
        Name of the winner, e.g. ``mrmr10+svm_rbf(C=1)``.
    chosen_candidate_ : Candidate
    best_estimator_ : Pipeline or PostHocCalibrated
        ``hygiene -> scale -> correlation -> reduce -> model``, refitted on all rows
        (wrapped when ``calibration`` is ``sigmoid`` or ``isotonic``).
    platt_ : tuple of (float, float) or None
        ``(a, b)`` of the ``race`` calibration map, ``None`` without one.
    oof_predictions_ : DataFrame
        The race's out-of-fold predictions of the winner: ``repeat`` (internal CV repeat =
        rung), ``row`` (position in the rows given to ``fit``), ``y_true``, ``proba``
        (probability of the last class of ``classes_``).
    search_table_ : DataFrame
        One row per drawn candidate: ``candidate``, ``family``, ``order`` (draw order),
        ``rung`` (last rung reached), ``n_folds`` scored, ``mean_auc``, ``sd_auc``,
        ``seconds`` (fitting and scoring), ``error`` (message when it failed), ``chosen``.
    hygiene_ : TableHygiene
        Hygiene fitted on all rows given to ``fit`` (``n_imputed_``, ``n_constant_``,
        ``n_duplicate_``), as the final model's first step sees them.
    n_evaluations_ : int
    search_seconds_ : float
    stopped_early_ : bool
        Whether ``max_seconds`` cut the search short.
    grouped_ : bool
        Whether the internal folds were grouped by patient (False: no ``groups`` given,
        rows taken as patients).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 20)); y = (X[:, 0] > 0).astype(int)
    >>> clf = AutoClassifier(budget=3, random_state=0).fit(X, y, groups=np.arange(60))
    >>> clf.search_table_.shape[0]
    3
    >>> bool(clf.predict_proba(X).shape == (60, 2))
    True
    """

    def __init__(
        self,
        *,
        budget: int = 30,
        max_seconds: float | None = None,
        inner_splits: int = 3,
        eta: int = 3,
        max_rungs: int = 3,
        correlation: float | None = 0.9,
        families: Sequence[str] | None = None,
        calibration: str | None = "race",
        rule: str = "one_se",
        progress: Callable[[SearchProgress], Any] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.budget = budget
        self.max_seconds = max_seconds
        self.inner_splits = inner_splits
        self.eta = eta
        self.max_rungs = max_rungs
        self.correlation = correlation
        self.families = families
        self.calibration = calibration
        self.rule = rule
        self.progress = progress
        self.random_state = random_state

    def _check_params(self) -> None:
        def is_int(v: Any, lo: int) -> bool:
            return bool(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo)

        if not is_int(self.budget, 1):
            raise InputError(f"budget must be an int >= 1 (candidates); got {self.budget!r}")
        if self.rule not in RULES:
            raise InputError(f"rule must be one of {', '.join(RULES)}; got {self.rule!r}")
        if self.max_seconds is not None and not (
            is_real(self.max_seconds) and self.max_seconds > 0
        ):
            raise InputError(f"max_seconds must be > 0 or None; got {self.max_seconds!r}")
        if not is_int(self.inner_splits, 2):
            raise InputError(f"inner_splits must be an int >= 2; got {self.inner_splits!r}")
        if not is_int(self.eta, 2):
            raise InputError(f"eta must be an int >= 2; got {self.eta!r}")
        if not is_int(self.max_rungs, 1):
            raise InputError(f"max_rungs must be an int >= 1; got {self.max_rungs!r}")
        if self.correlation is not None and not (
            is_real(self.correlation) and 0 < self.correlation <= 1
        ):
            raise InputError(f"correlation must be in (0, 1] or None; got {self.correlation!r}")
        if self.families is not None and (
            isinstance(self.families, str)
            or not self.families
            or any(f not in FAMILIES for f in self.families)
        ):
            raise InputError(
                f"families must be a non-empty list drawn from {', '.join(FAMILIES)}; "
                f"got {self.families!r}"
            )
        if self.calibration not in (None, "race", *CALIBRATIONS):
            raise InputError(
                f"calibration must be one of race, {', '.join(CALIBRATIONS)} or None; "
                f"got {self.calibration!r}"
            )
        if self.progress is not None and not callable(self.progress):
            raise InputError(f"progress must be a callable or None; got {self.progress!r}")

    def fit(self, X: Any, y: Any, groups: Any = None) -> AutoClassifier:
        """Race the drawn candidates on grouped internal folds; refit the winner.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
            May hold NaN (imputed inside each fold).
        y : array-like of shape (n,)
        groups : array-like of shape (n,), optional
            Patient id of each row; without it rows are taken as patients.

        Raises
        ------
        InputError
            Bad parameters, fewer than two classes, a class with fewer than two patients,
            or every candidate failed.
        """
        self._check_params()
        if y is None:
            raise InputError("AutoClassifier requires y to be passed, but the target y is None")
        Xv, yv = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        check_classification_targets(yv)
        self.classes_ = np.unique(yv)
        if self.classes_.size < 2:
            raise InputError(
                f"a classifier needs at least 2 classes; y has 1 class ({self.classes_[0]!r})"
            )
        g = None if groups is None else np.asarray(groups)
        self.grouped_ = g is not None
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        space = [c for c in search_space() if self.families is None or c.family in self.families]
        drawn = _draw(space, int(self.budget), rng)
        entries = [_Entry(c, i) for i, c in enumerate(drawn)]
        n_classes = self.classes_.size
        start = time.perf_counter()
        sizes = _planned(len(entries), int(self.eta), int(self.max_rungs))
        n_port = sum(e.candidate.name in PORTFOLIO for e in entries)
        total = sizes[0] + sum(min(len(entries), k + n_port) for k in sizes[1:])
        done = 0
        alive = entries
        self.stopped_early_ = False
        for rung in range(len(sizes)):
            if rung > 0:
                ranked = sorted(
                    (e for e in alive if not np.isnan(e.score)),
                    key=lambda e: (-e.score, e.order),
                )
                kept = ranked[: sizes[rung]]
                # the portfolio is never halved: every rung scores it, so the challengers
                # that reach the last rung are compared with it on the same folds
                alive = sorted(
                    kept + [e for e in ranked[sizes[rung] :] if e.candidate.name in PORTFOLIO],
                    key=lambda e: e.order,
                )
                if len(alive) <= 1:
                    break
            folds, _ = grouped_folds(yv, g, int(self.inner_splits), seed + rung)
            prepared = self._prefixes(Xv, folds)
            for e in alive:
                elapsed = time.perf_counter() - start
                if self.max_seconds is not None and elapsed > self.max_seconds and done > 0:
                    self.stopped_early_ = True
                    break
                self._evaluate(e, prepared, yv, g, folds, n_classes, seed, rung)
                e.rung = rung
                done += 1
                if self.progress is not None:
                    self.progress(
                        SearchProgress(
                            done,
                            total,
                            rung,
                            e.candidate.name,
                            e.score,
                            time.perf_counter() - start,
                        )
                    )
            if self.stopped_early_:
                break
        scored = [e for e in entries if not np.isnan(e.score)]
        if not scored:
            errors = {e.error for e in entries if e.error}
            raise InputError(
                "every candidate of the model search failed; first error: "
                + (sorted(errors)[0] if errors else "no fold could be scored")
            )
        ranked = sorted(scored, key=lambda e: (-len(e.aucs), -e.score, e.order))
        best = _weakest_tied(_one_se(ranked) if self.rule == "one_se" else ranked[0],
                             ranked)
        self.chosen_candidate_ = best.candidate
        self.chosen_pipeline_ = best.candidate.name
        final = Pipeline(
            _prefix(self.correlation).steps
            + build_candidate(best.candidate, n_classes=n_classes, random_state=seed).steps
        )
        self.platt_: tuple[float, float] | None = None
        self.oof_predictions_ = _oof_table(best, yv)
        if self.calibration in (None, "race"):
            self.best_estimator_ = _fit_candidate(final, Xv, yv, g)
            if self.calibration == "race" and n_classes == 2 and len(self.oof_predictions_):
                oof = self.oof_predictions_
                self.platt_ = platt_map(
                    oof["proba"].to_numpy(), (oof["y_true"] == self.classes_[1]).to_numpy(int)
                )
        else:
            wrapped = PostHocCalibrated(
                final, method=self.calibration, cv=int(self.inner_splits), random_state=seed
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.best_estimator_ = wrapped.fit(Xv, yv, groups=g)
        self.hygiene_ = TableHygiene().fit(Xv)
        self.n_evaluations_ = done
        self.search_seconds_ = time.perf_counter() - start
        self.search_table_ = pd.DataFrame(
            [
                {
                    "candidate": e.candidate.name,
                    "family": e.candidate.family,
                    "order": e.order,
                    "rung": e.rung,
                    "n_folds": len(e.aucs),
                    "mean_auc": e.score,
                    "sd_auc": float(np.std(e.aucs)) if e.aucs and not e.error else float("nan"),
                    "seconds": e.seconds,
                    "error": e.error,
                    "chosen": e is best,
                }
                for e in entries
            ]
        )
        log.info(
            "model search: %s chosen (%d evaluations, %.1f s)",
            self.chosen_pipeline_,
            done,
            self.search_seconds_,
        )
        return self

    def _prefixes(
        self, X: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[np.ndarray, np.ndarray] | str]:
        """The shared unsupervised prefix fitted on each fold's training rows."""
        out: list[tuple[np.ndarray, np.ndarray] | str] = []
        for tr, te in folds:
            try:
                pre = _prefix(self.correlation).fit(X[tr])
                out.append((pre.transform(X[tr]), pre.transform(X[te])))
            except InputError as exc:
                out.append(str(exc))
        return out

    def _evaluate(
        self,
        e: _Entry,
        prepared: list[tuple[np.ndarray, np.ndarray] | str],
        y: np.ndarray,
        g: np.ndarray | None,
        folds: list[tuple[np.ndarray, np.ndarray]],
        n_classes: int,
        seed: int,
        repeat: int = 0,
    ) -> None:
        t0 = time.perf_counter()
        for (tr, te), data in zip(folds, prepared, strict=True):
            if isinstance(data, str):
                e.error = data
                break
            Xtr, Xte = data
            try:
                pipe = build_candidate(e.candidate, n_classes=n_classes, random_state=seed)
                model = _fit_candidate(pipe, Xtr, y[tr], None if g is None else g[tr])
                proba = np.asarray(model.predict_proba(Xte), dtype=float)
                e.aucs.append(_auc(y[te], proba, self.classes_, model.classes_))
                e.oof.append((repeat, te, _full(proba, self.classes_, model.classes_)))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                e.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                log.debug("model search: %s failed: %s", e.candidate.name, e.error)
                break
        e.seconds += time.perf_counter() - t0

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` from the chosen pipeline, shape (n, n_classes).

        With ``calibration="race"`` (binary ``y``) the chosen pipeline's probability of
        ``classes_[1]`` goes through :attr:`platt_` (``expit(a * logit(p) + b)``).
        """
        check_is_fitted(self, "best_estimator_")
        Xv = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        proba = np.asarray(self.best_estimator_.predict_proba(Xv), dtype=float)
        full = _full(proba, self.classes_, self.best_estimator_.classes_)
        if self.platt_ is not None:
            a, b = self.platt_
            full[:, 1] = expit(a * _logit(full[:, 1]) + b)
            full[:, 0] = 1.0 - full[:, 1]
        return full

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
