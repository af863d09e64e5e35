"""Leakage-free evaluation: nested patient-grouped CV, patient hold-out, external centre.

Every function takes the *whole* estimator (a :class:`~sklearn.pipeline.Pipeline` from
:func:`radiomix.model.build_pipeline`: fuse -> select -> classify) and the raw feature
table, and fits a fresh clone on training rows only, so imputation, scaling, PCA,
selection and tuning never see the test rows. ``groups`` (patient ids) is required.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from radiomix._threads import single_blas_thread
from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    bootstrap_binary_metrics,
    bootstrap_multiclass_metrics,
)
from radiomix.evaluate.metrics import settle
from radiomix.evaluate.splits import (
    Split,
    assert_disjoint,
    centre_split,
    check_groups,
    check_stratified_folds,
    grouped_cv_splits,
    patient_holdout_split,
)

log = logging.getLogger(__name__)

Level = Literal["row", "patient"]


@dataclass
class EvaluationResult:
    """Metrics with patient-bootstrap CIs, out-of-sample predictions and per-fold details.

    Attributes
    ----------
    scheme : str
        How the predictions were obtained (e.g. ``nested patient-grouped CV 5x3, 2 repeats``).
    metrics : DataFrame
        ``metric``, ``estimate``, ``ci_low``, ``ci_high``, ``n_boot``.
    predictions : DataFrame
        Long format: ``row`` (position in the input, or patient id when ``level="patient"``),
        ``patient_id``, ``y_true``, ``repeat``, ``fold``, then ``proba`` (binary) or
        ``proba_<class>`` (multi-class).
    folds : DataFrame
        One row per outer fold: sizes, fold ROC AUC, chosen hyper-parameters.
    classes : list
    settings : dict
        Everything needed to repeat the evaluation (splits, seeds, grid, level).
    """

    scheme: str
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    folds: pd.DataFrame
    classes: list[Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def estimate(self, metric: str) -> float:
        """Point estimate of ``metric``."""
        return float(self._row(metric)["estimate"])

    def ci(self, metric: str) -> tuple[float, float]:
        """95 % (or ``settings['level']``) bootstrap interval of ``metric``."""
        row = self._row(metric)
        return float(row["ci_low"]), float(row["ci_high"])

    def _row(self, metric: str) -> pd.Series:
        hit = self.metrics[self.metrics["metric"] == metric]
        if hit.empty:
            raise InputError(f"unknown metric {metric!r}; have {self.metrics['metric'].tolist()}")
        return hit.iloc[0]

    def oof_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Binary predictions as a (repeats, rows) matrix with the rows' labels and patients."""
        if "proba" not in self.predictions:
            raise InputError("oof_matrix is for binary outcomes")
        wide = self.predictions.pivot(index="row", columns="repeat", values="proba").sort_index()
        meta = self.predictions.drop_duplicates("row").set_index("row").loc[wide.index]
        return wide.to_numpy().T, meta["y_true"].to_numpy(), meta["patient_id"].to_numpy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (metrics, folds, settings; no predictions)."""
        return {
            "scheme": self.scheme,
            "classes": [_py(c) for c in self.classes],
            "metrics": {
                r["metric"]: {k: _py(r[k]) for k in ("estimate", "ci_low", "ci_high", "n_boot")}
                for _, r in self.metrics.iterrows()
            },
            "folds": [{k: _py(v) for k, v in r.items()} for r in self.folds.to_dict("records")],
            "settings": {k: _py(v) for k, v in self.settings.items()},
        }


def _py(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, Mapping):
        return {str(k): _py(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    return v


def _check_xy(X: Any, y: Any, groups: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    if groups is None:
        check_groups(None, 0)  # raises MissingGroupsError with the explanation
    y = np.asarray(y).ravel()
    if len(X) != y.size:
        raise InputError(f"X has {len(X)} rows but y has {y.size}")
    g = check_groups(groups, y.size)
    if pd.isna(pd.Series(y)).any():
        raise InputError(f"y holds {int(pd.isna(pd.Series(y)).sum())} missing labels; drop them")
    if np.unique(y).size < 2:
        raise InputError("y holds a single class; nothing to evaluate")
    return X, y, g


def _check_training_classes(y: np.ndarray, g: np.ndarray, train: np.ndarray, centre: Any,
                            test_centres: Sequence[str]) -> None:
    """Refuse an external split whose training centres hold a single class (every patient of
    the other class sits in the test centres): nothing to learn the outcome from."""
    y_tr = y[train]
    if np.unique(y_tr).size >= 2:
        return
    c = pd.Series(np.asarray(centre).ravel()).astype(str).to_numpy()
    training = ", ".join(sorted(set(c[train].tolist())))
    pat = pd.DataFrame({"g": g, "y": y, "train": np.isin(np.arange(y.size), train)})
    pat = pat.drop_duplicates("g")
    present = y_tr[0]
    missing = [k for k in np.unique(y) if k != present]
    n_present = int((pat["train"] & (pat["y"] == present)).sum())
    n_missing = int((pat["y"].isin(missing)).sum())
    raise InputError(
        f"the training centre(s) {training} hold a single class of the outcome: "
        f"{n_present} patient(s) of class {present!s} and none of class "
        f"{', '.join(map(str, missing))} (all {n_missing} are in the test centre(s) "
        f"{', '.join(map(str, test_centres))}), so a model has nothing to learn from; choose "
        "another test centre (validation.test_centres, --test-centre) so that both classes "
        "remain in training"
    )


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx]


def canonical_rows(X: Any, groups: Any) -> np.ndarray:
    """The order in which training rows are given to a model: by patient id, then by a hash
    of the row's values.

    A model whose ``fit`` draws rows by position (an SVM's internal Platt-scaling folds, a
    random forest's bootstrap, gradient boosting's subsample, a kNN's ties) then gives the
    same fit whatever the order of the table's rows; rows that hash alike hold the same
    values, so their order changes nothing.

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0]])
    >>> order = canonical_rows(X, ["b", "a", "b"])
    >>> int(order[0])
    1
    >>> sorted(order[1:]) == [0, 2]
    True
    """
    frame = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else pd.DataFrame(
        np.asarray(X))
    digest = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return np.lexsort((digest, np.asarray(groups).astype(str)))


def _scoring(n_classes: int) -> str:
    return "roc_auc" if n_classes == 2 else "roc_auc_ovr"


def fit_tuned(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    random_state: int = 0,
) -> BaseEstimator:
    """Fit a clone of ``estimator``, tuned by patient-grouped CV over ``param_grid``.

    Without a grid the clone is simply fitted. With one, ``GridSearchCV`` with
    ``StratifiedGroupKFold(inner_splits)`` (grouped by ``groups``) chooses the parameters
    by ROC AUC and refits on all rows. Used for the inner loop and for the final model.

    Returns
    -------
    estimator
        Fitted; a ``GridSearchCV`` when a grid is given (``best_params_``; tied inner
        scores go to the weakest penalty, :func:`weakest_penalty_best`; a bare model
        whose ``fit`` takes ``groups`` is tuned as the step ``model`` of a one-step
        pipeline, see :func:`route_groups`). A grid point that fails in an inner fold (a
        fold too small for the model) scores NaN there and is not chosen on its score;
        ``failed_params_`` lists such points (logged).

    Raises
    ------
    InputError
        Every fit of every grid point failed.
    """
    X, y, g = _check_xy(X, y, groups)
    order = canonical_rows(X, g)  # the fit does not depend on the table's row order
    X, y, g = _rows(X, order), y[order], g[order]
    est = clone(estimator)
    if not param_grid:
        return est.fit(X, y, **groups_fit_params(est, g))
    est, param_grid = route_groups(est, param_grid)
    fit_params = groups_fit_params(est, g)
    n_classes = np.unique(y).size
    check_stratified_folds(inner_splits, y, g, where="the inner (tuning) folds")
    inner = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True, random_state=random_state)
    search = GridSearchCV(
        est,
        dict(param_grid),
        scoring=_scoring(n_classes),
        cv=inner,
        refit=weakest_penalty_best,
        error_score=np.nan,
    )
    reason = run_search(search, X, y, groups=g, **fit_params)
    scores = search.cv_results_["mean_test_score"]
    failed = [p for p, sc in zip(search.cv_results_["params"], scores, strict=True)
              if not np.isfinite(sc)]
    if failed:
        log.info("tuning: %d of %d grid point(s) failed in an inner fold and were compared "
                 "on the inner folds where every point scored", len(failed), len(scores))
    search.failed_params_ = failed
    search.failed_reason_ = reason
    return search


def run_search(search: Any, X: Any, y: Any, **fit_params: Any) -> str | None:
    """Fit a ``GridSearchCV`` whose failed fits score NaN (``error_score=np.nan``), and
    return the first failure's reason in one line (:func:`failure_reason`), None when none
    failed: scikit-learn's warnings of a failed fit or score carry whole tracebacks, which
    must not reach a user. Other warnings pass on unchanged.

    Raises
    ------
    InputError
        Every fit of every grid point failed.
    """
    import warnings

    from sklearn.exceptions import FitFailedWarning

    reasons: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
        warnings.filterwarnings("always", message="Scoring failed")
        try:
            search.fit(X, y, **fit_params)
        except ValueError as exc:  # sklearn: "All the N fits failed"
            if "fits failed" not in str(exc):
                raise
            raise InputError(
                "every point of the tuning grid failed to fit in the inner loop: "
                f"{failure_reason(str(exc))}"
            ) from exc
    for w in caught:
        if issubclass(w.category, FitFailedWarning) or str(w.message).startswith(
                "Scoring failed"):
            reasons.append(failure_reason(str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return reasons[0] if reasons else None


def failure_reason(message: str) -> str:
    """The last line of a scikit-learn fit or scoring failure (its traceback's exception),
    without the exception's module path.

    Examples
    --------
    >>> failure_reason("Scoring failed. Details: \\nTraceback ...\\n"
    ...                "radiomix.errors.InputError: batch 'D' was not in the training rows")
    "batch 'D' was not in the training rows"
    """
    lines = [x.strip() for x in message.splitlines() if x.strip()]
    last = lines[-1] if lines else message
    head, sep, tail = last.partition(": ")
    return (tail if sep and " " not in head else last)[:300]


TIE_TOLERANCE = 1e-10
"""Mean inner-CV scores within this of the best count as tied (equal rankings give equal
AUCs; the tolerance only absorbs the rounding of their means)."""


def scorable_means(cv_results: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """Mean inner score of each grid point over the inner folds that could score, and the
    number of folds that could not.

    A fold where every grid point scores NaN says nothing about any point (its test
    patients hold no comparable pair for a C-index; its training patients lack a centre
    its test patients hold, which a ComBat step cannot harmonise): it is left out of every
    mean, instead of making every mean NaN and the choice a matter of grid order. A NaN in
    a fold where other points scored is that point's failed fit, and keeps its mean NaN
    (the point is not chosen).

    Examples
    --------
    >>> cv = {"split0_test_score": np.array([0.6, 0.8]),
    ...       "split1_test_score": np.array([np.nan, np.nan]),
    ...       "mean_test_score": np.array([np.nan, np.nan])}
    >>> means, unscorable = scorable_means(cv)
    >>> means.tolist(), unscorable
    ([0.6, 0.8], 1)
    """
    k = 0
    rows = []
    while f"split{k}_test_score" in cv_results:
        rows.append(np.asarray(cv_results[f"split{k}_test_score"], dtype=float))
        k += 1
    if not rows:
        return np.asarray(cv_results["mean_test_score"], dtype=float), 0
    split = np.vstack(rows)  # (folds, points)
    scorable = ~np.all(np.isnan(split), axis=1)
    if not scorable.any():
        return np.full(split.shape[1], np.nan), int(split.shape[0])
    kept = split[scorable]
    with np.errstate(invalid="ignore"):
        means = np.where(np.isnan(kept).any(axis=0), np.nan, kept.mean(axis=0))
    return means, int((~scorable).sum())


def weakest_penalty_best(cv_results: Mapping[str, Any]) -> int:
    """Index of the grid point ``GridSearchCV`` refits (its ``refit`` callable): the best
    mean inner score over the folds that could score (:func:`scorable_means`), a tie going
    to the weakest penalty (:func:`radiomix.model.classifiers.penalty_tiebreak_key`), then
    to grid order.

    scikit-learn's own rule gives a tie to the first point of the grid, i.e. to the
    strongest penalty of an ascending ``C`` grid, which shrinks the probabilities toward the
    prevalence although no score asked for it. ``best_score_`` is then not set by
    scikit-learn; read ``cv_results_["mean_test_score"][best_index_]``.

    Examples
    --------
    >>> weakest_penalty_best({"mean_test_score": np.array([0.7, 0.7, 0.6]),
    ...                       "params": [{"C": 0.01}, {"C": 1.0}, {"C": 10.0}]})
    1
    """
    return best_by_penalty(scorable_means(cv_results)[0], cv_results["params"])


def best_by_penalty(scores: Any, params: Sequence[Mapping[str, Any]]) -> int:
    """Index of the best finite score, a tie (within :data:`TIE_TOLERANCE`) going to the
    weakest penalty, then to grid order; 0 when no score is finite."""
    from radiomix.model.classifiers import penalty_tiebreak_key

    scores = np.asarray(scores, dtype=float)
    finite = np.isfinite(scores)
    if not finite.any():
        return 0
    best = float(scores[finite].max())
    tied = np.flatnonzero(finite & (scores >= best - TIE_TOLERANCE))
    return int(min((int(i) for i in tied), key=lambda i: (penalty_tiebreak_key(params[i]), i)))


def route_groups(
    estimator: BaseEstimator, param_grid: Mapping[str, Sequence[Any]]
) -> tuple[BaseEstimator, dict[str, Sequence[Any]]]:
    """Make a model that takes ``groups`` tunable by ``GridSearchCV`` without losing them.

    ``GridSearchCV.fit(X, y, groups=...)`` keeps ``groups`` for its own splitter; a bare
    model whose ``fit`` asks for them would receive nothing (or the name twice). Such a model
    is wrapped as the step ``model`` of a one-step :class:`~sklearn.pipeline.Pipeline` and its
    grid keys prefixed, so the ids reach it as ``model__groups``, sliced per inner fold.
    Other estimators are returned unchanged.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline) or not groups_fit_params(estimator, np.zeros(0)):
        return estimator, dict(param_grid)
    grid = {f"model__{k}": v for k, v in param_grid.items()}
    return Pipeline([("model", estimator)]), grid


def groups_fit_params(estimator: BaseEstimator, groups: np.ndarray) -> dict[str, Any]:
    """Fit parameters that hand the patient ids to an estimator that asks for them.

    A model whose ``fit`` takes ``groups`` (the rad-score nomogram's cross-fitting, the
    stacking ensemble's internal folds) splits its training rows by patient with them. For a
    :class:`~sklearn.pipeline.Pipeline` the parameter goes to the final step
    (``<step>__groups``); ``GridSearchCV`` slices it with the rows of each inner fold.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> groups_fit_params(LogisticRegression(), np.arange(3))
    {}
    """
    import inspect

    from sklearn.pipeline import Pipeline

    name, final = (
        (f"{estimator.steps[-1][0]}__", estimator.steps[-1][1])
        if isinstance(estimator, Pipeline)
        else ("", estimator)
    )
    if final is None or final == "passthrough":
        return {}
    if "groups" in inspect.signature(final.fit).parameters:
        return {f"{name}groups": groups}
    return {}


def threshold_rule(threshold: float | str) -> str | None:
    """``None`` for a fixed probability threshold, else the rule's text (``youden``,
    ``sensitivity=0.9``, ``specificity=0.9``), checked.

    Examples
    --------
    >>> threshold_rule(0.5) is None, threshold_rule("0.3") is None, threshold_rule("youden")
    (True, True, 'youden')
    """
    from radiomix.evaluate.metrics import choose_threshold

    try:
        float(threshold)
    except (TypeError, ValueError):
        rule = str(threshold).strip().lower()
        choose_threshold(rule, np.array([0, 1]), np.array([0.2, 0.8]))  # validates the rule
        return rule
    return None


def training_threshold(
    rule: str,
    model: BaseEstimator,
    X: Any,
    positive: np.ndarray,
    groups: np.ndarray,
    *,
    inner_splits: int,
    random_state: int,
    level: Level = "row",
) -> float:
    """The operating threshold of ``rule`` fixed on training rows only.

    The fitted model's configuration (its chosen hyper-parameters) is refitted in
    ``inner_splits`` patient-grouped folds of the training rows; the rule is applied to
    those out-of-fold predictions, so the threshold never sees a test row and is not fitted
    on in-sample predictions either. With ``level="patient"`` the rule is applied to each
    training patient's mean prediction, as the metrics score patients (a sensitivity
    reached over lesions is not one over patients).
    """
    from radiomix.evaluate.metrics import choose_threshold

    est = getattr(model, "best_estimator_", model)
    y = np.asarray(positive, dtype=int)
    n_min = int(min(np.bincount(y, minlength=2)))
    k = max(2, min(inner_splits, n_min, np.unique(groups).size))
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    oof = np.full(y.size, np.nan)
    for tr, te in cv.split(np.zeros(y.size), y, groups):
        tr = tr[canonical_rows(_rows(X, tr), groups[tr])]
        m = clone(est).fit(_rows(X, tr), y[tr], **groups_fit_params(est, groups[tr]))
        oof[te] = _predict(m, _rows(X, te))[:, -1]
    ok = np.isfinite(oof)
    if level == "patient":
        per = pd.DataFrame({"g": groups[ok], "y": y[ok], "p": oof[ok]}).groupby(
            "g", sort=False).agg(y=("y", "first"), p=("p", "mean"))
        return choose_threshold(rule, per["y"].to_numpy(), settle(per["p"].to_numpy(),
                                                                   probability=True))
    return choose_threshold(rule, y[ok], oof[ok])


def _predict(model: BaseEstimator, X: Any) -> np.ndarray:
    if not hasattr(model, "predict_proba"):
        raise InputError(f"{type(model).__name__} has no predict_proba; a classifier is needed")
    return settle(np.asarray(model.predict_proba(X), dtype=float), probability=True)


def _run_splits(
    estimator: BaseEstimator,
    X: Any,
    y: np.ndarray,
    g: np.ndarray,
    splits: Sequence[Split],
    *,
    param_grid: Mapping[str, Sequence[Any]] | None,
    inner_splits: int,
    random_state: int,
    threshold: float | str = 0.5,
    level: Level = "row",
) -> tuple[pd.DataFrame, pd.DataFrame, list[Any]]:
    classes = np.unique(y)
    rule = threshold_rule(threshold)
    pred_rows: list[pd.DataFrame] = []
    fold_rows: list[dict[str, Any]] = []
    for sp in splits:
        assert_disjoint(g, sp.train, sp.test)
        model = fit_tuned(
            estimator,
            _rows(X, sp.train),
            y[sp.train],
            groups=g[sp.train],
            param_grid=param_grid,
            inner_splits=inner_splits,
            random_state=random_state + 1000 * sp.repeat + sp.fold,
        )
        proba = _predict(model, _rows(X, sp.test))
        model_classes = np.asarray(getattr(model, "classes_", classes))
        full = np.zeros((sp.test.size, classes.size))
        for j, c in enumerate(model_classes):
            full[:, np.searchsorted(classes, c)] = proba[:, j]
        frame = pd.DataFrame(
            {
                "row": sp.test,
                "patient_id": g[sp.test],
                "y_true": y[sp.test],
                "repeat": sp.repeat,
                "fold": sp.fold,
            }
        )
        if classes.size == 2:
            frame["proba"] = full[:, 1]
            if rule is not None:
                frame["threshold"] = training_threshold(
                    rule, model, _rows(X, sp.train), y[sp.train] == classes[1], g[sp.train],
                    inner_splits=inner_splits, random_state=random_state + 1000 * sp.repeat
                    + sp.fold, level=level)
        else:
            for j, c in enumerate(classes):
                frame[f"proba_{c}"] = full[:, j]
        pred_rows.append(frame)
        yt = y[sp.test]
        fold_auc = np.nan
        if np.unique(yt).size == 2 and classes.size == 2:
            from radiomix.evaluate.metrics import weighted_roc_auc

            fold_auc = float(weighted_roc_auc(yt == classes[1], full[:, 1])[0])
        n_selected, fallback = selection_record(model)
        fold_rows.append(
            {
                "repeat": sp.repeat,
                "fold": sp.fold,
                "n_train": int(sp.train.size),
                "n_test": int(sp.test.size),
                "n_test_patients": int(np.unique(g[sp.test]).size),
                "roc_auc": fold_auc,
                "best_params": tuned_params(model),
                "n_selected": n_selected,
                "selected": selected_names(model),
                "fallback": fallback,
                "failed_candidates": len(getattr(model, "failed_params_", [])),
                "failed_reason": getattr(model, "failed_reason_", None),
                "grid_tied": grid_tied(model),
                "chosen_pipeline": chosen_pipeline(model),
            }
        )
    return pd.concat(pred_rows, ignore_index=True), pd.DataFrame(fold_rows), list(classes)


def selection_record(model: BaseEstimator) -> tuple[float, Any]:
    """Features a fitted model's selection kept, and its fallback, when it reports them.

    Reads ``n_selected_`` and ``fallback_`` of the final step (or of its ``radscore_``, for a
    nomogram), and the ``fallback_`` of a selection step before it (a filter that kept no
    column passing its criterion); NaN and None when nothing reports them. A fold whose
    selection kept nothing (0, or a fallback used) is counted in the results so that a
    constant or single-feature predictor is never read as a model.
    """
    est, final = unwrap(model)
    # a selection step before the model (an FDR filter) that kept no column passing its
    # criterion and fell back to the best ones
    steps = [step for _, step in est.steps[:-1]] if hasattr(est, "steps") else []
    step_fallback = next((f for f in (getattr(s, "fallback_", None) for s in steps) if f), None)
    for obj in (final, getattr(final, "radscore_", None)):
        if obj is not None and hasattr(obj, "n_selected_"):
            return float(obj.n_selected_), getattr(obj, "fallback_", None) or step_fallback
    return float("nan"), step_fallback


def selected_names(model: BaseEstimator) -> list[str] | None:
    """Names of the input columns a fitted model's selection kept.

    Reads the final step (or its ``radscore_``, for a nomogram) when it reports a selection
    (``n_selected_``) with one coefficient per named input (``coef_``,
    ``feature_names_in_``), as :class:`~radiomix.model.radscore.RadScore` does: the columns
    of non-zero coefficient, named as that step received them. Otherwise, the columns the
    block selections of a :class:`~radiomix.model.fuse.BlockFuser` before the model kept
    (``selected_``: a selector in front of a logistic regression or a kNN); None when
    nothing selects.
    """
    est, final = unwrap(model)
    for obj in (final, getattr(final, "radscore_", None)):
        if obj is None or not all(hasattr(obj, a) for a in
                                  ("n_selected_", "coef_", "feature_names_in_")):
            continue
        kept = np.any(np.atleast_2d(np.asarray(obj.coef_, dtype=float)) != 0, axis=0)
        names = np.asarray(obj.feature_names_in_, dtype=str)
        if names.size == kept.size:
            return [str(n) for n in names[kept]]
    steps = [step for _, step in est.steps[:-1]] if hasattr(est, "steps") else []
    for step in steps:
        chosen = getattr(step, "selected_", None)
        if isinstance(chosen, dict) and chosen:
            return [str(n) for names in chosen.values() for n in names]
    return None


def unwrap(model: Any) -> tuple[Any, Any]:
    """The fitted estimator and its final step.

    A grid search (``best_estimator_``) is read through to the estimator it refitted; a
    pipeline's final step is its last one; any other estimator is its own final step.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> unwrap(pipe)[1] is pipe.steps[-1][1]
    True
    """
    est = getattr(model, "best_estimator_", model)
    return est, (est.steps[-1][1] if hasattr(est, "steps") else est)


SELF_TUNED: dict[str, str] = {"C_": "C", "l1_ratio_": "l1_ratio", "alpha_": "alpha"}
"""Attributes in which a model that tunes itself inside ``fit`` keeps what it chose
(:class:`~radiomix.model.classifiers.PenalisedLogisticCV`: C and the L1 ratio;
:class:`~radiomix.model.survival.CoxNet`: the penalty on its path), and their names in the
fold records."""


def tuned_params(model: BaseEstimator) -> dict[str, Any]:
    """Hyper-parameters a fitted model chose on its training rows.

    A grid search's ``best_params_``, and what the final step (or its ``radscore_``, for a
    nomogram, named ``radscore.<name>``) chose inside its own ``fit``
    (:data:`SELF_TUNED`), so that every fold's choice is on record whichever way it was
    tuned.
    """
    params: dict[str, Any] = dict(getattr(model, "best_params_", {}))
    final = unwrap(model)[1]
    for prefix, obj in (("", final), ("radscore.", getattr(final, "radscore_", None))):
        for attr, name in SELF_TUNED.items():
            value = getattr(obj, attr, None) if obj is not None else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                params.setdefault(prefix + name, float(value))
    return params


def grid_tied(model: BaseEstimator) -> bool:
    """True when a fitted grid search's points all scored the same in the inner folds
    (within :data:`TIE_TOLERANCE`; two points or more): the choice is the tie rule's (the
    weakest penalty, :func:`best_by_penalty`), not a tuning. One covariate's risk ranking,
    for one, does not depend on a ridge penalty, so neither does its C-index or AUC."""
    results = getattr(model, "cv_results_", None)
    if not isinstance(results, Mapping) or "mean_test_score" not in results:
        return False  # not a grid search (a model with its own path of fits)
    means = scorable_means(results)[0]
    finite = means[np.isfinite(means)]
    return bool(finite.size >= 2 and finite.size == means.size
                and float(finite.max() - finite.min()) <= TIE_TOLERANCE)


def chosen_pipeline(model: BaseEstimator) -> str | None:
    """The pipeline a searching model (``auto``) chose on its training rows, if any."""
    value = getattr(unwrap(model)[1], "chosen_pipeline_", None)
    return None if value is None else str(value)


def _to_patient_level(pred: pd.DataFrame) -> pd.DataFrame:
    per = pred.groupby("patient_id")["y_true"].nunique()
    mixed = per[per > 1].index.tolist()
    if mixed:
        raise InputError(
            f"level='patient' needs one label per patient; {len(mixed)} patient(s) have "
            f"several (e.g. {mixed[:3]}). Use level='row' for lesion-level labels."
        )
    prob_cols = [c for c in pred.columns if c.startswith("proba") or c == "threshold"]
    agg = (
        pred.groupby(["repeat", "patient_id"], sort=True)
        .agg({"y_true": "first", "fold": "first", **dict.fromkeys(prob_cols, "mean")})
        .reset_index()
    )
    for c in prob_cols:  # ties between patients are not broken by summation order
        agg[c] = settle(agg[c].to_numpy(), probability=True)
    agg["row"] = agg["patient_id"]
    return agg[["row", "patient_id", "y_true", "repeat", "fold", *prob_cols]]


def _summarise(
    pred: pd.DataFrame,
    classes: list[Any],
    *,
    n_bootstrap: int,
    random_state: int,
    threshold: float | str,
    cross_validated: bool,
) -> pd.DataFrame:
    if len(classes) == 2:
        wide = pred.pivot(index="row", columns="repeat", values="proba").sort_index()
        meta = pred.drop_duplicates("row").set_index("row").loc[wide.index]
        if wide.isna().any().any():
            raise InputError("some rows lack a prediction in a repeat")
        y01 = (meta["y_true"].to_numpy() == classes[1]).astype(int)
        thr: Any = threshold
        if "threshold" in pred:
            thr = (pred.pivot(index="row", columns="repeat", values="threshold")
                   .sort_index().to_numpy().T)
        return bootstrap_binary_metrics(
            y01,
            wide.to_numpy().T,
            groups=meta["patient_id"].to_numpy(),
            n_bootstrap=n_bootstrap,
            random_state=random_state,
            threshold=thr,
            cross_validated=cross_validated,
        )
    prob_cols = [f"proba_{c}" for c in classes]
    repeats = sorted(pred["repeat"].unique())
    first = pred[pred["repeat"] == repeats[0]].sort_values("row")
    stack = np.stack(
        [pred[pred["repeat"] == r].sort_values("row")[prob_cols].to_numpy() for r in repeats]
    )
    return bootstrap_multiclass_metrics(
        first["y_true"].to_numpy(),
        stack,
        np.asarray(classes),
        groups=first["patient_id"].to_numpy(),
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        cross_validated=cross_validated,
    )


def _finish(
    scheme: str,
    pred: pd.DataFrame,
    folds: pd.DataFrame,
    classes: list[Any],
    *,
    level: Level,
    n_bootstrap: int,
    random_state: int,
    threshold: float | str,
    settings: dict[str, Any],
    cross_validated: bool,
) -> EvaluationResult:
    if level not in ("row", "patient"):
        raise InputError(f"level must be 'row' or 'patient'; got {level!r}")
    if level == "patient":
        pred = _to_patient_level(pred)
    metrics = _summarise(
        pred,
        classes,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        threshold=threshold,
        cross_validated=cross_validated,
    )
    interval = "patients resampled with replacement, percentile 95 % CI"
    if cross_validated:
        interval += (
            f", widened x{CV_INTERVAL_SCALE:.4f} for the training side of cross-validation "
            "(radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE)"
        )
    settings = {
        **settings,
        "level": level,
        "n_bootstrap": n_bootstrap,
        "bootstrap": interval,
        "cross_validated": cross_validated,
        "threshold": threshold,
        "random_state": random_state,
    }
    return EvaluationResult(scheme, metrics, pred, folds, classes, settings)


@single_blas_thread
def nested_cv(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    outer_splits: int = 5,
    inner_splits: int = 3,
    n_repeats: int = 1,
    level: Level = "row",
    n_bootstrap: int = 1000,
    threshold: float | str = 0.5,
    random_state: int = 0,
) -> EvaluationResult:
    """Repeated, stratified, patient-grouped nested cross-validation.

    The outer loop (``StratifiedGroupKFold(outer_splits)``, reshuffled for each repeat)
    scores; the inner loop (``StratifiedGroupKFold(inner_splits)`` on the outer training
    patients) tunes ``param_grid`` by ROC AUC. Each outer training fold fits a fresh clone of
    the whole pipeline, so preprocessing and selection never see the test patients.

    Parameters
    ----------
    estimator : estimator with ``predict_proba``
        Usually a pipeline from :func:`radiomix.model.build_pipeline`.
    X : DataFrame or array of shape (n, p)
    y : array-like of shape (n,)
        Class labels (binary or multi-class).
    groups : array-like of shape (n,)
        Patient id of each row. Required: without it :class:`MissingGroupsError`.
    param_grid : mapping, optional
        Inner-loop grid (e.g. :func:`radiomix.model.default_param_grid`); none = no tuning.
    outer_splits, inner_splits, n_repeats : int
    level : {"row", "patient"}
        ``patient`` averages the predictions of each patient's rows (one label per patient)
        before scoring; ``row`` scores rows and still resamples patients in the bootstrap.
    n_bootstrap : int
        Patient-bootstrap replicates of the CIs.
    threshold : float
        Probability threshold of accuracy, sensitivity, specificity.
    random_state : int
        Seeds of the splits (repeat ``r`` uses ``random_state + r``) and the bootstrap.

    Returns
    -------
    EvaluationResult
        Metrics averaged over repeats, with 95 % patient-bootstrap CIs.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.

    Notes
    -----
    The intervals resample *patients* of the out-of-fold predictions (the same draws for
    every repeat) and are then widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` (sqrt 2), because the bootstrap
    of fixed fold models carries each label's role as a test case but not its role as a
    training case; under the null the two are equal. Measured: with the whole CV re-run for
    each of 200 permuted-label replicates, the plain interval covered 0.5 in 81 % of them,
    the widened one within 92-98 % (``test_null_calibration_end_to_end_grouped_cv``). With a
    real signal the widening is conservative. :func:`permutation_test` gives an exact
    p-value against chance.

    Examples
    --------
    >>> from radiomix.model import build_pipeline
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> res = nested_cv(build_pipeline("logistic"), X, y, groups=np.arange(60), n_bootstrap=50)
    >>> res.estimate("roc_auc") > 0.9
    True
    """
    X, y, g = _check_xy(X, y, groups)
    splits = list(
        grouped_cv_splits(
            y, groups=g, n_splits=outer_splits, n_repeats=n_repeats, random_state=random_state
        )
    )
    pred, folds, classes = _run_splits(
        estimator,
        X,
        y,
        g,
        splits,
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
        threshold=threshold,
        level=level,
    )
    scheme = (
        f"nested patient-grouped stratified CV: {outer_splits} outer x {inner_splits} "
        f"inner folds, {n_repeats} repeat(s)"
    )
    return _finish(
        scheme,
        pred,
        folds,
        classes,
        level=level,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        threshold=threshold,
        settings={
            "outer_splits": outer_splits,
            "inner_splits": inner_splits,
            "n_repeats": n_repeats,
            "param_grid": dict(param_grid or {}),
            "n_rows": int(y.size),
            "n_patients": int(np.unique(g).size),
        },
        cross_validated=True,
    )


@single_blas_thread
def holdout_validation(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    test_size: float = 0.3,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    level: Level = "row",
    n_bootstrap: int = 1000,
    threshold: float | str = 0.5,
    random_state: int = 0,
) -> EvaluationResult:
    """Seeded patient-level hold-out (70/30 by default), tuned on the training patients.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    """
    X, y, g = _check_xy(X, y, groups)
    tr, te = patient_holdout_split(y, groups=g, test_size=test_size, random_state=random_state)
    return _single_split(
        f"patient-level hold-out {1 - test_size:.0%}/{test_size:.0%} (seed {random_state})",
        estimator,
        X,
        y,
        g,
        Split(0, 0, tr, te),
        param_grid=param_grid,
        inner_splits=inner_splits,
        level=level,
        n_bootstrap=n_bootstrap,
        threshold=threshold,
        random_state=random_state,
        settings={
            "test_size": test_size,
            "n_train_patients": int(np.unique(g[tr]).size),
            "n_test_patients": int(np.unique(g[te]).size),
        },
    )


def _single_split(
    scheme: str,
    estimator: BaseEstimator,
    X: Any,
    y: np.ndarray,
    g: np.ndarray,
    split: Split,
    *,
    param_grid: Mapping[str, Sequence[Any]] | None,
    inner_splits: int,
    level: Level,
    n_bootstrap: int,
    threshold: float | str,
    random_state: int,
    settings: dict[str, Any],
) -> EvaluationResult:
    """Train (tuned) on one split's training patients, score its test patients: the test
    patients' labels never shaped the model, so the intervals are not widened."""
    pred, folds, classes = _run_splits(
        estimator,
        X,
        y,
        g,
        [split],
        param_grid=param_grid,
        inner_splits=inner_splits,
        random_state=random_state,
        threshold=threshold,
        level=level,
    )
    return _finish(
        scheme,
        pred,
        folds,
        classes,
        level=level,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        threshold=threshold,
        settings={**settings, "param_grid": dict(param_grid or {})},
        cross_validated=False,
    )


@single_blas_thread
def external_validation(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    centre: Any,
    test_centres: Sequence[str],
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    level: Level = "row",
    n_bootstrap: int = 1000,
    threshold: float | str = 0.5,
    random_state: int = 0,
) -> EvaluationResult:
    """Train (and tune) on the other centres, score on ``test_centres``.

    Parameters
    ----------
    centre : array-like of shape (n,)
        Centre of each row (e.g. the manifest's ``centre`` column).
    test_centres : sequence of str
        External centre(s).

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        A patient appears in two centres, or an unknown centre is named.
    """
    X, y, g = _check_xy(X, y, groups)
    tr, te = centre_split(centre, groups=g, test_centres=test_centres)
    _check_training_classes(y, g, tr, centre, test_centres)
    return _single_split(
        f"external validation on centre(s) {', '.join(map(str, test_centres))}",
        estimator,
        X,
        y,
        g,
        Split(0, 0, tr, te),
        param_grid=param_grid,
        inner_splits=inner_splits,
        level=level,
        n_bootstrap=n_bootstrap,
        threshold=threshold,
        random_state=random_state,
        settings={"test_centres": [str(c) for c in test_centres]},
    )


@single_blas_thread
def apparent_validation(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    inner_splits: int = 3,
    level: Level = "row",
    n_bootstrap: int = 1000,
    threshold: float | str = 0.5,
    random_state: int = 0,
) -> EvaluationResult:
    """Apparent performance: fit (tuned) on all rows and score the same rows.

    Optimistic by construction: shown only beside internal and external validation (the
    "training" row of a training / internal / external table), never as an estimate of
    performance on new patients.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    """
    X, y, g = _check_xy(X, y, groups)
    classes = np.unique(y)
    model = fit_tuned(
        estimator, X, y, groups=g, param_grid=param_grid, inner_splits=inner_splits,
        random_state=random_state,
    )
    proba = _predict(model, X)
    model_classes = np.asarray(getattr(model, "classes_", classes))
    rows = np.arange(y.size)
    frame = pd.DataFrame(
        {"row": rows, "patient_id": g, "y_true": y, "repeat": 0, "fold": 0}
    )
    if classes.size == 2:
        frame["proba"] = proba[:, int(np.searchsorted(model_classes, classes[1]))]
        rule = threshold_rule(threshold)
        if rule is not None:
            frame["threshold"] = training_threshold(
                rule, model, X, y == classes[1], g, inner_splits=inner_splits,
                random_state=random_state, level=level)
    else:
        for j, c in enumerate(model_classes):
            frame[f"proba_{c}"] = proba[:, j]
    n_selected, fallback = selection_record(model)
    folds = pd.DataFrame([{
        "repeat": 0, "fold": 0, "n_train": int(y.size), "n_test": int(y.size),
        "n_test_patients": int(np.unique(g).size), "roc_auc": np.nan,
        "best_params": tuned_params(model),
        "n_selected": n_selected, "fallback": fallback,
    }])
    return _finish(
        "apparent (scored on its own training patients)", frame, folds, list(classes),
        level=level, n_bootstrap=n_bootstrap, random_state=random_state,
        threshold=threshold, settings={"param_grid": dict(param_grid or {}),
                                       "apparent": True}, cross_validated=False,
    )


@dataclass
class PermutationTestResult:
    """Cross-validated ROC AUC against its permutation distribution.

    Attributes
    ----------
    observed : float
        Out-of-fold ROC AUC with the true labels (mean over repeats).
    null : ndarray
        The same statistic for each permutation of the patient labels.
    p_value : float
        :math:`(1 + \\#\\{null \\ge observed\\}) / (1 + n_{perm})`.
    """

    observed: float
    null: np.ndarray
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "observed_roc_auc": self.observed,
            "p_value": self.p_value,
            "n_permutations": int(self.null.size),
            "null_mean": float(np.mean(self.null)),
            "null_95th_percentile": float(np.quantile(self.null, 0.95)),
        }


@single_blas_thread
def permutation_test(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    n_permutations: int = 200,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    outer_splits: int = 5,
    inner_splits: int = 3,
    n_repeats: int = 1,
    random_state: int = 0,
) -> PermutationTestResult:
    """Permutation test of the cross-validated ROC AUC (binary outcome).

    The whole patient-grouped (nested) cross-validation is re-run after permuting the labels
    *between patients* (every row keeps its patient's label), ``n_permutations`` times.
    The p-value is valid by construction, including the variability of refitting the
    models that the bootstrap interval of :func:`nested_cv` does not carry.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        A patient with several labels (permutation needs one label per patient), or a
        non-binary outcome.

    References
    ----------
    Ojala M, Garriga GC. Permutation tests for studying classifier performance. J Mach Learn
    Res 2010;11:1833-1863.
    """
    X, y, g = _check_xy(X, y, groups)
    classes = np.unique(y)
    if classes.size != 2:
        raise InputError(f"the permutation test is for binary outcomes; y has {classes.size}")
    if not (isinstance(n_permutations, (int, np.integer)) and n_permutations >= 1):
        raise InputError(f"n_permutations must be an int >= 1; got {n_permutations!r}")
    frame = pd.DataFrame({"g": g, "y": y})
    if (frame.groupby("g")["y"].nunique() > 1).any():
        raise InputError("the permutation test needs one label per patient")
    patients = frame.groupby("g", sort=True)["y"].first()
    codes = pd.Index(patients.index).get_indexer(g)
    from radiomix.evaluate.metrics import weighted_roc_auc

    def cv_auc(labels: np.ndarray, seed: int) -> float:
        splits = list(
            grouped_cv_splits(
                labels, groups=g, n_splits=outer_splits, n_repeats=n_repeats, random_state=seed
            )
        )
        pred, _, _ = _run_splits(
            estimator,
            X,
            labels,
            g,
            splits,
            param_grid=param_grid,
            inner_splits=inner_splits,
            random_state=seed,
        )
        return float(
            np.mean(
                [
                    weighted_roc_auc(d["y_true"].to_numpy() == classes[1], d["proba"].to_numpy())[0]
                    for _, d in pred.groupby("repeat")
                ]
            )
        )

    observed = cv_auc(y, random_state)
    rng = np.random.default_rng(random_state)
    pat_labels = patients.to_numpy()
    null = np.array(
        [cv_auc(rng.permutation(pat_labels)[codes], random_state) for _ in range(n_permutations)]
    )
    p = (1 + np.sum(null >= observed)) / (1 + n_permutations)
    return PermutationTestResult(observed, null, float(p))
